"""The doors' contract on hostile input: a result, or exit 2 with one line naming the file and the
problem; never a traceback, never a hang, never a file read or written outside what was given.

Every input of issue 11 is generated here at test time (tests/hostile_inputs.py) and run through
the real CLI process, with a generous time limit (each is answered in well under 2 s).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import hostile_inputs
import pytest
from hostile_inputs import MEASURED, outside_secret
from portplan_builders import static_app

from constructs_lib.cli import main

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 10.0  # seconds, whole process included; each input takes well under 2 s on its own

# name -> (exit status, what stderr's one line says, or None for no stderr at all)
EXPECTED: dict[str, tuple[int, str | None]] = {
    "big-integer-json": (2, "big.template.json: invalid JSON at line 1 column"),
    "big-integer-yaml": (2, "big.yaml: invalid YAML at line 5 column 21: a number written with more than 4,300 digits"),
    "dev-zero": (2, "/dev/zero: not a regular file"),
    "fifo": (2, "pipe.template.json: not a regular file"),
    "fifo-manifest-beside": (0, None),
    "findinmap-chain-10": (0, None),
    "alias-bomb-join": (2, "bomb.yaml: invalid YAML at line 23 column 25: aliases expand the document past 100,000"),
    "alias-bomb-exports": (2, "exports.yaml: invalid YAML at line 23 column 25: aliases expand the document past"),
    "yaml-30000-flow": (2, "deep.yaml: invalid YAML at line 1 column 111: nests deeper than 100 levels"),
    "yaml-30000-block": (2, "deep-block.yaml: invalid YAML at line 2 column 199: nests deeper than 100 levels"),
    "json-100000-deep": (2, "deep.template.json: invalid JSON: it nests deeper than Python can read"),
    "condition-chain-5000": (0, None),
    "sub-fanout": (0, None),
    "output-fanout": (0, None),
    "nested-fanout-files": (2, "level15.json: nested stacks instantiate this template more than 1,000 times"),
    "nested-fanout-assembly": (2, "nested.template.json: nested stacks instantiate this template more than 1,000 times"),
    "manifest-escape": (
        2,
        "cdk.out/manifest.json: artifact Leak: templateFile ../../outside/secret.template.json lies outside the cloud "
        "assembly",
    ),
    "manifest-absolute": (2, "cdk.out/manifest.json: artifact Leak: templateFile /"),
    "symlink-out-of-directory": (0, "skipped "),
    "symlink-out-of-assembly": (
        2,
        "cdk.out/manifest.json: artifact Leak: templateFile Leak.template.json lies outside the cloud assembly",
    ),
}


def test_every_measured_input_has_its_expectation() -> None:
    assert set(EXPECTED) == set(MEASURED)


def cli(*argv: str, timeout: float = 60) -> tuple[int, str, str, float]:
    """Run `python -m constructs_lib ARGV` as a user does; (status, stdout, stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "constructs_lib", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def assert_contract(status: int, out: str, err: str) -> None:
    """A result (0, 1), or 2 with one stderr line and nothing on stdout; never a traceback."""
    assert status in (0, 1, 2), err
    assert "Traceback" not in err
    if status == 2:
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("port-plan: error: "), err


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_measured_input_is_answered_quickly_and_by_the_contract(name: str, tmp_path: Path) -> None:
    paths = MEASURED[name](tmp_path)
    status, out, err, seconds = cli("check", *paths, timeout=LIMIT * 3)
    assert seconds < LIMIT
    assert_contract(status, out, err)
    expected_status, says = EXPECTED[name]
    assert status == expected_status, err
    if says is None:
        assert err == ""
    else:
        assert says in err
    assert "secret" not in out  # nothing outside what was given is read, nor printed


@pytest.mark.parametrize("command", ["plan", "diagram"])
@pytest.mark.parametrize("name", sorted(set(MEASURED) - {"dev-zero", "fifo"}))
def test_plan_and_diagram_answer_the_same_inputs(
    name: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = MEASURED[name](tmp_path)
    extra = ["-o", str(tmp_path / "p.mmd")] if command == "diagram" else []
    started = time.monotonic()
    status = main([command, *paths, *extra])
    assert time.monotonic() - started < LIMIT
    captured = capsys.readouterr()
    assert_contract(status, captured.out, captured.err)
    assert status == (2 if EXPECTED[name][0] == 2 else 0)


def test_a_runaway_value_is_unverifiable_not_a_hang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a desired count read through 10 levels of Fn::FindInMap -> Fn::Join, 8 uses per level
    path = hostile_inputs.findinmap_chain(tmp_path)
    # WHEN checked
    status = main(["check", *path, "--format", "json"])
    # THEN the count is unknown, and says why
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert status == 0 and finding["rule"] == "unverifiable"
    assert "Fn::Join builds a text longer than 1,000,000 characters" in finding["message"]


def test_the_same_chain_within_bounds_resolves_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the chain with 3 uses per level for 2 levels: a desired count of 111111111 (9 ones)
    path = hostile_inputs.findinmap_chain(tmp_path, levels=2, fanout=3)
    main(["check", *path, "--format", "json"])
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    # THEN the count is read through the memoized entries: 111111111 tasks on 2 instances
    assert finding["rule"] == "static-port-overcommit"
    assert "111111111 tasks need tcp/8080" in finding["message"]


def test_outputs_and_imports_used_many_times_resolve_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN 2 levels of outputs, each joining 1 import and 1 weak reference of the level below
    paths = hostile_inputs.output_fanout(tmp_path, levels=2, fanout=1)
    main(["check", *paths, "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    # THEN the desired count is 1111 (2 pieces per level): 1111 tasks on 2 instances
    assert [f["rule"] for f in findings] == ["static-port-overcommit"]
    assert "1111 tasks need tcp/8080" in findings[0]["message"]


# -- Ctrl-C ------------------------------------------------------------------------------------------

INTERRUPTED = """
import os, runpy, signal, sys
import constructs_lib.portplan.reader as reader
read = reader._read_bytes
def interrupted(*args):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while a template is read
    return read(*args)
reader._read_bytes = interrupted
sys.argv = ["port-plan", "check", sys.argv[1]]
runpy.run_module("constructs_lib", run_name="__main__")
"""


def test_ctrl_c_exits_130_quietly(tmp_path: Path) -> None:
    path = static_app().write(tmp_path)
    done = subprocess.run([sys.executable, "-c", INTERRUPTED, path], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")


def test_an_uninterrupted_run_of_the_same_exits_by_its_findings(tmp_path: Path) -> None:
    path = static_app().write(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED.replace("os.kill(", "(lambda *a: None)("), path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_an_internal_failure_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a family builder that fails on this template (a bug, simulated)
    from constructs_lib.portplan.model.ecs import EcsBuilder

    def broken(self: object, raw: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(EcsBuilder, "add", broken)
    path = static_app().write(tmp_path)
    # WHEN checked: THEN exit 2, one line naming the file, no traceback
    status = main(["check", path])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"port-plan: error: {path}: internal error (KeyError: 'boom'); please report it\n"


# -- containment ----------------------------------------------------------------------------------


def write_assembly(assembly: Path, stacks: dict[str, str]) -> None:
    artifacts = {
        name: {"type": "aws:cloudformation:stack", "properties": {"templateFile": file, "stackName": name}}
        for name, file in stacks.items()
    }
    (assembly / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}))


def test_a_manifest_may_name_files_in_subdirectories_of_the_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = tmp_path / "cdk.out"
    (assembly / "sub").mkdir(parents=True)
    (assembly / "sub" / "App.template.json").write_text(json.dumps(static_app(tasks=3, instances=2).body()))
    write_assembly(assembly, {"App": "sub/../sub/App.template.json"})
    status = main(["check", str(assembly)])
    assert status == 1 and "3 tasks need tcp/8080" in capsys.readouterr().out


def test_a_nested_assembly_outside_its_parent_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside_secret(tmp_path)
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    manifest = {
        "version": "36.0.0",
        "artifacts": {"Prod": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "../outside"}}},
    }
    (assembly / "manifest.json").write_text(json.dumps(manifest))
    status = main(["check", str(assembly)])
    assert status == 2
    assert "nested assembly directoryName ../outside lies outside the cloud assembly" in capsys.readouterr().err


def test_a_symbolic_link_inside_the_directory_is_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    given = tmp_path / "templates"
    (given / "real").mkdir(parents=True)
    Path(static_app(tasks=3, instances=2).write(given / "real")).rename(given / "real" / "app.json")
    os.symlink(given / "real" / "app.json", given / "app.template.json")
    status = main(["check", str(given)])
    captured = capsys.readouterr()
    assert (status, captured.err) == (1, "")
    assert "3 tasks need tcp/8080" in captured.out


def test_a_manifest_beside_a_template_given_alone_is_not_followed_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a template given alone, beside a manifest.json that links to a manifest elsewhere
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_assembly(elsewhere, {"Renamed": "App.template.json"})
    here = tmp_path / "here"
    here.mkdir()
    os.symlink(elsewhere / "manifest.json", here / "manifest.json")
    path = static_app().write(here)
    Path(path).rename(here / "App.template.json")
    # WHEN checked: THEN the link is skipped (said once), and the stack keeps its file name
    status = main(["plan", str(here / "App.template.json"), "--format", "json"])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.err == f"port-plan: skipped {here / 'manifest.json'}: a symbolic link to a file outside {here}\n"
    assert json.loads(captured.out)["clusters"][0]["stack"] == "App"


def test_the_same_manifest_inside_the_directory_names_the_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    here = tmp_path / "here"
    here.mkdir()
    write_assembly(here, {"Renamed": "App.template.json"})
    Path(static_app().write(here)).rename(here / "App.template.json")
    main(["plan", str(here / "App.template.json"), "--format", "json"])
    assert json.loads(capsys.readouterr().out)["clusters"][0]["stack"] == "Renamed"


def test_an_asset_manifest_linked_from_outside_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a parent whose nested stack is found only through an asset manifest, linked from outside
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    (tmp_path / "x.assets.json").write_text(
        json.dumps({"files": {"h": {"source": {"path": "Child.nested.template.json"}, "destinations": {"d": {"objectKey": "h.json"}}}}})
    )
    os.symlink(tmp_path / "x.assets.json", assembly / "x.assets.json")
    (assembly / "Child.nested.template.json").write_text(json.dumps(static_app(tasks=3, instances=2).body()))
    parent = {
        "Resources": {
            "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://s3.amazonaws.com/b/h.json"}}
        }
    }
    (assembly / "Parent.template.json").write_text(json.dumps(parent))
    write_assembly(assembly, {"Parent": "Parent.template.json"})
    # WHEN checked: THEN the link is named as skipped, and the child reported as not given
    status = main(["check", str(assembly)])
    captured = capsys.readouterr()
    assert status == 0
    assert captured.err == f"port-plan: skipped {assembly / 'x.assets.json'}: a symbolic link to a file outside {assembly}\n"
    assert "is not among the templates given" in captured.out


def test_diagram_does_not_write_through_a_planted_partial_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN p.mmd.partial planted as a symbolic link to a file that must not change
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, tmp_path / "p.mmd.partial")
    path = static_app().write(tmp_path)
    # WHEN the diagram is written
    status = main(["diagram", path, "-o", str(tmp_path / "p.mmd")])
    # THEN the picture is there, the victim untouched, and no temporary file is left
    assert status == 0
    assert victim.read_text() == "keep me"
    assert (tmp_path / "p.mmd").read_text().startswith("flowchart")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Stack.template.json", "p.mmd", "p.mmd.partial", "victim.txt"]
    # with the mode any new file gets (mkstemp's own is 0600)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "p.mmd").stat().st_mode) == 0o666 & ~umask


def test_diagram_replaces_a_link_at_the_target_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, tmp_path / "p.mmd")
    assert main(["diagram", static_app().write(tmp_path), "-o", str(tmp_path / "p.mmd")]) == 0
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "p.mmd").is_symlink()


# -- terminal output ------------------------------------------------------------------------------

ESCAPE = "\x1b]0;pwned\x07\x1b[2J"


def hostile_names(tmp_path: Path) -> str:
    """A template whose construct path, logical ids and a parameter name carry escape sequences."""
    stack = static_app(tasks=3, instances=2)
    service = stack.resources.pop("Service")
    service["Metadata"] = {"aws:cdk:path": f"Stack/Ser{ESCAPE}vice\n  error[forged]: all is well/Resource"}
    stack.resources[f"Svc{ESCAPE}"] = service
    return stack.write(tmp_path)


@pytest.mark.parametrize("command", [["check"], ["plan"], ["plan", "--format", "markdown"]])
def test_terminal_output_escapes_control_characters(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([command[0], hostile_names(tmp_path), *command[1:]])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in out
    assert "\n  error[forged]" not in out


def test_json_output_keeps_the_text_as_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", hostile_names(tmp_path), "--format", "json"])
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert ESCAPE in finding["resource"]


def test_error_lines_escape_file_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / f"bad{ESCAPE}.json"
    bad.write_text("{")
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and err.count("\n") == 1
    assert "bad\\x1b]0;pwned\\x07\\x1b[2J.json: invalid JSON at line 1 column 2" in err


def test_a_file_name_that_is_not_utf8_is_written_escaped(tmp_path: Path) -> None:
    # GIVEN a directory holding only a template whose name is not UTF-8, and invalid
    directory = os.fsencode(tmp_path) + b"/bad\xff.json"
    with open(directory, "wb") as stream:
        stream.write(b"{")
    status, out, err, _ = cli("check", os.fsdecode(directory))
    assert_contract(status, out, err)
    assert "bad\\udcff.json: invalid JSON" in err


def test_yaml_tags_are_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tag.yaml"
    path.write_text("Resources:\n  X: !Evil%1B%5D0%3Bpwned%07 x\n")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Evil" not in err and "pwned" not in err and "\x1b" not in err
    assert "tag.yaml: invalid YAML at line 2 column 6: a tag the port plan does not read" in err


def test_a_known_short_form_tag_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tag.yaml"
    path.write_text("Resources:\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub 'x-${AWS::Region}'\n")
    assert main(["check", str(path)]) == 0



def test_the_readme_states_the_limits_in_force() -> None:
    from constructs_lib.portplan import intrinsics, reader, yaml_loader

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Safe on any input", 1)[1].split("\n### ", 1)[0]
    stated = " ".join(section.split())
    assert f"none over {reader.MAX_FILE_BYTES // (1024 * 1024)} MB" in stated
    assert f"deeper than {yaml_loader.MAX_YAML_DEPTH} levels" in stated
    assert f"past {yaml_loader.ALIAS_ALLOWANCE:,} + {yaml_loader.ALIAS_RATIO} times its own nodes" in stated
    assert f"after {intrinsics._MAX_DEPTH} nested steps" in stated
    assert f"at {intrinsics.MAX_TEXT:,} characters" in stated
    assert f"read {reader._MAX_NESTING} levels deep" in stated
    assert f"at most {reader.MAX_INSTANCES:,} times" in stated


def test_usage_errors_escape_what_was_typed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "x.json", f"--bogus{ESCAPE}"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and err.count("\n") == 1
    assert "unrecognized arguments: --bogus\\x1b]0;pwned" in err

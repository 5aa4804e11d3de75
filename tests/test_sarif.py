"""`port-plan check --format sarif`: SARIF 2.1.0, validated against the OASIS schema with jsonschema."""

from __future__ import annotations

import json
import os
import subprocess
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from portplan_builders import static_app

from constructs_lib.cli import main
from constructs_lib.portplan import RULES, Finding
from constructs_lib.portplan.sarif import (
    SARIF_SCHEMA,
    ResourceLines,
    _home_page,
    render_sarif,
    resource_lines,
    sarif_log,
    tool_metadata,
)

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def schema_errors(log: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in VALIDATOR.iter_errors(log)]


def check_sarif(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", *paths, "--format", "sarif"])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, json.loads(captured.out)


def key_lines(path: Path) -> dict[str, int]:
    """The oracle: 1-based lines of the keys under Resources, from PyYAML's node positions (JSON is YAML)."""
    document = yaml.compose(path.read_text())
    resources = next(value for key, value in document.value if key.value == "Resources")
    return {key.value: key.start_mark.line + 1 for key, _ in resources.value}


def only_run(log: dict[str, Any]) -> dict[str, Any]:
    (run,) = log["runs"]
    return run


def location(result: dict[str, Any]) -> dict[str, Any]:
    (where,) = result["locations"]
    return where


def error_and_warning_template() -> Any:
    # 3 tasks on 2 instances (error) on host port 40000, inside the dynamic range (warning)
    return static_app(tasks=3, instances=2, host_port=40000)


# -- the schema and its validator ---------------------------------------------------------------------


def test_the_vendored_schema_is_the_oasis_standard() -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["id"] == SARIF_SCHEMA


def test_the_validator_rejects_what_is_not_sarif(tmp_path: Path) -> None:
    # GIVEN a valid log WHEN a level, a region or a URI is broken THEN the schema says so
    log = sarif_log([], working_directory=str(tmp_path))
    assert schema_errors(log) == []
    finding = {
        "ruleId": "x",
        "level": "fatal",
        "message": {"text": "m"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a b.json"}, "region": {}}}],
    }
    only_run(log)["results"] = [finding]
    errors = schema_errors(log)
    assert any("'fatal' is not one of" in e for e in errors)
    assert any("a b.json" in e for e in errors)
    assert any("region" in e for e in errors)


# -- results ------------------------------------------------------------------------------------------


def test_an_error_and_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN one template with an overcommitted static port inside the dynamic range
    monkeypatch.chdir(tmp_path)
    path = Path(error_and_warning_template().write(tmp_path))
    # WHEN it is checked with --format sarif
    code, log = check_sarif(capsys, path.name)
    # THEN the log is valid SARIF, exits 1 as the other formats do, and each result says where
    assert schema_errors(log) == []
    assert code == 1
    run = only_run(log)
    rules = run["tool"]["driver"]["rules"]
    levels = {(r["ruleId"], r["level"]) for r in run["results"]}
    assert {("static-port-overcommit", "error"), ("static-port-in-dynamic-range", "warning")} <= levels
    lines = key_lines(path)
    # the overcommit is the service's finding, the port inside the dynamic range the task's
    paths = {"Service": "Stack/Service/Service", "Task": "Stack/Task/Resource"}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        physical = location(result)["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "Stack.template.json", "uriBaseId": "%SRCROOT%"}
        (logical,) = location(result)["logicalLocations"]
        logical_id = logical["decoratedName"]
        construct_path = paths[logical_id]
        assert logical == {
            "name": construct_path.rsplit("/", 1)[1],
            "fullyQualifiedName": construct_path,
            "decoratedName": logical_id,
            "kind": "resource",
        }
        assert physical["region"] == {"startLine": lines[logical_id]}
        assert result["message"]["text"].startswith(f"{construct_path}: ")
        assert "\nFix: " in result["message"]["text"]
    assert {location(r)["logicalLocations"][0]["decoratedName"] for r in run["results"]} == {"Service", "Task"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_a_cloud_assembly_relative_to_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES / "portplan")
    code, log = check_sarif(capsys, "cdk-out")
    assert schema_errors(log) == []
    assert code == 1
    seen = []
    for result in only_run(log)["results"]:
        physical = location(result)["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        logical = location(result)["logicalLocations"][0]
        assert physical["region"]["startLine"] == key_lines(Path(uri))[logical["decoratedName"]]
        seen.append((result["ruleId"], uri, logical["fullyQualifiedName"]))
    assert seen == [
        ("dynamic-port-ingress", "cdk-out/Net.template.json", "Net/Asg/InstanceSecurityGroup/Resource"),
        ("dynamic-port-ingress", "cdk-out/Web.template.json", "Web/Web/LB/SecurityGroup/Resource"),
        ("static-port-overcommit", "cdk-out/assembly-Prod/ProdApi2466CF1F.template.json", "Prod/Api/Service/Service"),
        ("deployment-port-deadlock", "cdk-out/assembly-Prod/ProdApi2466CF1F.template.json", "Prod/Api/Service/Service"),
    ]


def test_a_cloud_assembly_given_from_elsewhere_is_still_relative_to_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    _, log = check_sarif(capsys, str(FIXTURES / "portplan" / "cdk-out"))
    uris = {location(r)["physicalLocation"]["artifactLocation"]["uri"] for r in only_run(log)["results"]}
    assert "portplan/cdk-out/Net.template.json" in uris


def test_yaml_template(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "portplan")
    code, log = check_sarif(capsys, "yaml/short-tags.yaml")
    assert schema_errors(log) == []
    assert code == 1
    results = only_run(log)["results"]
    # (its Fn::If on condition IsProd is evaluated since issue 10: no deadlock doubt any more)
    assert [(r["ruleId"], r["level"]) for r in results] == [("static-port-overcommit", "error")]
    for result in results:
        assert location(result)["physicalLocation"] == {
            "artifactLocation": {"uri": "yaml/short-tags.yaml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": key_lines(Path("yaml/short-tags.yaml"))["Service"]},
        }
        # no construct path in a hand-written template: the logical id names the resource
        assert location(result)["logicalLocations"] == [{"name": "Service", "kind": "resource"}]
        assert result["message"]["text"].startswith("Service: ")


def test_a_template_written_as_yaml_keeps_its_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "app.template.yaml"
    path.write_text(yaml.safe_dump(error_and_warning_template().body(), sort_keys=False))
    _, log = check_sarif(capsys, path.name)
    assert schema_errors(log) == []
    lines = key_lines(path)
    results = only_run(log)["results"]
    assert len(results) >= 2
    for result in results:
        logical_id = location(result)["logicalLocations"][0]["decoratedName"]
        assert location(result)["physicalLocation"]["region"] == {"startLine": lines[logical_id]}


def test_no_findings_is_still_a_run_with_every_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    static_app(tasks=1, instances=1).write(tmp_path)
    code, log = check_sarif(capsys, "Stack.template.json")
    assert schema_errors(log) == []
    assert code == 0
    run = only_run(log)
    assert run["results"] == []
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [rule.id for rule in RULES]


def test_warnings_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, log = check_sarif(capsys, static_app(tasks=1, instances=1, host_port=40000).write(tmp_path))
    assert code == 0
    assert [r["level"] for r in only_run(log)["results"]] == ["warning"]


def test_bad_input_exits_2_with_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES / "portplan")
    code = main(["check", "bad/invalid.json", "--format", "sarif"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.startswith("port-plan: error: bad/invalid.json: invalid JSON")


# -- the rule catalogue -------------------------------------------------------------------------------


def test_every_rule_is_described(tmp_path: Path) -> None:
    rules = only_run(sarif_log([], working_directory=str(tmp_path)))["tool"]["driver"]["rules"]
    assert rules == [
        {
            "id": rule.id,
            "shortDescription": {"text": rule.info},
            "fullDescription": {"text": f"{rule.info} {rule.why}"},
            "help": {"text": rule.fix},
            "defaultConfiguration": {"level": rule.severity},
        }
        for rule in RULES
    ]
    # GitHub code scanning keeps at most 1024 characters of either description
    assert all(len(r["fullDescription"]["text"]) <= 1024 for r in rules)


def test_the_driver_carries_the_package_version() -> None:
    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)[1]
    driver = only_run(json.loads(render_sarif([])))["tool"]["driver"]
    assert driver["name"] == "port-plan"
    assert driver["version"] == version == tool_metadata()[0]
    # pyproject.toml names no project URL yet: no informationUri rather than a made-up one
    assert "informationUri" not in driver


def test_the_information_uri_comes_from_the_project_urls() -> None:
    urls = ["Documentation, https://docs.example.org", "Repository, https://git.example.org/port-plan"]
    assert _home_page(urls, None) == "https://git.example.org/port-plan"
    assert _home_page([], "https://example.org") == "https://example.org"
    assert _home_page(["Changelog, https://example.org/changes"], None) is None
    log = sarif_log([], working_directory="/", information_uri="https://git.example.org/port-plan")
    assert only_run(log)["tool"]["driver"]["informationUri"] == "https://git.example.org/port-plan"
    assert schema_errors(log) == []


# -- locations ----------------------------------------------------------------------------------------


def finding(template_path: str, *, rule: str = "static-port-overcommit", template: str = "t.json") -> Finding:
    return Finding(
        rule, "error", template, "Service", "App/Service/Resource", "too many tasks", "run fewer", template_path
    )


def test_a_template_outside_the_working_directory_gets_an_absolute_uri(tmp_path: Path) -> None:
    path = Path(static_app(tasks=3).write(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    log = sarif_log([finding(str(path))], working_directory=str(elsewhere))
    assert schema_errors(log) == []
    artifact = location(only_run(log)["results"][0])["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": path.resolve().as_uri()}


def test_uris_are_percent_encoded(tmp_path: Path) -> None:
    directory = tmp_path / "my stacks" / "ünï"
    directory.mkdir(parents=True)
    path = Path(static_app(tasks=3).write(directory))
    log = sarif_log([finding(str(path))], working_directory=str(tmp_path))
    assert schema_errors(log) == []
    artifact = location(only_run(log)["results"][0])["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "my%20stacks/%C3%BCn%C3%AF/Stack.template.json"
    outside = sarif_log([finding(str(path))], working_directory=str(tmp_path / "my stacks" / "other"))
    assert schema_errors(outside) == []


def test_symbolic_links_are_resolved(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    Path(static_app(tasks=3).write(real))
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    log = sarif_log([finding(str(tmp_path / "link" / "Stack.template.json"))], working_directory=str(tmp_path))
    artifact = location(only_run(log)["results"][0])["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "real/Stack.template.json"


def test_no_region_when_the_resource_is_not_found(tmp_path: Path) -> None:
    path = Path(static_app(tasks=3).write(tmp_path))
    gone = Finding("unverifiable", "warning", "Stack.template.json", "Nowhere", None, "m", "f", str(path))
    missing = finding(str(tmp_path / "deleted.template.json"))
    log = sarif_log([gone, missing], working_directory=str(tmp_path))
    assert schema_errors(log) == []
    for result in only_run(log)["results"]:
        assert "region" not in location(result)["physicalLocation"]


def test_a_finding_without_a_file_path_uses_its_display_name(tmp_path: Path) -> None:
    static_app(tasks=3).write(tmp_path)
    log = sarif_log([finding("", template="Stack.template.json")], working_directory=str(tmp_path))
    physical = location(only_run(log)["results"][0])["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "Stack.template.json"
    assert physical["region"] == {"startLine": key_lines(tmp_path / "Stack.template.json")["Service"]}


def test_a_rule_outside_the_catalogue_has_no_rule_index(tmp_path: Path) -> None:
    log = sarif_log([finding("", rule="made-up")], working_directory=str(tmp_path))
    assert schema_errors(log) == []
    (result,) = only_run(log)["results"]
    assert result["ruleId"] == "made-up" and "ruleIndex" not in result


# -- finding the line of a resource -------------------------------------------------------------------


def test_resource_lines_reads_each_file_once(tmp_path: Path) -> None:
    path = Path(static_app(tasks=3).write(tmp_path))
    lines = ResourceLines()
    first = lines.line(str(path), "Service"), lines.line(str(path), "Task")
    path.unlink()  # a second scan would find nothing now
    assert (lines.line(str(path), "Service"), lines.line(str(path), "Task")) == first
    assert None not in first
    assert ResourceLines().line(str(path), "Service") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"Resources": {"A": {"Type": "X"}, "B": {}}}', {"A": 1, "B": 1}),
        # a key named Resources deeper down, strings holding braces and escaped quotes
        (
            '{"Metadata": {"Resources": {"No": 1}}, "Description": "{[\\"x\\"]}",\n'
            ' "Resources": {\n  "A": {"Metadata": {"B": "}"}},\n  "C\\u0031": []\n },\n "Outputs": {"D": {}}}',
            {"A": 3, "C1": 4},
        ),
        ('{"Resources": [], "Outputs": {"A": {}}}', {}),
        ('{"Resources": "none", "Outputs": {"A": {}}}', {}),
        ("Resources:\n  A:\n    Type: X\n  'B':\n    Type: X\n  \"C\" : {}\n", {"A": 2, "B": 4, "C": 6}),
        # comments, blank lines, CRLF, block scalars; the next top-level key ends the mapping
        (
            "# head\r\nResources:   # all of them\r\n\r\n    # A comes first\r\n    A:\r\n      Properties:\r\n"
            "        UserData: |\r\n          #!/bin/bash\r\n          B: not a key\r\n    B:\r\n      Type: X\r\n"
            "Outputs:\r\n    C:\r\n      Value: 1\r\n",
            {"A": 5, "B": 10},
        ),
        ("Resources: {A: {Type: X}}\n", {}),  # flow style: no line rather than a wrong one
        ("Outputs:\n  A: {}\n", {}),
    ],
)
def test_resource_lines(text: str, expected: dict[str, int]) -> None:
    assert resource_lines(text) == expected


LOGICAL_IDS = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
SECTIONS = {
    # "Resources" inside a resource too: only the top-level mapping counts
    "Resources": st.dictionaries(
        LOGICAL_IDS,
        st.dictionaries(st.sampled_from(["Type", "Properties", "Resources"]), VALUES),
        min_size=1,
        max_size=6,
    ),
    "Parameters": st.dictionaries(LOGICAL_IDS, VALUES, max_size=2),
    "Outputs": st.dictionaries(LOGICAL_IDS, VALUES, max_size=2),
    "Description": TEXT,
}


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    """Resources and, in any order around it, a few other sections."""
    names = draw(st.permutations(list(SECTIONS)))
    return {name: draw(SECTIONS[name]) for name in names if name == "Resources" or draw(st.booleans())}


@settings(max_examples=60, deadline=None)
@given(template=templates(), layout=st.sampled_from(["json", "json1", "json2", "yaml"]))
def test_resource_lines_agree_with_a_yaml_parser(
    template: dict[str, Any], layout: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if layout == "yaml":
        text = yaml.safe_dump(template, sort_keys=False)
    else:
        text = json.dumps(template, indent={"json": None, "json1": 1, "json2": 2}[layout])
    path = tmp_path_factory.mktemp("template") / "t"
    path.write_text(text)
    assert resource_lines(text) == key_lines(path)


def test_sarif_starts_no_jsii_and_reads_no_yaml() -> None:
    calls = "from constructs_lib.cli import main; main(['check', 'cdk-out', '--format', 'sarif'])"
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()): {calls}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs', 'yaml')))",
        ],
        cwd=FIXTURES / "portplan",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert loaded.stdout.strip().splitlines()[-1] == "[]", loaded.stderr

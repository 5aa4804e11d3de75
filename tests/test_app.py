"""The workshop app end to end: the real `cdk synth` with every plugin, and bad knobs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# As a user runs the documented commands: no JSII_SILENCE_... variable (app.py sets its own), no
# version check (it would ask the npm registry).
ENV = {key: value for key, value in os.environ.items() if key != "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"}
ENV["CDK_DISABLE_VERSION_CHECK"] = "1"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """`npx cdk synth` of the workshop app, as `make synth` runs it."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices", "-o", str(outdir)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
    )
    return result, outdir


def test_cdk_synth_passes_every_plugin(synthesized):
    result, outdir = synthesized
    assert result.returncode == 0, result.stderr[-3000:]
    assert "end-of-life" not in result.stderr  # app.py silences jsii's Node banner itself
    report = json.loads((outdir / "validation-report.json").read_text())
    # CDK lists a plugin only when it has something to say: AwsSolutions has acknowledgments,
    # the port plan of the lab has nothing at all.
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert "AwsSolutions" in plugins
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        assert plugin["violations"] == []


def test_port_plan_of_the_lab_is_clean(synthesized):
    _, outdir = synthesized
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib", "check", str(outdir), "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["findings"] == []
    assert document["summary"]["decided"] == document["summary"]["services"] == 2


def test_make_synth_summary_reads_the_report(synthesized):
    _, outdir = synthesized
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.validation_summary", str(outdir),
         "--plugin", "port-plan", "--plugin", "AwsSolutions"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((outdir / "validation-report.json").read_text())
    suppressed = [v for p in report["pluginReports"] for v in p.get("suppressedViolations", [])]
    kept = sum(len(v["violatingConstructs"]) for v in suppressed)
    assert kept > 0
    assert result.stdout.splitlines() == [
        "port plan: passed, 0 errors, 0 warnings",
        f"cdk-nag AwsSolutions: passed, 0 errors, 0 warnings, {kept} acknowledged",
        f"acknowledgments kept: {kept}, each with its reason, in {outdir / 'validation-report.json'}",
    ]
    shown = result.stdout.replace(str(outdir), "cdk.out")
    assert f"```\n{shown}```" in (ROOT / "README.md").read_text()  # what the Quick start shows


def test_cfn_lint_finds_nothing(synthesized):
    _, outdir = synthesized
    templates = sorted(str(p) for p in outdir.glob("*.template.json"))
    assert templates
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *templates], capture_output=True, text=True, timeout=300
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_acknowledgment_carries_a_reason(synthesized):
    _, outdir = synthesized
    report = json.loads((outdir / "validation-report.json").read_text())
    suppressed = [v for p in report["pluginReports"] for v in p.get("suppressedViolations", [])]
    assert suppressed, "the lab's inherent findings (public ALB, ECS Exec) should be acknowledged, not absent"
    for violation in suppressed:
        assert len(violation["reason"]) > 60, violation["acknowledgedId"]
        # never stack- or app-wide: acknowledged on a construct inside the stack
        assert violation["acknowledgedAt"].count("/") >= 2, violation["acknowledgedAt"]


def run_app(context):
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**ENV, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/nonexistent/never-written"},
    )


@pytest.mark.parametrize(
    "context, message",
    [
        ({"lab:instanceCount": "many"}, "error: lab:instanceCount='many' is not an integer; allowed: an integer from 1 to 10."),
        ({"lab:instanceCount": "\u0663"}, "error: lab:instanceCount='\u0663' is not an integer; allowed: an integer from 1 to 10."),
        (
            {"lab:instanceCount": "9" * 5000},
            "error: lab:instanceCount='99999999999999999999'... (5000 characters) is not an integer; "
            "allowed: an integer from 1 to 10.",
        ),
        ({"lab:dynamicDesiredCount": True}, "error: lab:dynamicDesiredCount=True is not an integer; allowed: an integer from 0 to 50."),
        ({"lab:dynamicDesiredCount": 2.5}, "error: lab:dynamicDesiredCount=2.5 is not an integer; allowed: an integer from 0 to 50."),
        (
            {"lab:labs": ["static", 1]},
            "error: lab:labs=['static', 1] is not a list of labs; allowed: a comma-separated subset of static, "
            "dynamic, at least one, each once.",
        ),
        (
            {"lab:instanceType": "foo.bar"},
            "error: lab:instanceType='foo.bar' is not an EC2 instance type; allowed: a lowercase EC2 instance type "
            "such as t3.small, m7i.large or t4g.medium.",
        ),
        (
            {"lab:instancecount": "3"},
            "error: unknown knob 'lab:instancecount' (did you mean lab:instanceCount?); known knobs: "
            "lab:instanceCount, lab:instanceType, lab:staticDesiredCount, lab:dynamicDesiredCount, lab:labs.",
        ),
        ({"compliance": "pci"}, "error: compliance='pci' is not a known pack; allowed: nist80053r5."),
        ({"compliance": ["nist80053r5"]}, "error: compliance=['nist80053r5'] is not a known pack; allowed: nist80053r5."),
    ],
)
def test_bad_knob_stops_synth_with_one_line(context, message):
    result = run_app(context)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr


def test_bad_knob_in_cdk_json_stops_cdk_synth_with_one_line(tmp_path):
    # GIVEN a cdk.json whose lab:labs holds a number (an AttributeError once) and the real CDK CLI
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], "lab:labs": ["static", 1]}
    app = f"{sys.executable} {ROOT / 'app.py'}"
    (tmp_path / "cdk.json").write_text(json.dumps({"app": app, "context": context}))
    # WHEN `cdk synth` runs the app
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices", "-o", str(tmp_path / "out")],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300,
    )
    # THEN the app's one line is on stderr, the app exited 2 (the CLI says so and exits 1), no traceback
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert lines[0] == (
        "error: lab:labs=['static', 1] is not a list of labs; allowed: a comma-separated subset of static, "
        "dynamic, at least one, each once."
    )
    assert lines[-1].endswith("Subprocess exited with error 2"), lines
    assert "Traceback" not in result.stderr


def test_readme_diagram_is_the_lab_as_synthesized(synthesized, tmp_path):
    _, outdir = synthesized
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib", "diagram", str(outdir), "-o", str(tmp_path / "lab.svg")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "lab.svg").read_text() == (ROOT / "docs" / "lab-diagram.svg").read_text()

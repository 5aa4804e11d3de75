"""The one-line-per-check summary of the validation report `cdk synth` writes (as `make synth` prints it)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from constructs_lib.validation_summary import REPORT_FILE, PluginSummary, main, read_report, summarize
from tests.conftest import ROOT

REPORTS = ROOT / "tests" / "fixtures" / "validation_reports"
LAB_PLUGINS = ["--plugin", "port-plan", "--plugin", "AwsSolutions"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_lab_passes_with_its_acknowledgments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the report of the lab's synth, where CDK lists AwsSolutions (it has acknowledgments) and
    # leaves out the port plan (nothing to say)
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    shutil.copy(REPORTS / "lab.json", assembly / REPORT_FILE)
    # WHEN it is summarized for the plugins the app registers
    code, out, err = run(capsys, str(assembly), *LAB_PLUGINS)
    # THEN one line per check, the port plan included, and the acknowledgments it keeps
    assert (code, err) == (0, "")
    assert out == (
        "port plan: passed, 0 errors, 0 warnings\n"
        "cdk-nag AwsSolutions: passed, 0 errors, 0 warnings, 11 acknowledged\n"
        f"acknowledgments kept: 11, each with its reason, in {assembly / REPORT_FILE}\n"
    )


def test_open_findings_fail_and_count_per_construct(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a report with an open port-plan error and warning, one acknowledged port-plan error, and
    # cdk-nag findings on plain aws-ecs stacks (one acknowledged)
    path = REPORTS / "findings_and_acknowledgments.json"
    report = json.loads(path.read_text())
    [nag] = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    per_construct = sum(len(v["violatingConstructs"]) for v in nag["violations"])
    assert per_construct > len(nag["violations"])  # some rules name several constructs
    # WHEN summarized
    code, out, _ = run(capsys, str(path), *LAB_PLUGINS)
    # THEN each plugin failed, with one finding per rule and construct
    assert code == 0
    assert out.splitlines() == [
        "port plan: failed, 1 error, 1 warning, 1 acknowledged",
        f"cdk-nag AwsSolutions: failed, {per_construct} errors, 0 warnings, 1 acknowledged",
        f"acknowledgments kept: 2, each with its reason, in {path}",
    ]


def test_plugins_not_named_get_their_line_too() -> None:
    report = {
        "pluginReports": [
            {"pluginName": "NIST.800.53.R5", "conclusion": "failure",
             "violations": [{"severity": "error", "violatingConstructs": [{}, {}]}]},
            {"pluginName": "Construct Annotations", "conclusion": "success",
             "violations": [{"severity": "warning", "violatingConstructs": [{}]}]},
        ]
    }
    summaries = summarize(report, ["port-plan"])
    assert [s.line() for s in summaries] == [
        "port plan: passed, 0 errors, 0 warnings",
        "cdk-nag NIST.800.53.R5: failed, 2 errors, 0 warnings",
        "Construct Annotations: passed, 0 errors, 1 warning",
    ]


def test_without_acknowledgments_says_none_were_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / REPORT_FILE
    path.write_text(json.dumps({"version": "55.0.0", "title": "Validation Report", "pluginReports": []}))
    code, out, _ = run(capsys, str(path), "--plugin", "port-plan")
    assert (code, out) == (0, "port plan: passed, 0 errors, 0 warnings\nacknowledgments kept: 0\n")


def test_a_plugin_named_twice_has_one_line() -> None:
    assert summarize({"pluginReports": []}, ["port-plan", "port-plan"]) == [PluginSummary("port-plan", True)]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no validation report (synth stopped before the checks ran, or the app registers no plugin)"),
        ("{not json", "not JSON: "),
        ("[]", "not a CDK validation report (no pluginReports list)"),
        ('{"pluginReports": {}}', "not a CDK validation report (no pluginReports list)"),
    ],
)
def test_bad_report_is_one_line_and_exit_2(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if content is not None:
        (tmp_path / REPORT_FILE).write_text(content)
    code, out, err = run(capsys, str(tmp_path))
    assert (code, out) == (2, "")
    assert err.startswith(f"validation-summary: error: {tmp_path / REPORT_FILE}: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_usage_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, out) == (2, "")
    assert err.startswith("validation-summary: error: ") and err.count("\n") == 1


def test_read_report_accepts_the_file_itself() -> None:
    assert read_report(str(REPORTS / "lab.json"))["title"] == "Validation Report"


def test_make_synth_names_the_plugins_app_py_registers() -> None:
    from cdk_nag import AwsSolutionsChecks

    from constructs_lib import PortPlanChecks

    summary = re.search(r"^SUMMARY := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert summary is not None
    named = re.findall(r"--plugin (\S+)", summary.group(1))
    assert named == [PortPlanChecks().name, AwsSolutionsChecks().name]
    app = (ROOT / "app.py").read_text()
    assert "plugins = [AwsSolutionsChecks(), PortPlanChecks()]" in app

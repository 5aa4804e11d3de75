"""The README is the front door: its rules table matches the catalogue and its full example runs."""

import json
import os
import re
import subprocess
import sys

from constructs_lib.portplan import RULES
from constructs_lib.portplan.plan import DYNAMIC
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_quick_start_is_two_commands():
    assert "make synth" in README and "make test" in README


def test_rules_table_matches_the_catalogue():
    for rule in RULES:
        row = f"| `{rule.id}` | {rule.severity} | {rule.reported_on} | {rule.info} | {rule.why} | {rule.fix} |"
        assert row in README, f"README's row for {rule.id} is out of date"
    documented = re.findall(r"^\| `([a-z-]+)` \| (?:error|warning) \|", README, re.MULTILINE)
    assert documented == [rule.id for rule in RULES]


def test_what_the_package_installs_is_documented():
    from importlib.metadata import distribution

    installed = distribution("constructs-lib")  # the editable install of this checkout
    for script in installed.entry_points.select(group="console_scripts"):
        assert f"`{script.name} check cdk.out`" in README
    assert "test" in installed.metadata.get_all("Provides-Extra") and '"constructs-lib[test] @' in README
    assert f'`"host": "{DYNAMIC}"`' in (ROOT / "docs" / "plan-and-diagram.md").read_text()
    assert f'`"{DYNAMIC}"` when the agent picks it' in README


# A user's shell: the CDK CLI's variables left out, so a snippet runs as `python snippet.py` would.
ENVIRONMENT = {key: value for key, value in os.environ.items() if key not in ("CDK_OUTDIR", "CDK_CONTEXT_JSON")}
ENVIRONMENT.update(JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", PYTHONPATH=str(ROOT))


def run_snippet(marker: str, folder) -> subprocess.CompletedProcess:
    """Run the README's one Python block containing `marker`, exactly as written, from `folder`."""
    [example] = [block for block in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if marker in block]
    script = folder / "snippet.py"
    script.write_text(example)
    return subprocess.run(
        [sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=300, env=ENVIRONMENT
    )


def test_reuse_example_writes_an_assembly_check_names_by_path(tmp_path):
    # GIVEN the snippet exactly as the README shows it, run with python from an empty folder
    result = run_snippet('cdk.Stack(app, "Orders")', tmp_path)
    environment = ENVIRONMENT
    # THEN it says where it wrote the assembly, and that is ./cdk.out
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "wrote cdk.out\n"
    template = json.loads((tmp_path / "cdk.out" / "Orders.template.json").read_text())
    # AND every resource carries its construct path, which check and plan report
    assert all("aws:cdk:path" in r.get("Metadata", {}) for r in template["Resources"].values()
               if r["Type"] != "AWS::CDK::Metadata")

    def port_plan(*arguments):
        return subprocess.run([sys.executable, "-m", "constructs_lib", *arguments, "cdk.out"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, env=environment)

    checked = port_plan("check")
    assert (checked.returncode, checked.stderr) == (0, "")
    assert checked.stdout == "0 errors, 0 warnings in 1 template; 1 of 1 service decided\n"
    planned = json.loads(port_plan("plan", "--format", "json").stdout)
    [service] = planned["clusters"][0]["services"]
    assert service["path"] == "Orders/Web/Service/Service/Service"
    assert f"`{service['id']}` instead of `{service['path']}`" in README


def test_acknowledgment_example_accepts_the_finding_and_keeps_its_reason(tmp_path):
    # GIVEN the acknowledgment snippet exactly as the README shows it
    result = run_snippet("acknowledge(", tmp_path)
    # THEN synth passes with nothing open, and the report keeps the finding under the service, with the reason
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "cdk.out" / "validation-report.json").read_text())
    [plugin] = [p for p in report["pluginReports"] if p["pluginName"] == "port-plan"]
    assert plugin["violations"] == []
    [accepted] = plugin["suppressedViolations"]
    assert accepted["ruleName"] == "static-port-in-dynamic-range"
    assert accepted["acknowledgedAt"] == "Legacy/Service"
    assert accepted["reason"] == "legacy clients call port 40000; these instances run no dynamic tasks"
    # AND the rules table says the finding is reported on the task definition, as the snippet's comment does
    assert "| `static-port-in-dynamic-range` | warning | task definition |" in README

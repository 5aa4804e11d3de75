"""Every rule through both doors, on apps built with plain aws-ecs and aws-ecs-patterns.

One app holds a compliant and a non-compliant stack per rule (tests/port_scenarios.py); it is
synthesized once with the plugin, and the CLI checks the same cloud assembly.
"""

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_app
from tests.port_scenarios import CASES, VARIANTS, build_app, stack_name

SEVERITY = {rule: ("warning" if rule in ("static-port-in-dynamic-range", "unverifiable") else "error") for rule in CASES}


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    """Synthesize every case with the plugin; the errors make synth fail, the report stays."""
    import aws_cdk as cdk

    from constructs_lib import PortPlanChecks

    outdir = tmp_path_factory.mktemp("scenarios")
    app = make_app(outdir=str(outdir))
    build_app(app)
    cdk.Validations.of(app).add_plugins(PortPlanChecks())
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    return outdir


@pytest.fixture(scope="module")
def plugin_findings(assembly):
    """stack name -> {(rule, severity)} from the validation report."""
    report = json.loads((assembly / "validation-report.json").read_text())
    [plugin] = [p for p in report["pluginReports"] if p["pluginName"] == "port-plan"]
    found = defaultdict(set)
    for violation in plugin["violations"]:
        for construct in violation["violatingConstructs"]:
            found[construct["constructPath"].split("/")[0]].add((violation["ruleName"], violation["severity"]))
    return found


@pytest.fixture(scope="module")
def cli_findings(assembly):
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib", "check", str(assembly), "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    found = defaultdict(set)
    for finding in json.loads(result.stdout)["findings"]:
        found[Path(finding["template"]).name.split(".")[0]].add((finding["rule"], finding["severity"]))
    return found


@pytest.mark.parametrize("door", ["plugin_findings", "cli_findings"])
@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_its_case(rule, door, request):
    findings = request.getfixturevalue(door)
    assert (rule, SEVERITY[rule]) in findings[stack_name(rule, True)]


@pytest.mark.parametrize("door", ["plugin_findings", "cli_findings"])
@pytest.mark.parametrize("rule", sorted(CASES))
def test_compliant_case_is_clean(rule, door, request):
    findings = request.getfixturevalue(door)
    assert findings[stack_name(rule, False)] == set()


@pytest.mark.parametrize("door", ["plugin_findings", "cli_findings"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_fires_its_rule_and_its_compliant_twin_is_clean(variant, door, request):
    findings = request.getfixturevalue(door)
    rule = VARIANTS[variant][0]
    assert (rule, SEVERITY[rule]) in findings[stack_name(variant, True)]
    assert findings[stack_name(variant, False)] == set()

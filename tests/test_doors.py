"""Every rule through both doors, on apps built with plain aws-ecs and aws-ecs-patterns.

One app holds a compliant and a non-compliant stack per rule (tests/port_scenarios.py); it is
synthesized once with the plugin, and the CLI checks the same cloud assembly.
"""

import json
import os
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


REPORTED_ON_TYPES = {
    "service": {"AWS::ECS::Service"},
    "service (or Auto Scaling group)": {"AWS::ECS::Service", "AWS::AutoScaling::AutoScalingGroup"},
    "task definition": {"AWS::ECS::TaskDefinition"},
    "target group": {"AWS::ElasticLoadBalancingV2::TargetGroup"},
    "security group": {"AWS::EC2::SecurityGroup"},
}


@pytest.mark.parametrize("rule", sorted(set(CASES) - {"unverifiable"}))
def test_findings_are_reported_on_the_resource_the_rules_table_names(rule, assembly):
    # GIVEN the CLI's findings of the rule on its non-compliant case
    from constructs_lib.portplan.rules import RULES_BY_ID

    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib", "check", str(assembly / f"{stack_name(rule, True)}.template.json"),
         "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == rule]
    template = json.loads((assembly / f"{stack_name(rule, True)}.template.json").read_text())
    # THEN each one is on a resource of the kind the README's "reported on" column names (where to acknowledge)
    kinds = {template["Resources"][f["resource"]]["Type"] for f in findings}
    assert findings and kinds <= REPORTED_ON_TYPES[RULES_BY_ID[rule].reported_on]


# -- apps shaped like real ones: nested stacks, weak cross-stack references, stages ---------------------------


@pytest.fixture(scope="module")
def real_assembly(tmp_path_factory):
    """Nested stacks (cluster in the parent, service nested), a cluster shared across stacks by weak
    references, and stacks in Stages; one acknowledged nested error. Errors fail synth."""
    import aws_cdk as cdk

    from constructs_lib import PortPlanChecks
    from tests.port_scenarios import included, nested_service, shared_cluster, staged

    outdir = tmp_path_factory.mktemp("real")
    app = make_app(outdir=str(outdir))
    os.environ["CDK_CLI_VERSION"] = "test"  # as the CDK CLI sets it: the plugin adds the Stage summaries
    for bad in (True, False):
        nested_service(cdk.Stack(app, f"nested-{'bad' if bad else 'good'}"), bad)
        shared_cluster(app, f"weak-{'bad' if bad else 'good'}", bad)
        staged(cdk.Stage(app, f"Stage{'Bad' if bad else 'Good'}"), bad)
        included(cdk.Stack(app, f"included-{'bad' if bad else 'good'}"), bad)
    accepted = nested_service(cdk.Stack(app, "nested-acknowledged"), True)
    cdk.Validations.of(accepted.service).acknowledge(
        cdk.Acknowledgment(id="port-plan::static-port-overcommit", reason="a third instance joins later")
    )
    cdk.Validations.of(app).add_plugins(PortPlanChecks())
    try:
        with pytest.raises(Exception, match="ValidationFailed"):
            app.synth()
    finally:
        del os.environ["CDK_CLI_VERSION"]
    report = json.loads((outdir / "validation-report.json").read_text())
    [plugin] = [p for p in report["pluginReports"] if p["pluginName"] == "port-plan"]
    return outdir, plugin


def _errors_by_path(plugin) -> set[tuple[str, str]]:
    return {
        (v["ruleName"], c["constructPath"])
        for v in plugin["violations"]
        if v["severity"] == "error"
        for c in v["violatingConstructs"]
    }


def test_nested_stack_service_is_checked_through_the_plugin(real_assembly):
    _, plugin = real_assembly
    errors = _errors_by_path(plugin)
    assert ("static-port-overcommit", "nested-bad/Services/Service/Service") in errors
    assert not any(path.startswith("nested-good/") for _, path in errors)
    [suppressed] = [s for s in plugin["suppressedViolations"] if s["acknowledgedAt"].startswith("nested-acknowledged")]
    assert suppressed["acknowledgedAt"] == "nested-acknowledged/Services/Service"
    assert suppressed["violatingConstructs"][0]["constructPath"] == "nested-acknowledged/Services/Service/Service"


def test_weak_cross_stack_references_are_followed_through_the_plugin(real_assembly):
    _, plugin = real_assembly
    errors = _errors_by_path(plugin)
    assert ("static-port-overcommit", "weak-bad-service/Service/Service") in errors
    assert not any(path.startswith("weak-good") for _, path in errors)


def test_hand_written_parameters_and_conditions_through_the_plugin(real_assembly):
    # defaults apply in the synth door: Environment=prod picks ProdService, 3 tasks on 2 instances
    _, plugin = real_assembly
    errors = _errors_by_path(plugin)
    assert ("static-port-overcommit", "included-bad/Template/ProdService") in errors
    assert not any(path.startswith("included-good/") for _, path in errors)
    [violation] = [
        v for v in plugin["violations"]
        if v["violatingConstructs"][0]["constructPath"] == "included-bad/Template/ProdService"
    ]
    assert "DesiredCount=3, its default" in violation["description"]


def test_stage_errors_are_also_reported_without_a_construct(real_assembly):
    # cdk synth without stack names keeps only violations of the stacks it selects, or without a construct
    _, plugin = real_assembly
    assert ("static-port-overcommit", "StageBad/Api/Service/Service") in _errors_by_path(plugin)
    summaries = [v for v in plugin["violations"] if v["violatingConstructs"][0]["constructPath"] == ""]
    [summary] = summaries
    assert summary["description"].startswith("1 error in the stacks of a Stage")
    assert "[StageBad/Api/Service/Service] 3 tasks need tcp/8080" in summary["description"]


def test_the_cli_finds_the_same_errors(real_assembly):
    outdir, _ = real_assembly
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib", "check", str(outdir), "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    # (this synth writes no construct paths into the templates: the CLI names templates and logical ids)
    errors = sorted((f["rule"], Path(f["template"]).name) for f in document["findings"] if f["severity"] == "error")
    prefixes = [
        "StageBadApi",
        "included-bad.template",
        "nestedacknowledgedServices",
        "nestedbadServices",
        "weak-bad-service.template",
    ]
    assert [rule for rule, _ in errors] == ["static-port-overcommit"] * 5
    assert all(name.startswith(prefix) for (_, name), prefix in zip(errors, prefixes)), errors
    assert document["summary"]["decided"] == document["summary"]["services"] == 9

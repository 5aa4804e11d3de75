"""PortPlanChecks in a CDK app: warnings pass synth, errors can be acknowledged on their construct."""

import json
import os

import pytest

from tests.conftest import make_app
from tests.port_scenarios import overcommit, static_port_in_dynamic_range


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One app: a stack with a warning only, and one whose error is acknowledged on its service."""
    import aws_cdk as cdk

    from constructs_lib import PortPlanChecks

    outdir = tmp_path_factory.mktemp("plugin")
    app = make_app(outdir=str(outdir))
    static_port_in_dynamic_range(cdk.Stack(app, "Warned"), True)
    accepted = cdk.Stack(app, "Accepted")
    overcommit(accepted, True)
    cdk.Validations.of(accepted.node.find_child("Service")).acknowledge(
        cdk.Acknowledgment(id="port-plan::static-port-overcommit", reason="a third instance joins from a shared pool")
    )
    cdk.Validations.of(app).add_plugins(PortPlanChecks())
    app.synth()  # no exception: warnings pass and the one error is acknowledged
    [plugin] = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    return plugin


def test_warnings_pass_synth_and_are_reported(report):
    assert report["pluginName"] == "port-plan"
    assert report["conclusion"] == "success"
    assert [(v["ruleName"], v["severity"]) for v in report["violations"]] == [
        ("static-port-in-dynamic-range", "warning")
    ]
    [construct] = report["violations"][0]["violatingConstructs"]
    assert construct["constructPath"] == "Warned/Task/Resource"


def test_acknowledged_error_is_kept_with_its_reason(report):
    [suppressed] = report["suppressedViolations"]
    assert suppressed["acknowledgedId"] == "port-plan::static-port-overcommit"
    assert suppressed["reason"] == "a third instance joins from a shared pool"
    assert suppressed["acknowledgedAt"] == "Accepted/Service"
    assert "3 tasks need tcp/8080" in suppressed["description"]
    assert suppressed["suggestedFix"].startswith("map the container port dynamically")


@pytest.fixture(scope="module")
def shared_definition_report(tmp_path_factory):
    """Three stacks, each two services running one task definition whose host port 40000 lies in the
    dynamic range (a warning reported on the task definition), acknowledged on: the task definition;
    both services; one service only."""
    import aws_cdk as cdk

    from constructs_lib import PortPlanChecks
    from tests.port_scenarios import cluster_with_capacity, service, task

    outdir = tmp_path_factory.mktemp("shared")
    app = make_app(outdir=str(outdir))
    acknowledgment = cdk.Acknowledgment(id="port-plan::static-port-in-dynamic-range", reason="clients need 40000")
    for name, acknowledged in (("OnDefinition", ["Task"]), ("OnBoth", ["A", "B"]), ("OnOne", ["A"])):
        stack = cdk.Stack(app, name)
        cluster, provider, _ = cluster_with_capacity(stack, instances=2)
        definition = task(stack, (80, 40000))
        for service_id in ("A", "B"):
            service(stack, cluster, provider, definition, desired=1, id=service_id)
        for construct_id in acknowledged:
            cdk.Validations.of(stack.node.find_child(construct_id)).acknowledge(acknowledgment)
    cdk.Validations.of(app).add_plugins(PortPlanChecks())
    app.synth()
    [plugin] = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    return plugin


def _stacks(violations):
    return sorted({c["constructPath"].split("/")[0] for v in violations for c in v["violatingConstructs"]})


def test_a_task_definition_finding_is_accepted_on_the_task_definition(shared_definition_report):
    accepted = [v for v in shared_definition_report["suppressedViolations"] if v["acknowledgedAt"] == "OnDefinition/Task"]
    assert [v["ruleName"] for v in accepted] == ["static-port-in-dynamic-range"]


def test_a_task_definition_finding_is_accepted_on_every_service_that_runs_it(shared_definition_report):
    accepted = [v for v in shared_definition_report["suppressedViolations"] if v["acknowledgedAt"].startswith("OnBoth/")]
    assert sorted(v["acknowledgedAt"] for v in accepted) == ["OnBoth/A", "OnBoth/B"]
    assert {v["reason"] for v in accepted} == {"clients need 40000"}


def test_one_service_cannot_accept_what_another_runs_too(shared_definition_report):
    # the other service's tasks still hold the port: the finding stays, on the task definition
    assert _stacks(shared_definition_report["violations"]) == ["OnOne"]
    [construct] = shared_definition_report["violations"][0]["violatingConstructs"]
    assert construct["constructPath"] == "OnOne/Task/Resource"


def test_a_subset_of_rules_can_be_run(tmp_path):
    import aws_cdk as cdk

    from constructs_lib import PortPlanChecks

    app = make_app(outdir=str(tmp_path))
    overcommit(cdk.Stack(app, "Over"), True)
    cdk.Validations.of(app).add_plugins(PortPlanChecks(rules=["invalid-port", "duplicate-host-port"]))
    app.synth()  # the overcommit is not among the rules asked for


def test_unknown_rule_ids_are_rejected():
    from constructs_lib import PortPlanChecks

    with pytest.raises(ValueError, match="unknown rule ids static-port-overcommmit; known: static-port-overcommit"):
        PortPlanChecks(rules=["static-port-overcommmit"])


STAGE_APP = """
import aws_cdk as cdk
from constructs_lib import PortPlanChecks
from tests.port_scenarios import staged

app = cdk.App()
staged(cdk.Stage(app, "Prod"), True)
cdk.Validations.of(app).add_plugins(PortPlanChecks())
app.synth()
"""


def test_cdk_synth_fails_on_errors_in_a_stage(tmp_path):
    # GIVEN an app whose only stacks live in a Stage: `cdk synth` selects none of them, and the CDK
    # CLI keeps only the findings of the stacks it selects
    import subprocess
    import sys

    from tests.conftest import CDK_CONTEXT, ROOT

    (tmp_path / "app.py").write_text(STAGE_APP)
    (tmp_path / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py", "context": CDK_CONTEXT}))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CDK_DISABLE_VERSION_CHECK": "1", "CDK_CLI_NOTICES": "false"}
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    # THEN synth fails, naming the error where it is
    assert result.returncode != 0, output
    assert "1 error in the stacks of a Stage" in output
    assert "[Prod/Api/Service/Service] 3 tasks need tcp/8080" in output
    assert "Successfully synthesized" not in output


def test_templates_past_a_limit_fail_synth_with_one_clear_violation(tmp_path, monkeypatch):
    """An internal limit (here: how often nested stacks may instantiate one template, lowered to 1)
    fails synth with one violation naming the file, not a Python traceback through jsii."""
    import aws_cdk as cdk

    import constructs_lib.portplan.reader as reader
    from constructs_lib import PortPlanChecks
    from tests.portplan_builders import static_app

    monkeypatch.setattr(reader, "MAX_INSTANCES", 1)
    (tmp_path / "Child.nested.template.json").write_text(json.dumps(static_app().body()))
    app = make_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Parent")
    for index in range(2):  # two stack resources naming the same child template
        child = cdk.CfnResource(
            stack, f"Child{index}", type="AWS::CloudFormation::Stack", properties={"TemplateURL": "https://b/x.json"}
        )
        child.add_metadata("aws:asset:path", "Child.nested.template.json")
    cdk.Validations.of(app).add_plugins(PortPlanChecks())
    with pytest.raises(RuntimeError, match="the port plan cannot check the synthesized templates") as raised:
        app.synth()
    assert "Traceback" not in str(raised.value)
    [plugin] = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert plugin["conclusion"] == "failure"
    [violation] = plugin["violations"]
    assert violation["ruleName"] == "unreadable-input"
    assert violation["description"] == (
        f"the port plan cannot check the synthesized templates: {tmp_path / 'Child.nested.template.json'}: "
        "nested stacks instantiate this template more than 1 times (once per stack resource naming it, in every "
        "instance of that resource's template)"
    )


def test_the_same_child_named_once_is_checked(tmp_path, monkeypatch):
    import aws_cdk as cdk

    import constructs_lib.portplan.reader as reader
    from constructs_lib import PortPlanChecks
    from tests.portplan_builders import static_app

    monkeypatch.setattr(reader, "MAX_INSTANCES", 1)
    (tmp_path / "Child.nested.template.json").write_text(json.dumps(static_app(tasks=1, instances=2).body()))
    app = make_app(outdir=str(tmp_path))
    child = cdk.CfnResource(
        cdk.Stack(app, "Parent"), "Child", type="AWS::CloudFormation::Stack", properties={"TemplateURL": "https://b/x.json"}
    )
    child.add_metadata("aws:asset:path", "Child.nested.template.json")
    cdk.Validations.of(app).add_plugins(PortPlanChecks())
    app.synth()  # no limit reached, no finding: synth passes
    reports = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert [violation for report in reports for violation in report["violations"]] == []


class _Stack:
    def __init__(self, template_path):
        self.template_path = template_path


class _Context:
    """What `validate` reads of CDK's validation context: the stack templates."""

    def __init__(self, *paths):
        self.stack_templates = [_Stack(str(path)) for path in paths]
        self.app_construct = None


def test_an_unreadable_template_is_a_failed_report_naming_it(tmp_path):
    from constructs_lib import PortPlanChecks

    bad = tmp_path / "Bad.template.json"
    bad.write_text('{"Resources": ' + "[" * 100000)
    report = PortPlanChecks().validate(_Context(bad))
    assert report.success is False
    [violation] = report.violations
    assert violation.rule_name == "unreadable-input"
    assert violation.description == (
        f"the port plan cannot check the synthesized templates: {bad}: invalid JSON: it nests deeper than Python can read"
    )

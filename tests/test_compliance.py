"""Secure by default: cdk-nag AwsSolutions passes on the lab only because of argued acknowledgments,
and weakening a hardening default brings its finding back."""

import json

import pytest

from constructs_lib import BridgeCluster, BridgeTaskDefinition, BridgeVpc, LoadBalancedBridgeService, PortMapping
from stacks.bridge_lab_stack import IMAGE, BridgeLabStack
from tests.conftest import make_app

NAG = "AwsSolutions"


def nag_report(app, outdir):
    """Synthesize with AwsSolutions; return {stack: {"open": {rule}, "acknowledged": {id: reason}}}."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())
    try:
        app.synth()
    except Exception as error:  # the open findings fail synth; the report is written first
        assert "ValidationFailed" in str(error)
    report = json.loads((outdir / "validation-report.json").read_text())
    stacks = {}
    for plugin in report["pluginReports"]:
        assert plugin["pluginName"] == NAG
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                entry = stacks.setdefault(construct["constructPath"].split("/")[0], {"open": set(), "acknowledged": {}})
                entry["open"].add(f"{NAG}::{violation['ruleName']}")
        for violation in plugin.get("suppressedViolations", []):
            for construct in violation["violatingConstructs"]:
                entry = stacks.setdefault(construct["constructPath"].split("/")[0], {"open": set(), "acknowledged": {}})
                entry["acknowledged"][violation["acknowledgedId"]] = violation["reason"]
    return stacks


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import aws_cdk as cdk

    outdir = tmp_path_factory.mktemp("nag")
    app = make_app(outdir=str(outdir))
    BridgeLabStack(app, "Lab")

    # The same lab with every acknowledgment dropped as it is made.
    original = cdk.Validations.acknowledge
    cdk.Validations.acknowledge = lambda self, *rules: None
    try:
        BridgeLabStack(app, "LabWithoutAcknowledgments")
    finally:
        cdk.Validations.acknowledge = original

    # Hardening defaults turned off, one each.
    weak = cdk.Stack(app, "Weakened")
    network = BridgeVpc(weak, "Network", flow_logs=False)
    capacity = BridgeCluster(weak, "Capacity", vpc=network.vpc, container_insights=False, asg_notifications=False)
    web = BridgeTaskDefinition(weak, "Web", image=cdk.aws_ecs.ContainerImage.from_registry(IMAGE),
                               port_mappings=[PortMapping(80)])
    LoadBalancedBridgeService(weak, "Service", cluster=capacity, task_definition=web, access_logs=False)
    return nag_report(app, outdir)


def test_lab_has_no_open_finding(report):
    assert report["Lab"]["open"] == set()


def test_every_acknowledgment_is_needed(report):
    # Removing any acknowledgment brings back exactly the finding it accepted.
    assert set(report["Lab"]["acknowledged"]) == report["LabWithoutAcknowledgments"]["open"]


def test_acknowledgments_are_the_argued_few(report):
    rules = {ack.split("[")[0] for ack in report["Lab"]["acknowledged"]}
    assert rules == {
        "AwsSolutions::AwsSolutions-IAM4",  # AmazonSSMManagedInstanceCore for Session Manager
        "AwsSolutions::AwsSolutions-IAM5",  # ECS agent and ECS Exec actions IAM allows only on '*'
        "AwsSolutions::AwsSolutions-EC23",  # an internet-facing ALB's listener port
        "AwsSolutions::AwsSolutions-S1",    # the access-log bucket is itself a log sink
    }


@pytest.mark.parametrize(
    "rule",
    ["AwsSolutions-VPC7", "AwsSolutions-ECS4", "AwsSolutions-AS3", "AwsSolutions-ELB2"],
)
def test_weakened_default_is_reported(report, rule):
    assert f"{NAG}::{rule}" in report["Weakened"]["open"]


def test_a_narrow_allowed_cidr_needs_no_acknowledgment(tmp_path):
    import aws_cdk as cdk

    app = make_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Internal")
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    web = BridgeTaskDefinition(stack, "Web", image=cdk.aws_ecs.ContainerImage.from_registry(IMAGE),
                               port_mappings=[PortMapping(80)])
    LoadBalancedBridgeService(stack, "Service", cluster=capacity, task_definition=web,
                              internet_facing=False, allowed_cidr="10.0.0.0/8")
    stacks = nag_report(app, tmp_path)
    assert stacks["Internal"]["open"] == set()
    assert not any("EC23" in ack for ack in stacks["Internal"]["acknowledged"])


def test_nist_opt_in_reports_what_the_readme_lists(tmp_path):
    """`-c compliance=nist80053r5` runs the NIST pack; what it still reports is documented."""
    import os
    import re
    import subprocess
    import sys

    from tests.conftest import CDK_CONTEXT, ROOT

    # As `cdk synth` runs the app: cdk.json's context (its feature flags decide some findings,
    # e.g. restrictDefaultSecurityGroup closes the VPC's default group) plus the command line's.
    context = {**CDK_CONTEXT, "aws:cdk:enable-path-metadata": True, "compliance": "nist80053r5"}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
             "CDK_OUTDIR": str(tmp_path), "CDK_CONTEXT_JSON": json.dumps(context)},
    )
    assert result.returncode != 0
    report = json.loads((tmp_path / "validation-report.json").read_text())
    [nist] = [p for p in report["pluginReports"] if p["pluginName"] == "NIST.800.53.R5"]
    reported = {v["ruleName"].removeprefix("NIST.800.53.R5-") for v in nist["violations"]}
    readme = (ROOT / "README.md").read_text().split("### NIST 800-53 rev 5 (opt-in)")[1].split("\n## ")[0]
    documented = set(re.findall(r"`([A-Za-z0-9]+)`", readme)) - {"nist80053r5", "certificate", "access_logs_bucket"}
    assert reported == documented

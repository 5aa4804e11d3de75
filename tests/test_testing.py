"""The snapshot kit users put in their own CI: masking, and the port-plan assertion."""

import pytest

from constructs_lib.testing import MASK, assert_port_plan, mask_template

HASH = "a" * 64


def test_mask_removes_what_changes_between_releases_and_asset_builds():
    template = {
        "Resources": {
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:..."}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": f"{HASH}.zip"}}},
        },
        "Conditions": {"CDKMetadataAvailable": {"Fn::Or": []}},
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}, "Keep": {"Type": "String"}},
        "Rules": {"CheckBootstrapVersion": {"Assertions": []}},
    }
    assert mask_template(template) == {
        "Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": f"{MASK}.zip"}}}},
        "Parameters": {"Keep": {"Type": "String"}},
    }
    assert "CDKMetadata" in template["Resources"]  # the caller's template is left alone


@pytest.fixture(scope="module")
def lab_assembly(lab_stack):
    import aws_cdk as cdk

    return cdk.Stage.of(lab_stack).synth().directory


def test_assert_port_plan_reads_an_assembly_directory(lab_assembly):
    plan = assert_port_plan(lab_assembly, fits={"StaticService2D8C636B": 2})
    assert {s["desired"] for c in plan["clusters"] for s in c["services"]} == {2, 4}


def test_assert_port_plan_says_what_differs(lab_stack):
    with pytest.raises(AssertionError, match=r"'StaticService' fits 2, expected 3; 'Nope' matches 0 services"):
        assert_port_plan(lab_stack, fits={"StaticService": 3, "Nope": 1})


def test_a_name_must_pick_one_service(lab_stack):
    with pytest.raises(AssertionError, match="'Service' matches 2 services"):
        assert_port_plan(lab_stack, fits={"Service": 2})

"""BridgeVpc: two AZs, public and private subnets, one NAT gateway, flow logs; or an existing VPC."""

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from constructs_lib import BridgeVpc
from tests.conftest import make_stack


@pytest.fixture(scope="module")
def template():
    stack = make_stack()
    BridgeVpc(stack, "Network")
    return Template.from_stack(stack)


def test_two_azs_with_public_and_private_subnets(template):
    # GIVEN the defaults THEN two public and two private subnets exist
    template.resource_count_is("AWS::EC2::Subnet", 4)
    template.has_resource_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": True})
    template.has_resource_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})


def test_one_nat_gateway(template):
    template.resource_count_is("AWS::EC2::NatGateway", 1)


def test_flow_logs_capture_all_traffic_to_cloudwatch(template):
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_nat_gateways_are_configurable():
    stack = make_stack()
    BridgeVpc(stack, "Network", nat_gateways=2)
    Template.from_stack(stack).resource_count_is("AWS::EC2::NatGateway", 2)


def test_flow_logs_can_be_turned_off():
    stack = make_stack()
    BridgeVpc(stack, "Network", flow_logs=False)
    Template.from_stack(stack).resource_count_is("AWS::EC2::FlowLog", 0)


def test_existing_vpc_is_used_as_is():
    stack = make_stack()
    existing = ec2.Vpc(stack, "Existing", max_azs=1, nat_gateways=0)
    network = BridgeVpc(stack, "Network", existing_vpc=existing)
    assert network.vpc is existing
    Template.from_stack(stack).resource_count_is("AWS::EC2::VPC", 1)


def test_existing_vpc_with_own_props_is_rejected():
    stack = make_stack()
    existing = ec2.Vpc(stack, "Existing", max_azs=1, nat_gateways=0)
    with pytest.raises(ValueError, match="existing_vpc cannot be combined with max_azs, nat_gateways"):
        BridgeVpc(stack, "Network", existing_vpc=existing, nat_gateways=1, max_azs=2)


@pytest.mark.parametrize(
    "props, message",
    [({"max_azs": 0}, "max_azs must be at least 1"), ({"nat_gateways": 3}, "nat_gateways must be 0-2")],
)
def test_bad_sizes_are_rejected(props, message):
    with pytest.raises(ValueError, match=message):
        BridgeVpc(make_stack(), "Network", **props)

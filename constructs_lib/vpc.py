"""The network the lab's instances and balancer live in."""

from __future__ import annotations

from typing import Optional

from aws_cdk import CfnResource, RemovalPolicy, Stack, aws_ec2 as ec2, aws_logs as logs
from constructs import Construct


class BridgeVpc(Construct):
    """A VPC with public and private subnets, NAT for the instances, and flow logs.

    Pass ``existing_vpc`` to use a VPC you already have; nothing is created then.

    Example::

        network = BridgeVpc(stack, "Network", nat_gateways=1)
        network.vpc  # ec2.IVpc

    :param existing_vpc: a VPC to use instead of creating one. Default: - a new VPC.
        Providing both ``existing_vpc`` and any of the other props is an error.
    :param max_azs: Availability Zones to spread over. Default: 2.
    :param nat_gateways: NAT gateways for the private subnets (instances pull images through them).
        Default: 1 (one shared gateway, the cheapest way to give two AZs egress).
    :param ip_addresses: the VPC's CIDR. Default: - ``10.0.0.0/16``.
    :param flow_logs: send VPC flow logs (all traffic) to a CloudWatch log group. Default: True.
    :param flow_log_retention: how long flow logs are kept. Default: one month.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_vpc: Optional[ec2.IVpc] = None,
        max_azs: Optional[int] = None,
        nat_gateways: Optional[int] = None,
        ip_addresses: Optional[ec2.IIpAddresses] = None,
        flow_logs: Optional[bool] = None,
        flow_log_retention: Optional[logs.RetentionDays] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        own_props = {
            "max_azs": max_azs,
            "nat_gateways": nat_gateways,
            "ip_addresses": ip_addresses,
            "flow_logs": flow_logs,
            "flow_log_retention": flow_log_retention,
        }
        if existing_vpc is not None:
            given = sorted(name for name, value in own_props.items() if value is not None)
            if given:
                raise ValueError(
                    f"BridgeVpc '{construct_id}': existing_vpc cannot be combined with "
                    f"{', '.join(given)}; configure the existing VPC where it is defined."
                )
            self.vpc: ec2.IVpc = existing_vpc
            self.flow_log: Optional[ec2.FlowLog] = None
            return

        max_azs = 2 if max_azs is None else max_azs
        nat_gateways = 1 if nat_gateways is None else nat_gateways
        flow_logs = True if flow_logs is None else flow_logs
        if max_azs < 1:
            raise ValueError(f"BridgeVpc '{construct_id}': max_azs must be at least 1, got {max_azs}.")
        if not 0 <= nat_gateways <= max_azs:
            raise ValueError(
                f"BridgeVpc '{construct_id}': nat_gateways must be 0-{max_azs} (one per AZ at most), "
                f"got {nat_gateways}."
            )

        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=max_azs,
            nat_gateways=nat_gateways,
            ip_addresses=ip_addresses or ec2.IpAddresses.cidr("10.0.0.0/16"),
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="Private",
                    subnet_type=(
                        ec2.SubnetType.PRIVATE_WITH_EGRESS
                        if nat_gateways
                        else ec2.SubnetType.PRIVATE_ISOLATED
                    ),
                    cidr_mask=24,
                ),
            ],
        )
        self.vpc = vpc
        self.flow_log = None
        _drop_redundant_dependency(Stack.of(self))
        if flow_logs:
            log_group = logs.LogGroup(
                self,
                "FlowLogGroup",
                retention=flow_log_retention or logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.flow_log = vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )


def _drop_redundant_dependency(stack: Stack) -> None:
    """CDK's handler that closes the default security group both reads its role's ARN (GetAtt)
    and depends on the role; cfn-lint (W3005) flags the second as redundant. The GetAtt alone
    orders them."""
    provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
    if provider is None:
        return
    handler = provider.node.try_find_child("Handler")
    role = provider.node.try_find_child("Role")
    if isinstance(handler, CfnResource) and isinstance(role, CfnResource):
        handler.remove_resource_dependency(role)

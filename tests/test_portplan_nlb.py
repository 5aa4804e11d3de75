"""dynamic-port-ingress on every path: NLBs without security groups, UDP, and clients into the listener."""

from __future__ import annotations

from typing import Any

from portplan_builders import Stack, att, balanced_app, check, ids, link

RULE = "dynamic-port-ingress"
ANY = "0.0.0.0/0"


def nlb_app(
    *,
    host_port: int = 0,
    scheme: str | None = None,
    protocol: str = "TCP",
    security_group: bool = False,
    opened: tuple[tuple[Any, int, int, str], ...] = (),
) -> Stack:
    """A service behind an NLB (no security groups unless asked); `opened`: (cidr, low, high, protocol)
    ingress rules on the instances' security group."""
    stack = Stack()
    stack.vpc()
    stack.cluster()
    stack.capacity(min_size=2)
    group = stack.balancer("Nlb", kind="network", security_group=security_group, scheme=scheme, protocol=protocol)
    mapping_protocol = "udp" if protocol == "UDP" else "tcp"
    stack.task("Task", [(80, host_port, mapping_protocol)])
    stack.service("Service", "Task", desired=2, load_balancers=[link(group)])
    for cidr, low, high, transport in opened:
        stack.ingress("AsgSg", None, low, high, protocol=transport, cidr=cidr)
    return stack


VPC = att("Vpc", "CidrBlock")


def messages(stack: Stack) -> list[str]:
    return [f.message for f in check(stack) if f.rule == RULE]


# -- an NLB without security groups -------------------------------------------------------------------


def test_nlb_without_security_groups_and_no_ingress_reaches_nothing() -> None:
    # GIVEN aws-ecs-patterns' shape: an internet-facing NLB, no security groups, a dynamic port, no ingress
    findings = check(nlb_app())
    # THEN clients and health checks are both turned away, on the whole dynamic range
    assert ids(findings) == {(RULE, "AsgSg")} and len(findings) == 2
    clients, health = sorted(findings, key=lambda f: "health checks" in f.message)
    assert "network load balancer Stack/Nlb has no security groups" in clients.message
    assert "its clients from any address (0.0.0.0/0), as it is internet-facing" in clients.message
    assert "admits 0 of 28232 tcp ports 32768-60999" in clients.message
    assert "its health checks from the VPC's CIDR" in health.message
    assert "ec2.Peer.any_ipv4(), ec2.Port.tcp_range(32768, 60999)" in clients.fix


def test_nlb_open_to_anyone_on_the_range_is_fine() -> None:
    assert check(nlb_app(opened=((ANY, 32768, 65535, "tcp"),))) == []


def test_internet_facing_nlb_admitted_only_from_the_vpc_turns_clients_away() -> None:
    [message] = messages(nlb_app(opened=((VPC, 32768, 60999, "tcp"),)))
    assert "its clients from any address" in message


def test_internal_nlb_needs_the_vpc() -> None:
    assert check(nlb_app(scheme="internal", opened=((VPC, 32768, 60999, "tcp"),))) == []
    [clients, health] = sorted(messages(nlb_app(scheme="internal")), key=lambda m: "health" in m)
    assert "its clients from the VPC's CIDR, as it is internal" in clients


def test_without_client_ip_preservation_the_vpc_is_enough() -> None:
    stack = nlb_app(opened=((VPC, 32768, 60999, "tcp"),))
    stack.props("NlbTg")["TargetGroupAttributes"] = [{"Key": "preserve_client_ip.enabled", "Value": "false"}]
    assert check(stack) == []


def test_static_port_behind_an_nlb() -> None:
    assert check(nlb_app(host_port=8080, opened=((ANY, 8080, 8080, "tcp"),))) == []
    findings = check(nlb_app(host_port=8080, opened=((ANY, 8081, 8081, "tcp"),)))
    assert len(findings) == 2
    assert all("admits 0 of 1 tcp port 8080" in f.message and "the static host port" in f.message for f in findings)


def test_a_fixed_health_check_port_must_be_open_to_the_vpc() -> None:
    stack = nlb_app(host_port=8080, opened=((ANY, 8080, 8080, "tcp"),))
    stack.props("NlbTg")["HealthCheckPort"] = "8081"
    [message] = messages(stack)
    assert "its health checks" in message and "tcp port 8081" in message


def test_udp_needs_udp_rules_and_its_health_checks_tcp() -> None:
    # GIVEN a UDP listener: clients need udp on the range, the (TCP) health checks tcp from the VPC
    fine = nlb_app(protocol="UDP", opened=((ANY, 32768, 60999, "udp"), (VPC, 32768, 60999, "tcp")))
    assert check(fine) == []
    [message] = messages(nlb_app(protocol="UDP", opened=((ANY, 32768, 60999, "tcp"),)))
    assert "its clients from any address" in message and "udp ports 32768-60999" in message
    [message] = messages(nlb_app(protocol="UDP", opened=((ANY, 32768, 60999, "udp"),)))
    assert "its health checks" in message and "tcp ports 32768-60999" in message


def test_instance_groups_defined_elsewhere_are_unverifiable_not_errors() -> None:
    stack = nlb_app()
    data = stack.props("AsgTemplate")["LaunchTemplateData"]
    data["SecurityGroupIds"].append({"Fn::ImportValue": "Shared:Sg"})
    assert {f.rule for f in check(stack)} == {"unverifiable"}


# -- an NLB with security groups is checked like an ALB -----------------------------------------------------


def test_nlb_with_security_groups_is_checked_like_an_alb() -> None:
    stack = nlb_app(security_group=True)
    [finding] = check(stack)
    assert "from balancer security group Stack/NlbSg" in finding.message
    stack.ingress("AsgSg", "NlbSg", 32768, 60999)
    assert check(stack) == []


def test_udp_through_an_nlb_with_security_groups_needs_both_protocols() -> None:
    stack = nlb_app(security_group=True, protocol="UDP")
    stack.ingress("AsgSg", "NlbSg", 32768, 60999, protocol="udp")
    [finding] = check(stack)
    assert "'s health checks" in finding.message and "tcp 32768-60999" in finding.fix
    stack.ingress("AsgSg", "NlbSg", 32768, 60999)
    assert check(stack) == []


# -- clients into the listener (NEW-11) -------------------------------------------------------------------


def test_a_balancer_security_group_that_admits_no_client() -> None:
    stack = balanced_app()
    stack.props("LbSg").pop("SecurityGroupIngress")
    [finding] = check(stack)
    assert (finding.rule, finding.resource) == (RULE, "LbSg")
    assert "load balancer Stack/Lb's security group Stack/LbSg admits no client on its listener port tcp/80" in (
        finding.message
    )
    assert "ec2.Port.tcp(80)" in finding.fix


def test_a_listener_open_to_some_clients_is_fine() -> None:
    stack = balanced_app()
    stack.props("LbSg")["SecurityGroupIngress"] = [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "192.0.2.0/24"}
    ]
    assert check(stack) == []

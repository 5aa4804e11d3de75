"""The EC2 family: security groups with their inline and standalone (SecurityGroupIngress/Egress)
rules, and what a rule's peer reaches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

from ..intrinsics import Key, Resolver, ResourceRef, Unknown, as_str
from .entities import Origin, Peer, SecurityGroup, SecurityGroupRule
from .resources import FamilyBuilder, References, Resources, mapping_of

_PROTOCOLS = {
    "-1": "all",
    "all": "all",
    "6": "tcp",
    "tcp": "tcp",
    "17": "udp",
    "udp": "udp",
    "1": "icmp",
    "icmp": "icmp",
}
_PEER_PROPERTIES = {
    "in": ("SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId"),
    "out": ("DestinationSecurityGroupId", "DestinationSecurityGroupName", "DestinationPrefixListId"),
}


class Ec2Builder(FamilyBuilder):
    """Reads security groups and their rules (and notes VPCs, whose CIDR a rule may name)."""

    reads = frozenset(
        {"AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupEgress", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::VPC"}
    )
    named_by: ClassVar[dict[str, str]] = {"AWS::EC2::SecurityGroup": "GroupName"}

    def __init__(self, refs: References) -> None:
        super().__init__(refs)
        self.security_groups: list[tuple[Key, Origin, list[SecurityGroupRule], list[SecurityGroupRule], bool]] = []
        self.standalone: dict[tuple[Key, str], list[SecurityGroupRule]] = defaultdict(list)

    def finish(self, fields: dict[str, Any]) -> None:
        fields["security_groups"] = {
            key: SecurityGroup(
                origin,
                tuple(ingress + self.standalone.get((key, "in"), [])),
                tuple(egress + self.standalone.get((key, "out"), [])),
                allows_all_egress,
            )
            for key, origin, ingress, egress, allows_all_egress in self.security_groups
        }

    def add(self, raw: Resources) -> None:
        for kind, direction in (("AWS::EC2::SecurityGroupIngress", "in"), ("AWS::EC2::SecurityGroupEgress", "out")):
            for item in self.each(raw, kind):
                node = item.props.get("GroupId", item.props.get("GroupName"))
                group = self.refs.target(item.resolver, node, "AWS::EC2::SecurityGroup", "security group")
                if isinstance(group, tuple):
                    self.standalone[(group, direction)].append(
                        self._rule(item.resolver, item.origin, item.props, direction)
                    )
        for item in self.each(raw, "AWS::EC2::SecurityGroup"):
            resolver, origin = item.resolver, item.origin
            rules: dict[str, list[SecurityGroupRule]] = {}
            egress_node = resolver.value(item.props.get("SecurityGroupEgress"))
            for direction, name in (("in", "SecurityGroupIngress"), ("out", "SecurityGroupEgress")):
                entries = resolver.list_of(item.props.get(name))
                if isinstance(entries, Unknown):
                    rules[direction] = [SecurityGroupRule(origin, entries, None, None, Peer(doubt=entries.reason))]
                else:
                    rules[direction] = [
                        self._rule(resolver, origin, mapping_of(resolver.value(entry)), direction)
                        for entry in entries or ()
                    ]
            self.security_groups.append(
                (item.key, origin, rules["in"], rules["out"], egress_node is None or egress_node == [])
            )

    def _rule(self, resolver: Resolver, origin: Origin, entry: Mapping[str, Any], direction: str) -> SecurityGroupRule:
        protocol = resolver.str_of(entry.get("IpProtocol"))
        if isinstance(protocol, str):
            protocol = _PROTOCOLS.get(protocol.strip().lower(), protocol.strip().lower())
        elif protocol is None:
            protocol = Unknown("a rule without IpProtocol")
        return SecurityGroupRule(
            origin,
            protocol,
            resolver.int_of(entry.get("FromPort")),
            resolver.int_of(entry.get("ToPort")),
            self._peer(resolver, entry, _PEER_PROPERTIES[direction]),
        )

    def _peer(self, resolver: Resolver, entry: Mapping[str, Any], names: tuple[str, str, str]) -> Peer:
        group_id, group_name, prefix_list = names
        for name in (group_id, group_name):
            if entry.get(name) is not None:
                group = self.refs.target(resolver, entry[name], "AWS::EC2::SecurityGroup", "security group")
                return Peer(group=group) if isinstance(group, tuple) else Peer(doubt=str(group))
        if entry.get("CidrIp") is not None:
            cidr = resolver.value(entry["CidrIp"])
            if cidr == "0.0.0.0/0":
                return Peer(vpc_wide=True, anywhere=True)
            if (
                isinstance(cidr, ResourceRef)
                and cidr.attribute == "CidrBlock"
                and self.refs.kind(cidr.key) == "AWS::EC2::VPC"
            ):
                return Peer(vpc_wide=True)
            return Peer(doubt=f"CIDR {cidr}" if isinstance(cidr, str) else str(as_str(cidr)))
        if entry.get(prefix_list) is not None:
            return Peer(doubt="a managed prefix list")
        return Peer()

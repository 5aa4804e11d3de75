"""The ELBv2 family: load balancers, listeners and listener rules, and target groups with the
balancers whose listeners forward to them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..intrinsics import Key, Resolver, Unknown
from .entities import Listener, LoadBalancer, Origin, TargetGroup
from .resources import FamilyBuilder, References, Resources, lowercase, mapping_of


class Elbv2Builder(FamilyBuilder):
    """Reads AWS::ElasticLoadBalancingV2::* resources into balancers and target groups."""

    reads = frozenset(
        {
            "AWS::ElasticLoadBalancingV2::Listener",
            "AWS::ElasticLoadBalancingV2::ListenerRule",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::ElasticLoadBalancingV2::TargetGroup",
        }
    )

    def __init__(self, refs: References) -> None:
        super().__init__(refs)
        self.load_balancers: dict[Key, LoadBalancer] = {}
        self.listener_balancer: dict[Key, Key | Unknown] = {}
        self.listeners: dict[Key, Listener] = {}
        self.forwards: list[tuple[Key | Unknown, list[Key]]] = []  # (listener, target groups it forwards to)
        self.target_groups: list[tuple[Key, Origin, str | Unknown, str | Unknown, Any, Any]] = []
        self.target_group_extras: dict[Key, tuple[Any, Any]] = {}  # health check protocol, client IP preservation

    def finish(self, fields: dict[str, Any]) -> None:
        fields["load_balancers"] = self.load_balancers
        fields["target_groups"] = self._target_groups()

    def add(self, raw: Resources) -> None:
        for item in self.each(raw, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
            node = item.props.get("SecurityGroups")
            groups = (
                None
                if node is None
                else self.refs.targets(item.resolver, node, "AWS::EC2::SecurityGroup", "security group")
            )
            self.load_balancers[item.key] = LoadBalancer(
                item.origin,
                lowercase(item.resolver.value(item.props.get("Type")), "application"),
                (groups,) if isinstance(groups, Unknown) else groups,
                lowercase(item.resolver.value(item.props.get("Scheme")), "internet-facing"),
            )
        for item in self.each(raw, "AWS::ElasticLoadBalancingV2::Listener"):
            balancer = self.refs.target(
                item.resolver,
                item.props.get("LoadBalancerArn"),
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "load balancer",
            )
            self.listener_balancer[item.key] = balancer or Unknown(
                f"listener {item.origin.label} names no load balancer"
            )
            protocol = item.resolver.str_of(item.props.get("Protocol"))
            self.listeners[item.key] = Listener(
                item.origin,
                self.listener_balancer[item.key],
                item.resolver.int_of(item.props.get("Port")),
                protocol.upper() if isinstance(protocol, str) else protocol,
            )
            self.forwards.append((item.key, self._forwarded_groups(item.resolver, item.props.get("DefaultActions"))))
        for item in self.each(raw, "AWS::ElasticLoadBalancingV2::ListenerRule"):
            listener = self.refs.target(
                item.resolver, item.props.get("ListenerArn"), "AWS::ElasticLoadBalancingV2::Listener", "listener"
            )
            self.forwards.append(
                (
                    listener or Unknown("a listener rule names no listener"),
                    self._forwarded_groups(item.resolver, item.props.get("Actions")),
                )
            )
        for item in self.each(raw, "AWS::ElasticLoadBalancingV2::TargetGroup"):
            resolver, props = item.resolver, item.props
            health_port = resolver.str_of(props.get("HealthCheckPort"))
            health_protocol = resolver.str_of(props.get("HealthCheckProtocol"))
            self.target_group_extras[item.key] = (
                health_protocol.upper() if isinstance(health_protocol, str) else health_protocol,
                _preserve_client_ip(resolver, props.get("TargetGroupAttributes")),
            )
            self.target_groups.append(
                (
                    item.key,
                    item.origin,
                    lowercase(resolver.value(props.get("TargetType")), "instance"),
                    "traffic-port" if health_port is None else health_port,
                    resolver.int_of(props.get("Port")),
                    resolver.str_of(props.get("Protocol")),
                )
            )

    def _target_groups(self) -> dict[Key, TargetGroup]:
        """Target groups, with the balancers whose listeners forward to them (from any template)."""
        balancers: dict[Key, dict[Key | Unknown, None]] = defaultdict(dict)
        listeners: dict[Key, dict[Key, Listener]] = defaultdict(dict)
        missing = Unknown("the listener is not in the templates given")
        for listener, groups in self.forwards:
            balancer = self.listener_balancer.get(listener, missing) if type(listener) is tuple else listener
            found = self.listeners.get(listener) if type(listener) is tuple else None
            for group in groups:
                balancers[group][balancer] = None
                if found is not None:
                    listeners[group][found.origin.key] = found
        return {
            key: TargetGroup(
                origin,
                kind,
                health,
                port,
                protocol,
                tuple(balancers[key]) if key in balancers else (),
                tuple(listeners[key].values()) if key in listeners else (),
                *self.target_group_extras[key],
            )
            for key, origin, kind, health, port, protocol in self.target_groups
        }

    def _forwarded_groups(self, resolver: Resolver, actions: Any) -> list[Key]:
        found = []
        items = resolver.list_of(actions)
        for action in items if type(items) is list else ():
            if type(action) is not dict:
                action = resolver.value(action)
                if type(action) is not dict:
                    continue
            nodes = [action.get("TargetGroupArn")]
            forward = action.get("ForwardConfig")
            if forward is not None:
                groups = resolver.list_of(mapping_of(resolver.value(forward)).get("TargetGroups"))
                for entry in groups if type(groups) is list else ():
                    entry = resolver.value(entry)
                    if type(entry) is dict:
                        nodes.append(entry.get("TargetGroupArn"))
            for node in nodes:
                key = self.refs.target(resolver, node, "AWS::ElasticLoadBalancingV2::TargetGroup", "target group")
                if type(key) is tuple:
                    found.append(key)
        return found


def _preserve_client_ip(resolver: Resolver, node: Any) -> bool | Unknown | None:
    """The preserve_client_ip.enabled target group attribute; None when not set."""
    entries = resolver.list_of(node)
    if isinstance(entries, Unknown):
        return entries
    for entry in entries or ():
        entry = mapping_of(resolver.value(entry))
        if resolver.str_of(entry.get("Key")) == "preserve_client_ip.enabled":
            value = resolver.str_of(entry.get("Value"))
            return value if isinstance(value, Unknown) else str(value).lower() == "true"
    return None

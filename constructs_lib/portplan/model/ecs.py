"""The ECS family: clusters (and their capacity provider associations), capacity providers, task
definitions and services, with CloudFormation's and ECS's defaults filled in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from ..intrinsics import Key, Resolver, ResourceRef, Unknown, as_int, is_intrinsic
from .cluster_query import symbolic_text
from .entities import (
    FARGATE_PROVIDERS,
    CapacityProvider,
    Cluster,
    ContainerSize,
    LoadBalancerLink,
    Origin,
    Port,
    PortMapping,
    Service,
    StrategyItem,
    TaskDefinition,
    host_port_of,
)
from .resources import FamilyBuilder, References, Resources, keyword, mapping_of

_NETWORK_MODES = frozenset({"bridge", "host", "awsvpc", "none"})


class EcsBuilder(FamilyBuilder):
    """Reads AWS::ECS::* resources into clusters, capacity providers, task definitions and services."""

    reads = frozenset(
        {
            "AWS::ECS::CapacityProvider",
            "AWS::ECS::Cluster",
            "AWS::ECS::ClusterCapacityProviderAssociations",
            "AWS::ECS::Service",
            "AWS::ECS::TaskDefinition",
        }
    )
    named_by: ClassVar[dict[str, str]] = {
        "AWS::ECS::Cluster": "ClusterName",
        "AWS::ECS::CapacityProvider": "Name",
        "AWS::ECS::TaskDefinition": "Family",  # CODE_DEPLOY services name it by family (and revision)
    }

    def __init__(self, refs: References) -> None:
        super().__init__(refs)
        self.clusters: dict[Key, tuple[Origin, str | None, tuple[StrategyItem, ...] | Unknown | None]] = {}
        self.associated: dict[Key, tuple[StrategyItem, ...] | Unknown] = {}
        self.capacity_providers: dict[Key, CapacityProvider] = {}
        self.task_definitions: dict[Key, TaskDefinition] = {}
        self.services: dict[Key, Service] = {}

    def finish(self, fields: dict[str, Any]) -> None:
        fields["clusters"] = {
            key: Cluster(origin, name, self.associated.get(key) or strategy)
            for key, (origin, name, strategy) in self.clusters.items()
        }
        fields["capacity_providers"] = self.capacity_providers
        fields["task_definitions"] = self.task_definitions
        fields["services"] = self.services

    def add(self, raw: Resources) -> None:
        self._clusters(raw)
        self._capacity_providers(raw)
        self._task_definitions(raw)
        self._services(raw)

    def _clusters(self, raw: Resources) -> None:
        for item in self.each(raw, "AWS::ECS::ClusterCapacityProviderAssociations"):
            cluster = self.refs.target(item.resolver, item.props.get("Cluster"), "AWS::ECS::Cluster", "cluster")
            strategy = self._strategy(item.resolver, item.props.get("DefaultCapacityProviderStrategy"))
            if isinstance(cluster, tuple) and strategy is not None:
                self.associated.setdefault(cluster, strategy)
        for item in self.each(raw, "AWS::ECS::Cluster"):
            strategy = self._strategy(item.resolver, item.props.get("DefaultCapacityProviderStrategy"))
            name = item.resolver.value(item.props.get("ClusterName"))
            self.clusters[item.key] = (item.origin, name if isinstance(name, str) else None, strategy)

    def _capacity_providers(self, raw: Resources) -> None:
        for item in self.each(raw, "AWS::ECS::CapacityProvider"):
            resolver = item.resolver
            group = mapping_of(resolver.value(item.props.get("AutoScalingGroupProvider")))
            asg = self.refs.target(
                resolver, group.get("AutoScalingGroupArn"), "AWS::AutoScaling::AutoScalingGroup", "Auto Scaling group"
            )
            if asg is None:
                asg = Unknown(f"capacity provider {item.origin.label} names no Auto Scaling group")
            scaling = resolver.value(group.get("ManagedScaling"))
            managed: bool | Unknown
            if scaling is None:
                managed = False
            elif isinstance(scaling, dict):
                status = resolver.str_of(scaling.get("Status"))
                managed = status if isinstance(status, Unknown) else (status or "").upper() == "ENABLED"
            else:
                managed = scaling if isinstance(scaling, Unknown) else Unknown("malformed ManagedScaling")
            name = resolver.value(item.props.get("Name"))
            self.capacity_providers[item.key] = CapacityProvider(
                item.origin, name if isinstance(name, str) else None, asg, managed
            )


    def _task_definitions(self, raw: Resources) -> None:
        for item in self.each(raw, "AWS::ECS::TaskDefinition"):
            resolver, props = item.resolver, item.props
            doubts: list[str] = []
            mode = resolver.str_of(props.get("NetworkMode"))
            written = mode is not None
            if mode is None:
                mode = "bridge"
            elif type(mode) is str and mode not in _NETWORK_MODES:
                mode = Unknown(f"network mode {mode!r} is not one this check knows")
            if isinstance(mode, Unknown):
                doubts.append(f"its network mode is unknown ({mode.reason})")
            mappings: list[PortMapping] = []
            sizes: list[ContainerSize] = []
            sizes_doubt: str | None = None
            containers = resolver.list_of(props.get("ContainerDefinitions"))
            if isinstance(containers, Unknown):
                sizes_doubt = f"its container definitions are unknown ({containers.reason})"
                doubts.append(sizes_doubt)
                containers = None
            for index, container in enumerate(containers or ()):
                if type(container) is not dict or is_intrinsic(container):
                    container = resolver.mapping(container)
                    if type(container) is not dict:
                        why = f" ({container.reason})" if isinstance(container, Unknown) else ""
                        sizes_doubt = f"container definition {index + 1} cannot be read{why}"
                        doubts.append(sizes_doubt)
                        continue
                name = resolver.str_of(container.get("Name"))
                if type(name) is not str:
                    name = f"#{index + 1}"
                sizes.append(
                    ContainerSize(
                        name,
                        resolver.int_of(container.get("Cpu")),
                        resolver.int_of(container.get("Memory")),
                        resolver.int_of(container.get("MemoryReservation")),
                    )
                )
                entries = resolver.list_of(container.get("PortMappings"))
                if isinstance(entries, Unknown):
                    doubts.append(f"the port mappings of container {name} are unknown ({entries.reason})")
                    continue
                for entry in entries or ():
                    if type(entry) is not dict or is_intrinsic(entry):
                        entry = resolver.mapping(entry)
                        if type(entry) is not dict:
                            why = f" ({entry.reason})" if isinstance(entry, Unknown) else ""
                            doubts.append(f"a port mapping of container {name} cannot be read{why}")
                            continue
                    protocol = resolver.str_of(entry.get("Protocol"))
                    if protocol is None:
                        protocol = "tcp"
                    elif type(protocol) is str:
                        protocol = protocol.lower()
                        if protocol != "tcp" and protocol != "udp":
                            protocol = Unknown(f"protocol {protocol!r}")
                    invalid: list[str] = []
                    mappings.append(
                        PortMapping(
                            name,
                            _port(resolver, entry.get("ContainerPort"), "containerPort", invalid),
                            _port(resolver, entry.get("HostPort"), "hostPort", invalid),
                            protocol,
                            _port_range(resolver, entry.get("ContainerPortRange")),
                            tuple(invalid),
                        )
                    )
            static: set[Port] = set()
            for mapping in mappings:
                port = host_port_of(mode, mapping)
                if type(port) is int:
                    if 1 <= port <= 65535 and type(mapping.protocol) is str:
                        static.add((mapping.protocol, port))
                elif isinstance(port, Unknown) and not isinstance(mode, Unknown):
                    doubts.append(f"a host port of container {mapping.container} is unknown ({port.reason})")
            _, member_of = _placement_constraints(resolver, props.get("PlacementConstraints"))
            self.task_definitions[item.key] = TaskDefinition(
                item.origin,
                mode,
                tuple(mappings),
                frozenset(static),
                tuple(dict.fromkeys(doubts)) if doubts else (),
                member_of,
                written,
                _task_size(resolver, props.get("Cpu"), _VCPU, "Cpu"),
                _task_size(resolver, props.get("Memory"), _GB, "Memory"),
                tuple(sizes),
                sizes_doubt,
            )

    def _services(self, raw: Resources) -> None:
        no_cluster = Unknown("the service names no Cluster, so it runs on the account's default cluster")
        no_definition = Unknown("the service names no TaskDefinition")
        for item in self.each(raw, "AWS::ECS::Service"):
            resolver, props = item.resolver, item.props
            cluster = self.refs.target(resolver, props.get("Cluster"), "AWS::ECS::Cluster", "cluster") or no_cluster
            definition = (
                self.refs.target(resolver, props.get("TaskDefinition"), "AWS::ECS::TaskDefinition", "task definition")
                or no_definition
            )
            scheduling = keyword(resolver, props.get("SchedulingStrategy"), "REPLICA")
            if scheduling != "REPLICA" and scheduling != "DAEMON" and type(scheduling) is str:
                scheduling = Unknown(f"scheduling strategy {scheduling!r}")
            daemon = scheduling == "DAEMON"
            desired = resolver.int_of(props.get("DesiredCount"))
            created = self.refs.conditional.get(item.key)
            if created is not None:
                desired = created
            deployment = props.get("DeploymentConfiguration")
            if type(deployment) is not dict or is_intrinsic(deployment):
                deployment = mapping_of(resolver.mapping(deployment))
            minimum = resolver.int_of(deployment.get("MinimumHealthyPercent"))
            maximum = resolver.int_of(deployment.get("MaximumPercent"))
            if minimum is None:
                minimum = scheduling if isinstance(scheduling, Unknown) else (0 if daemon else 100)
            if maximum is None:
                maximum = scheduling if isinstance(scheduling, Unknown) else (100 if daemon else 200)
            controller = props.get("DeploymentController")
            controller = (
                "ECS"
                if controller is None
                else keyword(resolver, mapping_of(resolver.value(controller)).get("Type"), "ECS")
            )
            strategy = keyword(resolver, deployment.get("Strategy"), "ROLLING")
            rolling: bool | Unknown = controller == "ECS" and strategy == "ROLLING"
            if isinstance(strategy, Unknown):
                rolling = strategy
            if isinstance(controller, Unknown):
                rolling = controller
            kind: str | Unknown = strategy if controller == "ECS" else controller
            if isinstance(controller, Unknown):
                kind = controller
            distinct, member_of = _placement_constraints(resolver, props.get("PlacementConstraints"))
            links = props.get("LoadBalancers")
            self.services[item.key] = Service(
                item.origin,
                cluster,
                definition,
                scheduling,
                1 if desired is None else desired,
                keyword(resolver, props.get("LaunchType"), None),
                self._strategy(resolver, props.get("CapacityProviderStrategy")),
                minimum,
                maximum,
                rolling,
                () if links is None else tuple(self._load_balancer_links(resolver, links)),
                kind,
                distinct,
                member_of,
            )

    def _load_balancer_links(self, resolver: Resolver, node: Any) -> Iterable[LoadBalancerLink]:
        entries = resolver.list_of(node)
        if isinstance(entries, Unknown):
            yield LoadBalancerLink(None, None, entries)
            return
        for entry in entries or ():
            entry = resolver.mapping(entry)
            if isinstance(entry, Unknown):
                yield LoadBalancerLink(entry, entry, entry)
                continue
            if not isinstance(entry, dict):
                continue
            yield LoadBalancerLink(
                container_name=resolver.str_of(entry.get("ContainerName")),
                container_port=resolver.int_of(entry.get("ContainerPort")),
                target_group=self.refs.target(
                    resolver, entry.get("TargetGroupArn"), "AWS::ElasticLoadBalancingV2::TargetGroup", "target group"
                ),
            )

    # -- balancers and security groups --------------------------------------------------------------


    def _strategy(self, resolver: Resolver, node: Any) -> tuple[StrategyItem, ...] | Unknown | None:
        if node is None:
            return None
        items = resolver.list_of(node)
        if isinstance(items, Unknown):
            return items
        if not items:
            return None
        strategy = []
        for entry in items:
            entry = resolver.mapping(entry)
            if not isinstance(entry, dict):
                strategy.append(StrategyItem(Unknown("a malformed capacity provider strategy entry"), None, None))
                continue
            name = entry.get("CapacityProvider")
            if type(name) is dict and "Ref" not in name:
                name = resolver.value(name)  # an import or another function: resolve it once
            provider: Key | str | Unknown
            if type(name) is str and name in FARGATE_PROVIDERS:
                provider = name
            else:
                target = self.refs.target(resolver, name, "AWS::ECS::CapacityProvider", "capacity provider")
                provider = target if target is not None else Unknown("a strategy entry without CapacityProvider")
            strategy.append(
                StrategyItem(provider, resolver.int_of(entry.get("Base")), resolver.int_of(entry.get("Weight")))
            )
        return tuple(strategy)

    # -- ECS and capacity -------------------------------------------------------------------------


_VCPU = (re.compile(r"^\s*(\d+(?:\.\d+)?)\s*vcpu\s*$", re.IGNORECASE), 1024)
_GB = (re.compile(r"^\s*(\d+(?:\.\d+)?)\s*gb\s*$", re.IGNORECASE), 1024)


def _task_size(resolver: Resolver, node: Any, unit: tuple[re.Pattern[str], int], label: str) -> int | Unknown | None:
    """A task-level Cpu or Memory as ECS reads it: a number of CPU units (MiB), or "0.5 vCPU" ("2 GB")."""
    value = resolver.value(node)
    if value is None or isinstance(value, Unknown):
        return value
    if type(value) is int and not isinstance(value, bool):
        return value
    if type(value) is str:
        text = value.strip()
        if text.isdigit():
            return int(text)
        pattern, factor = unit
        match = pattern.match(text)
        if match:
            return int(float(match.group(1)) * factor)
    return Unknown(f"task-level {label} {value!r} is not a size ECS reads")


def _port(resolver: Resolver, node: Any, label: str, invalid: list[str]) -> int | Unknown | None:
    """A port number property; a literal that is no whole number (true, "80a", NaN) is noted in `invalid`."""
    if type(node) is int:
        return node
    value = resolver.value(node)
    port = as_int(value)
    if isinstance(port, Unknown) and not isinstance(value, (Unknown, ResourceRef)) and not is_intrinsic(value):
        invalid.append(f"{label} {value!r}, which is not a port number")
    return port


def _placement_constraints(resolver: Resolver, node: Any) -> tuple[bool, tuple[str | Unknown, ...]]:
    """Whether a distinctInstance constraint is among `node`'s, and the memberOf expressions (deploy-time
    values in them as symbols, see cluster_query); a constraint that cannot be read is an unknown expression."""
    entries = resolver.list_of(node)
    if entries is None:
        return False, ()
    if isinstance(entries, Unknown):
        return False, (Unknown(f"the placement constraints are unknown ({entries.reason})"),)
    distinct = False
    member_of: list[str | Unknown] = []
    for entry in entries:
        entry = mapping_of(resolver.mapping(entry))
        kind = resolver.str_of(entry.get("Type"))
        if kind == "distinctInstance":
            distinct = True
        elif kind == "memberOf":
            expression = entry.get("Expression")
            if expression is None:
                member_of.append(Unknown("a memberOf constraint has no Expression"))
            else:
                member_of.append(symbolic_text(resolver.parts(expression)))
        else:
            member_of.append(Unknown(f"placement constraint type {kind} is not one this check knows"))
    return distinct, tuple(member_of)


def _port_range(resolver: Resolver, node: Any) -> tuple[int, int] | Unknown | None:
    """A ContainerPortRange ("8000-8099") as (first, last); Unknown when it cannot be read."""
    if node is None:
        return None
    text = resolver.str_of(node)
    if not isinstance(text, str):
        return text if isinstance(text, Unknown) else None
    low, _, high = text.strip().partition("-")
    first, last = as_int(low), as_int(high if high else low)
    if isinstance(first, int) and isinstance(last, int):
        return (first, last)
    return Unknown(f"containerPortRange {text!r} is not a range of port numbers")

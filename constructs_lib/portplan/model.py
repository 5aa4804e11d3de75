"""The port plan's model: what the templates say about ECS capacity, tasks, services and networks.

`build_model` reads the resources of the types it models, once, and resolves references within
the templates given, across stacks too (`Fn::ImportValue` of another template's export). Whatever
the templates leave open stays an explicit `Unknown(reason)`; odd values never raise.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..ports import LINUX_DYNAMIC_PORT_RANGE
from .intrinsics import ExportTable, Key, Resolver, ResourceRef, Unknown, as_int, as_str
from .reader import LoadedTemplate

Count = int | Unknown
Port = tuple[str, int]
"""A host port: (protocol, number), protocol "tcp" or "udp"."""

DEFAULT_DYNAMIC_RANGE = LINUX_DYNAMIC_PORT_RANGE
"""Linux's ephemeral port range, which the agent uses unless ECS_DYNAMIC_HOST_PORT_RANGE pins one."""

FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})
_NETWORK_MODES = frozenset({"bridge", "host", "awsvpc", "none"})
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
_AGENT_SETTING = re.compile(
    r"(?<![A-Za-z0-9_])(ECS_CLUSTER|ECS_DYNAMIC_HOST_PORT_RANGE|ECS_RESERVED_PORTS_UDP|ECS_RESERVED_PORTS)"
    r"=[\"']?(\[[^\]]*\]|[^\s\"'>;|&]*)"
)
_TOKEN = re.compile("\x00(\\d+)\x00")
_PEER_PROPERTIES = {
    "in": ("SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId"),
    "out": ("DestinationSecurityGroupId", "DestinationSecurityGroupName", "DestinationPrefixListId"),
}


# -- model objects ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a model object comes from: its template, logical id and construct path."""

    template: str
    template_path: str
    logical_id: str
    path: str | None

    @property
    def key(self) -> Key:
        """The resource's identity across templates."""
        return (self.template, self.logical_id)

    @property
    def label(self) -> str:
        """How messages name the resource: its construct path (without a final /Resource), else its logical id."""
        if self.path:
            return self.path[: -len("/Resource")] if self.path.endswith("/Resource") else self.path
        return self.logical_id


@dataclass(frozen=True, slots=True)
class StrategyItem:
    """One entry of a capacity provider strategy.

    `provider` is a capacity provider of the templates (its key), a built-in name (FARGATE,
    FARGATE_SPOT), or unknown.
    """

    provider: Key | str | Unknown
    base: int | Unknown | None
    weight: int | Unknown | None


@dataclass(frozen=True, slots=True, eq=False)
class Cluster:
    """An AWS::ECS::Cluster; `default_strategy` is None when it has none (or an empty one)."""

    origin: Origin
    name: str | None
    default_strategy: tuple[StrategyItem, ...] | Unknown | None


@dataclass(frozen=True, slots=True, eq=False)
class CapacityProvider:
    """An AWS::ECS::CapacityProvider backed by an Auto Scaling group."""

    origin: Origin
    name: str | None
    auto_scaling_group: Key | Unknown
    managed_scaling: bool | Unknown


@dataclass(frozen=True, slots=True, eq=False)
class AutoScalingGroup:
    """An Auto Scaling group and what its launch template or configuration tells the ECS agent.

    `cluster` is the cluster its user data registers the instances with (ECS_CLUSTER): None when
    that is none of the clusters given. `dynamic_range` is the dynamic host port range in force,
    `reserved_tcp`/`reserved_udp` the extra ECS_RESERVED_PORTS(_UDP), `security_groups` the
    instances' security groups.
    """

    origin: Origin
    min_size: int | Unknown | None
    max_size: int | Unknown | None
    desired_capacity: int | Unknown | None
    cluster: Key | Unknown | None
    dynamic_range: tuple[int, int] | Unknown
    reserved_tcp: tuple[int, ...] | Unknown
    reserved_udp: tuple[int, ...] | Unknown
    security_groups: tuple[Key | Unknown, ...] | Unknown
    instance_types: tuple[str, ...]

    def instances(self, scaled: bool) -> Count:
        """Instances the group can have: MaxSize when managed scaling grows it, else DesiredCapacity, else MinSize."""
        if scaled:
            size = self.max_size
        else:
            size = self.desired_capacity if self.desired_capacity is not None else self.min_size
        if size is None:
            return Unknown(f"Auto Scaling group {self.origin.label} has no {'MaxSize' if scaled else 'MinSize'}")
        return size


@dataclass(frozen=True, slots=True, eq=False)
class PortMapping:
    """One entry of a container's PortMappings, as written."""

    container: str
    container_port: int | Unknown | None
    host_port: int | Unknown | None
    protocol: str | Unknown
    port_range: bool


@dataclass(frozen=True, slots=True, eq=False)
class TaskDefinition:
    """An AWS::ECS::TaskDefinition's network mode and port mappings.

    `static_ports` are the valid fixed host ports its tasks hold on an instance (bridge hostPort,
    host-mode containerPort); `doubts` say what of its ports the templates leave open.
    """

    origin: Origin
    network_mode: str | Unknown
    mappings: tuple[PortMapping, ...]
    static_ports: frozenset[Port]
    doubts: tuple[str, ...]

    def host_port(self, mapping: PortMapping) -> int | Unknown | None:
        """The host port `mapping` binds: a port, 0 when dynamic, None when it binds none on the host."""
        return _host_port(self.network_mode, mapping)


def _host_port(mode: str | Unknown, mapping: PortMapping) -> int | Unknown | None:
    if isinstance(mode, Unknown):
        return mode
    if mode in ("awsvpc", "none"):
        return None
    if mapping.port_range:
        return Unknown(f"container {mapping.container} maps a containerPortRange")
    if isinstance(mapping.protocol, Unknown):
        return mapping.protocol
    if mode == "host":
        port = mapping.container_port
        return Unknown(f"container {mapping.container} has no containerPort") if port is None else port
    return 0 if mapping.host_port is None else mapping.host_port


@dataclass(frozen=True, slots=True, eq=False)
class LoadBalancerLink:
    """One entry of a service's LoadBalancers: which container port a target group receives."""

    container_name: str | Unknown | None
    container_port: int | Unknown | None
    target_group: Key | Unknown | None


@dataclass(frozen=True, slots=True, eq=False)
class Service:
    """An AWS::ECS::Service with CloudFormation's and ECS's defaults filled in.

    `rolling` is True when ECS's own rolling deployment applies (ECS deployment controller,
    rolling strategy): the only kind the deadlock rule checks.
    """

    origin: Origin
    cluster: Key | Unknown
    task_definition: Key | Unknown
    scheduling: str | Unknown
    desired_count: int | Unknown
    launch_type: str | Unknown | None
    strategy: tuple[StrategyItem, ...] | Unknown | None
    minimum_healthy_percent: int | Unknown
    maximum_percent: int | Unknown
    rolling: bool | Unknown
    load_balancers: tuple[LoadBalancerLink, ...]

    @property
    def daemon(self) -> bool:
        """Whether the service places one task on every instance."""
        return self.scheduling == "DAEMON"


@dataclass(frozen=True, slots=True, eq=False)
class TargetGroup:
    """An ELBv2 target group and the balancers whose listeners forward to it."""

    origin: Origin
    target_type: str | Unknown
    health_check_port: str | Unknown
    port: int | Unknown | None
    protocol: str | Unknown | None
    load_balancers: tuple[Key | Unknown, ...]


@dataclass(frozen=True, slots=True, eq=False)
class LoadBalancer:
    """An ELBv2 load balancer; `security_groups` is None when the template gives none."""

    origin: Origin
    kind: str | Unknown
    security_groups: tuple[Key | Unknown, ...] | None


@dataclass(frozen=True, slots=True)
class Peer:
    """The other side of a security group rule.

    `group`: a security group of the templates. `vpc_wide`: 0.0.0.0/0 or the VPC's own CIDR, which
    holds every balancer and instance address. `doubt`: a peer whose reach cannot be decided (another
    CIDR, a prefix list, a group defined elsewhere). All empty: a peer that matches nothing here (IPv6).
    """

    group: Key | None = None
    vpc_wide: bool = False
    doubt: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class SecurityGroupRule:
    """One ingress or egress rule; `origin` is where it is written (the group or a standalone rule)."""

    origin: Origin
    protocol: str | Unknown
    from_port: int | Unknown | None
    to_port: int | Unknown | None
    peer: Peer


@dataclass(frozen=True, slots=True, eq=False)
class SecurityGroup:
    """An AWS::EC2::SecurityGroup with its inline and standalone rules.

    `allows_all_egress` is True when the group has no SecurityGroupEgress property: CloudFormation
    then keeps EC2's default allow-all outbound rule.
    """

    origin: Origin
    ingress: tuple[SecurityGroupRule, ...]
    egress: tuple[SecurityGroupRule, ...]
    allows_all_egress: bool


@dataclass(frozen=True, slots=True, eq=False)
class PoolMember:
    """An Auto Scaling group a service can place tasks on, and how many instances it counts there."""

    asg: Key
    instances: Count
    scaled: bool


@dataclass(frozen=True, slots=True, eq=False)
class Pool:
    """The EC2 capacity a service's tasks can land on.

    `doubts` say why the pool may hold instances that `members` do not show (a cluster or capacity
    provider defined elsewhere, an Auto Scaling group whose cluster is unknown).
    """

    cluster: Key | None
    members: tuple[PoolMember, ...]
    doubts: tuple[str, ...] = ()
    low: int = field(init=False)
    """Instances the pool certainly can have: the members whose size is known."""
    high: int | None = field(init=False)
    """Instances the pool can have at most; None when the templates do not bound it."""

    def __post_init__(self) -> None:
        low = sum(m.instances for m in self.members if isinstance(m.instances, int) and m.instances > 0)
        bounded = not self.doubts and not any(isinstance(m.instances, Unknown) for m in self.members)
        object.__setattr__(self, "low", low)  # derived once: the pool is frozen
        object.__setattr__(self, "high", low if bounded else None)

    def reasons(self) -> tuple[str, ...]:
        """Everything that leaves the pool's size open."""
        sizes = tuple(m.instances.reason for m in self.members if isinstance(m.instances, Unknown))
        return self.doubts + sizes


@dataclass(frozen=True, eq=False)
class PortPlan:
    """Everything the rules read, keyed by (template display name, logical id).

    `pools` holds the EC2 capacity of every service placed on EC2 (Fargate services have none);
    `landing` the Auto Scaling groups each task definition's tasks can land on, through its services.
    """

    template_paths: Mapping[str, str]
    clusters: Mapping[Key, Cluster] = field(default_factory=dict)
    capacity_providers: Mapping[Key, CapacityProvider] = field(default_factory=dict)
    auto_scaling_groups: Mapping[Key, AutoScalingGroup] = field(default_factory=dict)
    task_definitions: Mapping[Key, TaskDefinition] = field(default_factory=dict)
    services: Mapping[Key, Service] = field(default_factory=dict)
    target_groups: Mapping[Key, TargetGroup] = field(default_factory=dict)
    load_balancers: Mapping[Key, LoadBalancer] = field(default_factory=dict)
    security_groups: Mapping[Key, SecurityGroup] = field(default_factory=dict)
    pools: Mapping[Key, Pool] = field(default_factory=dict)
    landing: Mapping[Key, frozenset[Key]] = field(default_factory=dict)


# -- building ---------------------------------------------------------------------------------------


_READ_TYPES = frozenset(
    {
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::AutoScaling::LaunchConfiguration",
        "AWS::EC2::LaunchTemplate",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::VPC",
        "AWS::ECS::CapacityProvider",
        "AWS::ECS::Cluster",
        "AWS::ECS::ClusterCapacityProviderAssociations",
        "AWS::ECS::Service",
        "AWS::ECS::TaskDefinition",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
    }
)
"""The resource types the model reads; the rest of a template is never looked at."""

_NAME_PROPERTIES = {
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
    "AWS::ECS::CapacityProvider": "Name",
    "AWS::EC2::LaunchTemplate": "LaunchTemplateName",
    "AWS::AutoScaling::LaunchConfiguration": "LaunchConfigurationName",
    "AWS::EC2::SecurityGroup": "GroupName",
}
"""Types that other resources may name by a literal string, and the property that names them."""

_EMPTY: Mapping[str, Any] = {}


class TemplatesOutOfOrder(Exception):
    """Templates read one at a time referred to one that came later: read them all at once instead."""


class _Raw:
    """A resource of a type the model reads, as its template has it; its origin is made on demand."""

    __slots__ = ("resolver", "path", "logical_id", "resource", "props", "_origin")

    def __init__(self, resolver: Resolver, path: str, logical_id: str, resource: dict[str, Any]) -> None:
        self.resolver = resolver
        self.path = path
        self.logical_id = logical_id
        self.resource = resource
        properties = resource.get("Properties")
        self.props: Mapping[str, Any] = properties if type(properties) is dict else _EMPTY
        self._origin: Origin | None = None

    @property
    def key(self) -> Key:
        return (self.resolver.template, self.logical_id)

    @property
    def origin(self) -> Origin:
        if self._origin is None:
            metadata = self.resource.get("Metadata")
            path = metadata.get("aws:cdk:path") if type(metadata) is dict else None
            self._origin = Origin(
                self.resolver.template, self.path, self.logical_id, path if type(path) is str else None
            )
        return self._origin


def build_model(templates: Iterable[LoadedTemplate]) -> PortPlan:
    """Build the port plan of `templates`, resolving references across them.

    A sequence is read as a whole: references may point anywhere in it. Any other iterable is
    consumed one template at a time, each modelled and let go before the next is read, which keeps
    memory small; a template must then come after those it imports from (cloud assemblies list
    stacks that way), else TemplatesOutOfOrder is raised: read the templates as a sequence then.
    """
    builder = _Builder()
    try:
        if isinstance(templates, Sequence):
            for raw in [builder.index(template) for template in templates]:
                builder.add(raw)
        else:
            for template in templates:
                builder.add(builder.index(template))
            if builder.forward_references():
                raise TemplatesOutOfOrder("a template refers to one read after it")
        return builder.finish()
    finally:
        builder.exports.close()


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def _items(value: Any) -> list[Any]:
    """A list property's items; a lone mapping counts as a list of one."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


class _Builder:
    """Turns templates into model objects: `index` each template, `add` it, then `finish`.

    `index` registers what other templates may refer to (exports, named resources, launch
    templates); `add` models the template's own resources; `finish` joins what spans templates
    (default strategies from associations, listeners to target groups, standalone security group
    rules) and assigns the capacity pools.
    """

    def __init__(self) -> None:
        self.exports = ExportTable()
        self.template_paths: dict[str, str] = {}
        self.kinds: dict[str, Mapping[str, Any]] = {}  # template name -> logical id -> type
        self.names: dict[str, dict[str, Key]] = {kind: {} for kind in _NAME_PROPERTIES}
        self.missed_names: set[tuple[str, str]] = set()
        self.launch_sources: dict[Key, _Raw] = {}  # launch templates and configurations, by key
        self.clusters: dict[Key, tuple[Origin, str | None, tuple[StrategyItem, ...] | Unknown | None]] = {}
        self.associated: dict[Key, tuple[StrategyItem, ...] | Unknown] = {}
        self.capacity_providers: dict[Key, CapacityProvider] = {}
        self.auto_scaling_groups: dict[Key, AutoScalingGroup] = {}
        self.task_definitions: dict[Key, TaskDefinition] = {}
        self.services: dict[Key, Service] = {}
        self.load_balancers: dict[Key, LoadBalancer] = {}
        self.listener_balancer: dict[Key, Key | Unknown] = {}
        self.forwards: list[tuple[Key | Unknown, list[Key]]] = []  # (listener, target groups it forwards to)
        self.target_groups: list[tuple[Key, Origin, str | Unknown, str | Unknown, Any, Any]] = []
        self.security_groups: list[tuple[Key, Origin, list[SecurityGroupRule], list[SecurityGroupRule], bool]] = []
        self.standalone: dict[tuple[Key, str], list[SecurityGroupRule]] = defaultdict(list)

    # -- the three steps --------------------------------------------------------------------------

    def index(self, template: LoadedTemplate) -> dict[str, list[_Raw]]:
        """Register what other templates may refer to; return the template's resources by type."""
        resolver = Resolver(template.name, template.body, template.stack_name or template.name)
        self.exports.add(resolver, _mapping(template.body.get("Outputs")))
        self.template_paths[template.name] = template.path
        kinds: dict[str, Any] = {}
        raw: dict[str, list[_Raw]] = defaultdict(list)
        for logical_id, resource in resolver.resources.items():
            if type(resource) is dict:
                kind = kinds[logical_id] = resource.get("Type")
                if kind in _READ_TYPES:
                    raw[kind].append(_Raw(resolver, template.path, logical_id, resource))
        # The resolver needs only which resources exist and their types: let the template go.
        resolver.resources = self.kinds[template.name] = kinds
        for kind, name_property in _NAME_PROPERTIES.items():
            for item in raw.get(kind, ()):
                name = item.resolver.value(item.props.get(name_property))
                if isinstance(name, str):
                    self.names[kind].setdefault(name, item.key)
        for kind in ("AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration"):
            for item in raw.get(kind, ()):
                self.launch_sources[item.key] = item
        return raw

    def add(self, raw: Mapping[str, list[_Raw]]) -> None:
        """Model the resources of one indexed template."""
        self._clusters(raw)
        self._capacity_providers(raw)
        self._auto_scaling_groups(raw)
        self._task_definitions(raw)
        self._services(raw)
        self._balancers(raw)
        self._security_groups(raw)

    def forward_references(self) -> bool:
        """Whether a template looked for an export or a named resource that a later one defines."""
        if any(self.exports.defines(name) for name in self.exports.missed):
            return True
        return any(self._find(kind, name) is not None for kind, name in self.missed_names)

    def finish(self) -> PortPlan:
        """Join what spans templates and assign the capacity pools."""
        clusters = {
            key: Cluster(origin, name, self.associated.get(key) or strategy)
            for key, (origin, name, strategy) in self.clusters.items()
        }
        plan = PortPlan(
            template_paths=self.template_paths,
            clusters=clusters,
            capacity_providers=self.capacity_providers,
            auto_scaling_groups=self.auto_scaling_groups,
            task_definitions=self.task_definitions,
            services=self.services,
            target_groups=self._target_groups(),
            load_balancers=self.load_balancers,
            security_groups={
                key: SecurityGroup(
                    origin,
                    tuple(ingress + self.standalone.get((key, "in"), [])),
                    tuple(egress + self.standalone.get((key, "out"), [])),
                    allows_all_egress,
                )
                for key, origin, ingress, egress, allows_all_egress in self.security_groups
            },
        )
        from .pools import assign_pools  # pools read the plan built so far

        pools, landing = assign_pools(plan)
        return dataclasses.replace(plan, pools=pools, landing=landing)

    # -- references -------------------------------------------------------------------------------

    def _kind(self, key: Key) -> Any:
        """The CloudFormation type of a resource of the templates given."""
        return self.kinds.get(key[0], _EMPTY).get(key[1])

    def _named(self, kind: str, name: str) -> Key | None:
        """The resource of type `kind` a literal name (or ARN) designates, if the templates define it."""
        key = self._find(kind, name)
        if key is None:
            self.missed_names.add((kind, name))
        return key

    def _find(self, kind: str, name: str) -> Key | None:
        names = self.names[kind]
        key = names.get(name)
        if key is None and name.startswith("arn:"):
            key = names.get(name.rsplit("/", 1)[-1])
        return key

    def _target(self, resolver: Resolver, node: Any, kind: str, label: str) -> Key | Unknown | None:
        """Resolve `node` to a resource of CloudFormation type `kind` (`label` names it for users)."""
        if type(node) is dict and len(node) == 1:
            # Fast path for the common Ref / Fn::GetAtt to a resource of the same template.
            name = node.get("Ref")
            if name is None:
                attribute = node.get("Fn::GetAtt")
                name = attribute[0] if type(attribute) is list and len(attribute) == 2 else None
            if type(name) is str and resolver.resources.get(name) == kind:
                return (resolver.template, name)
        return self._resolved_target(resolver.value(node), kind, label)

    def _resolved_target(self, value: Any, kind: str, label: str) -> Key | Unknown | None:
        """`_target` for a value already resolved."""
        if value is None or isinstance(value, Unknown):
            return value
        if isinstance(value, ResourceRef):
            if self._kind(value.key) == kind:
                return value.key
            return Unknown(f"{value.logical_id} in {value.template} is not a {label}")
        if isinstance(value, str):
            key = self._named(kind, value) if kind in self.names else None
            if key is not None:
                return key
            return Unknown(f"{label} {value!r} is not defined in the templates given")
        return Unknown(f"a {type(value).__name__} where a {label} is expected")

    def _targets(self, resolver: Resolver, node: Any, kind: str, label: str) -> tuple[Key | Unknown, ...] | Unknown:
        items = resolver.list_of(node)
        if items is None:
            return ()
        if isinstance(items, Unknown):
            return items
        targets = (self._target(resolver, item, kind, label) for item in items)
        return tuple(t for t in targets if t is not None)

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
            entry = resolver.value(entry)
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
                target = self._target(resolver, name, "AWS::ECS::CapacityProvider", "capacity provider")
                provider = target if target is not None else Unknown("a strategy entry without CapacityProvider")
            strategy.append(
                StrategyItem(provider, resolver.int_of(entry.get("Base")), resolver.int_of(entry.get("Weight")))
            )
        return tuple(strategy)

    # -- ECS and capacity -------------------------------------------------------------------------

    def _clusters(self, raw: Mapping[str, list[_Raw]]) -> None:
        for item in raw.get("AWS::ECS::ClusterCapacityProviderAssociations", ()):
            cluster = self._target(item.resolver, item.props.get("Cluster"), "AWS::ECS::Cluster", "cluster")
            strategy = self._strategy(item.resolver, item.props.get("DefaultCapacityProviderStrategy"))
            if isinstance(cluster, tuple) and strategy is not None:
                self.associated.setdefault(cluster, strategy)
        for item in raw.get("AWS::ECS::Cluster", ()):
            strategy = self._strategy(item.resolver, item.props.get("DefaultCapacityProviderStrategy"))
            name = item.resolver.value(item.props.get("ClusterName"))
            self.clusters[item.key] = (item.origin, name if isinstance(name, str) else None, strategy)

    def _capacity_providers(self, raw: Mapping[str, list[_Raw]]) -> None:
        for item in raw.get("AWS::ECS::CapacityProvider", ()):
            resolver = item.resolver
            group = _mapping(resolver.value(item.props.get("AutoScalingGroupProvider")))
            asg = self._target(
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

    def _auto_scaling_groups(self, raw: Mapping[str, list[_Raw]]) -> None:
        for item in raw.get("AWS::AutoScaling::AutoScalingGroup", ()):
            resolver, props = item.resolver, item.props
            instance_types: list[Any] = []
            source: _Raw | Unknown | None = None
            user_data: Any = None
            security_groups: tuple[Key | Unknown, ...] | Unknown = ()
            mixed = _mapping(resolver.value(props.get("MixedInstancesPolicy")))
            mixed_template = _mapping(resolver.value(mixed.get("LaunchTemplate")))
            spec = resolver.value(props.get("LaunchTemplate"))
            if spec is None and mixed_template:
                spec = resolver.value(mixed_template.get("LaunchTemplateSpecification"))
                for override in _items(resolver.value(mixed_template.get("Overrides"))):
                    if isinstance(override, dict):
                        instance_types.append(resolver.value(override.get("InstanceType")))
            if isinstance(spec, dict):
                node = spec.get("LaunchTemplateId", spec.get("LaunchTemplateName"))
                found = self._target(resolver, node, "AWS::EC2::LaunchTemplate", "launch template")
                source = self.launch_sources[found] if isinstance(found, tuple) else found
                if isinstance(source, _Raw):
                    data = _mapping(source.resolver.value(source.props.get("LaunchTemplateData")))
                    instance_types.append(source.resolver.value(data.get("InstanceType")))
                    user_data = data.get("UserData")
                    security_groups = self._launch_template_groups(source.resolver, data)
            elif spec is not None:
                source = spec if isinstance(spec, Unknown) else Unknown("malformed LaunchTemplate")
            elif props.get("LaunchConfigurationName") is not None:
                found = self._target(
                    resolver,
                    props.get("LaunchConfigurationName"),
                    "AWS::AutoScaling::LaunchConfiguration",
                    "launch configuration",
                )
                source = self.launch_sources[found] if isinstance(found, tuple) else found
                if isinstance(source, _Raw):
                    instance_types.append(source.resolver.value(source.props.get("InstanceType")))
                    user_data = source.props.get("UserData")
                    security_groups = self._targets(
                        source.resolver, source.props.get("SecurityGroups"), "AWS::EC2::SecurityGroup", "security group"
                    )
            if isinstance(source, _Raw):
                settings = _agent_settings(source.resolver, user_data)
            else:
                reason = source or Unknown(f"Auto Scaling group {item.origin.label} has no launch template")
                settings = _AgentSettings(reason, reason, (), ())
                security_groups = reason
            self.auto_scaling_groups[item.key] = AutoScalingGroup(
                origin=item.origin,
                min_size=resolver.int_of(props.get("MinSize")),
                max_size=resolver.int_of(props.get("MaxSize")),
                desired_capacity=resolver.int_of(props.get("DesiredCapacity")),
                cluster=self._cluster_of(settings.cluster),
                dynamic_range=settings.dynamic_range,
                reserved_tcp=settings.reserved_tcp,
                reserved_udp=settings.reserved_udp,
                security_groups=security_groups,
                instance_types=tuple(t for t in instance_types if isinstance(t, str)),
            )

    def _launch_template_groups(
        self, resolver: Resolver, data: Mapping[str, Any]
    ) -> tuple[Key | Unknown, ...] | Unknown:
        groups: list[Key | Unknown] = []
        nodes = [data.get("SecurityGroupIds"), data.get("SecurityGroups")]
        for interface in _items(resolver.value(data.get("NetworkInterfaces"))):
            if isinstance(interface, dict):
                nodes.append(interface.get("Groups"))
        for node in nodes:
            found = self._targets(resolver, node, "AWS::EC2::SecurityGroup", "security group")
            if isinstance(found, Unknown):
                return found
            groups.extend(found)
        return tuple(dict.fromkeys(groups))

    def _cluster_of(self, named: ResourceRef | str | Unknown | None) -> Key | Unknown | None:
        if named is None or isinstance(named, Unknown):
            return named
        if isinstance(named, ResourceRef):
            if self._kind(named.key) == "AWS::ECS::Cluster":
                return named.key
            return Unknown(f"ECS_CLUSTER names {named.logical_id}, which is not a cluster")
        return self._named("AWS::ECS::Cluster", named)

    def _task_definitions(self, raw: Mapping[str, list[_Raw]]) -> None:
        for item in raw.get("AWS::ECS::TaskDefinition", ()):
            resolver, props = item.resolver, item.props
            doubts: list[str] = []
            mode = resolver.str_of(props.get("NetworkMode"))
            if mode is None:
                mode = "bridge"
            elif type(mode) is str and mode not in _NETWORK_MODES:
                mode = Unknown(f"network mode {mode!r} is not one this check knows")
            if isinstance(mode, Unknown):
                doubts.append(f"its network mode is unknown ({mode.reason})")
            mappings: list[PortMapping] = []
            containers = resolver.list_of(props.get("ContainerDefinitions"))
            if isinstance(containers, Unknown):
                doubts.append(f"its container definitions are unknown ({containers.reason})")
                containers = None
            for index, container in enumerate(containers or ()):
                if type(container) is not dict:
                    container = resolver.value(container)
                    if type(container) is not dict:
                        doubts.append(f"container definition {index + 1} cannot be read")
                        continue
                name = resolver.str_of(container.get("Name"))
                if type(name) is not str:
                    name = f"#{index + 1}"
                entries = resolver.list_of(container.get("PortMappings"))
                if isinstance(entries, Unknown):
                    doubts.append(f"the port mappings of container {name} are unknown ({entries.reason})")
                    continue
                for entry in entries or ():
                    if type(entry) is not dict:
                        entry = resolver.value(entry)
                        if type(entry) is not dict:
                            doubts.append(f"a port mapping of container {name} cannot be read")
                            continue
                    protocol = resolver.str_of(entry.get("Protocol"))
                    if protocol is None:
                        protocol = "tcp"
                    elif type(protocol) is str:
                        protocol = protocol.lower()
                        if protocol != "tcp" and protocol != "udp":
                            protocol = Unknown(f"protocol {protocol!r}")
                    mappings.append(
                        PortMapping(
                            name,
                            resolver.int_of(entry.get("ContainerPort")),
                            resolver.int_of(entry.get("HostPort")),
                            protocol,
                            entry.get("ContainerPortRange") is not None,
                        )
                    )
            static: set[Port] = set()
            for mapping in mappings:
                port = _host_port(mode, mapping)
                if type(port) is int:
                    if 1 <= port <= 65535 and type(mapping.protocol) is str:
                        static.add((mapping.protocol, port))
                elif isinstance(port, Unknown) and not isinstance(mode, Unknown):
                    doubts.append(f"a host port of container {mapping.container} is unknown ({port.reason})")
            self.task_definitions[item.key] = TaskDefinition(
                item.origin, mode, tuple(mappings), frozenset(static), tuple(dict.fromkeys(doubts)) if doubts else ()
            )

    def _services(self, raw: Mapping[str, list[_Raw]]) -> None:
        no_cluster = Unknown("the service names no Cluster, so it runs on the account's default cluster")
        no_definition = Unknown("the service names no TaskDefinition")
        for item in raw.get("AWS::ECS::Service", ()):
            resolver, props = item.resolver, item.props
            cluster = self._target(resolver, props.get("Cluster"), "AWS::ECS::Cluster", "cluster") or no_cluster
            definition = (
                self._target(resolver, props.get("TaskDefinition"), "AWS::ECS::TaskDefinition", "task definition")
                or no_definition
            )
            scheduling = _word(resolver, props.get("SchedulingStrategy"), "REPLICA")
            if scheduling != "REPLICA" and scheduling != "DAEMON" and type(scheduling) is str:
                scheduling = Unknown(f"scheduling strategy {scheduling!r}")
            daemon = scheduling == "DAEMON"
            desired = resolver.int_of(props.get("DesiredCount"))
            deployment = props.get("DeploymentConfiguration")
            if type(deployment) is not dict:
                deployment = _mapping(resolver.value(deployment))
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
                else _word(resolver, _mapping(resolver.value(controller)).get("Type"), "ECS")
            )
            strategy = _word(resolver, deployment.get("Strategy"), "ROLLING")
            rolling: bool | Unknown = controller == "ECS" and strategy == "ROLLING"
            if isinstance(strategy, Unknown):
                rolling = strategy
            if isinstance(controller, Unknown):
                rolling = controller
            links = props.get("LoadBalancers")
            self.services[item.key] = Service(
                item.origin,
                cluster,
                definition,
                scheduling,
                1 if desired is None else desired,
                _word(resolver, props.get("LaunchType"), None),
                self._strategy(resolver, props.get("CapacityProviderStrategy")),
                minimum,
                maximum,
                rolling,
                () if links is None else tuple(self._load_balancer_links(resolver, links)),
            )

    def _load_balancer_links(self, resolver: Resolver, node: Any) -> Iterable[LoadBalancerLink]:
        entries = resolver.list_of(node)
        if isinstance(entries, Unknown):
            yield LoadBalancerLink(None, None, entries)
            return
        for entry in entries or ():
            entry = resolver.value(entry)
            if not isinstance(entry, dict):
                continue
            yield LoadBalancerLink(
                container_name=resolver.str_of(entry.get("ContainerName")),
                container_port=resolver.int_of(entry.get("ContainerPort")),
                target_group=self._target(
                    resolver, entry.get("TargetGroupArn"), "AWS::ElasticLoadBalancingV2::TargetGroup", "target group"
                ),
            )

    # -- balancers and security groups --------------------------------------------------------------

    def _balancers(self, raw: Mapping[str, list[_Raw]]) -> None:
        for item in raw.get("AWS::ElasticLoadBalancingV2::LoadBalancer", ()):
            node = item.props.get("SecurityGroups")
            groups = (
                None
                if node is None
                else self._targets(item.resolver, node, "AWS::EC2::SecurityGroup", "security group")
            )
            self.load_balancers[item.key] = LoadBalancer(
                item.origin,
                _lower(item.resolver.value(item.props.get("Type")), "application"),
                (groups,) if isinstance(groups, Unknown) else groups,
            )
        for item in raw.get("AWS::ElasticLoadBalancingV2::Listener", ()):
            balancer = self._target(
                item.resolver,
                item.props.get("LoadBalancerArn"),
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "load balancer",
            )
            self.listener_balancer[item.key] = balancer or Unknown(
                f"listener {item.origin.label} names no load balancer"
            )
            self.forwards.append((item.key, self._forwarded_groups(item.resolver, item.props.get("DefaultActions"))))
        for item in raw.get("AWS::ElasticLoadBalancingV2::ListenerRule", ()):
            listener = self._target(
                item.resolver, item.props.get("ListenerArn"), "AWS::ElasticLoadBalancingV2::Listener", "listener"
            )
            self.forwards.append(
                (
                    listener or Unknown("a listener rule names no listener"),
                    self._forwarded_groups(item.resolver, item.props.get("Actions")),
                )
            )
        for item in raw.get("AWS::ElasticLoadBalancingV2::TargetGroup", ()):
            resolver, props = item.resolver, item.props
            health_port = resolver.str_of(props.get("HealthCheckPort"))
            self.target_groups.append(
                (
                    item.key,
                    item.origin,
                    _lower(resolver.value(props.get("TargetType")), "instance"),
                    "traffic-port" if health_port is None else health_port,
                    resolver.int_of(props.get("Port")),
                    resolver.str_of(props.get("Protocol")),
                )
            )

    def _target_groups(self) -> dict[Key, TargetGroup]:
        """Target groups, with the balancers whose listeners forward to them (from any template)."""
        balancers: dict[Key, dict[Key | Unknown, None]] = defaultdict(dict)
        missing = Unknown("the listener is not in the templates given")
        for listener, groups in self.forwards:
            balancer = self.listener_balancer.get(listener, missing) if type(listener) is tuple else listener
            for group in groups:
                balancers[group][balancer] = None
        return {
            key: TargetGroup(origin, kind, health, port, protocol, tuple(balancers[key]) if key in balancers else ())
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
                groups = resolver.list_of(_mapping(resolver.value(forward)).get("TargetGroups"))
                for entry in groups if type(groups) is list else ():
                    entry = resolver.value(entry)
                    if type(entry) is dict:
                        nodes.append(entry.get("TargetGroupArn"))
            for node in nodes:
                key = self._target(resolver, node, "AWS::ElasticLoadBalancingV2::TargetGroup", "target group")
                if type(key) is tuple:
                    found.append(key)
        return found

    def _security_groups(self, raw: Mapping[str, list[_Raw]]) -> None:
        for kind, direction in (("AWS::EC2::SecurityGroupIngress", "in"), ("AWS::EC2::SecurityGroupEgress", "out")):
            for item in raw.get(kind, ()):
                node = item.props.get("GroupId", item.props.get("GroupName"))
                group = self._target(item.resolver, node, "AWS::EC2::SecurityGroup", "security group")
                if isinstance(group, tuple):
                    self.standalone[(group, direction)].append(
                        self._rule(item.resolver, item.origin, item.props, direction)
                    )
        for item in raw.get("AWS::EC2::SecurityGroup", ()):
            resolver, origin = item.resolver, item.origin
            rules: dict[str, list[SecurityGroupRule]] = {}
            egress_node = resolver.value(item.props.get("SecurityGroupEgress"))
            for direction, name in (("in", "SecurityGroupIngress"), ("out", "SecurityGroupEgress")):
                entries = resolver.list_of(item.props.get(name))
                if isinstance(entries, Unknown):
                    rules[direction] = [SecurityGroupRule(origin, entries, None, None, Peer(doubt=entries.reason))]
                else:
                    rules[direction] = [
                        self._rule(resolver, origin, _mapping(resolver.value(entry)), direction)
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
                group = self._target(resolver, entry[name], "AWS::EC2::SecurityGroup", "security group")
                return Peer(group=group) if isinstance(group, tuple) else Peer(doubt=str(group))
        if entry.get("CidrIp") is not None:
            cidr = resolver.value(entry["CidrIp"])
            if cidr == "0.0.0.0/0":
                return Peer(vpc_wide=True)
            if (
                isinstance(cidr, ResourceRef)
                and cidr.attribute == "CidrBlock"
                and self._kind(cidr.key) == "AWS::EC2::VPC"
            ):
                return Peer(vpc_wide=True)
            return Peer(doubt=f"CIDR {cidr}" if isinstance(cidr, str) else str(as_str(cidr)))
        if entry.get(prefix_list) is not None:
            return Peer(doubt="a managed prefix list")
        return Peer()


def _word(resolver: Resolver, node: Any, default: str | None) -> Any:
    """A keyword property (SchedulingStrategy, LaunchType, ...) in upper case; `default` when absent."""
    if node is None:
        return default
    text = node if type(node) is str else as_str(resolver.value(node))
    if text is None:
        return default
    return text.upper() if type(text) is str else text


def _lower(value: Any, default: str) -> str | Unknown:
    text = as_str(value)
    if text is None:
        return default
    return text.lower() if isinstance(text, str) else text


# -- user data --------------------------------------------------------------------------------------


class _AgentSettings(NamedTuple):
    cluster: ResourceRef | str | Unknown | None
    dynamic_range: tuple[int, int] | Unknown
    reserved_tcp: tuple[int, ...] | Unknown
    reserved_udp: tuple[int, ...] | Unknown


def _agent_settings(resolver: Resolver, user_data: Any) -> _AgentSettings:
    """Read the ECS agent settings a launch template's user data writes (ecs.config lines)."""
    if user_data is None:
        return _AgentSettings(None, DEFAULT_DYNAMIC_RANGE, (), ())
    if isinstance(user_data, str):
        user_data = _decoded(user_data)  # a literal UserData is already base64-encoded
    parts = resolver.parts(user_data)
    if len(parts) == 1 and isinstance(parts[0], Unknown):
        unknown = Unknown(f"the user data is unknown ({parts[0].reason})")
        return _AgentSettings(unknown, unknown, (), ())
    tokens: list[ResourceRef | Unknown] = []
    chunks = []
    for part in parts:
        if isinstance(part, str):
            chunks.append(part)
        else:
            chunks.append(f"\x00{len(tokens)}\x00")
            tokens.append(part)
    settings = {name: value for name, value in _AGENT_SETTING.findall("".join(chunks))}
    cluster = _detokenized(settings["ECS_CLUSTER"], tokens, "ECS_CLUSTER") if "ECS_CLUSTER" in settings else None
    return _AgentSettings(
        cluster=cluster,
        dynamic_range=_port_range(settings.get("ECS_DYNAMIC_HOST_PORT_RANGE"), tokens),
        reserved_tcp=_port_list(settings.get("ECS_RESERVED_PORTS"), tokens, "ECS_RESERVED_PORTS"),
        reserved_udp=_port_list(settings.get("ECS_RESERVED_PORTS_UDP"), tokens, "ECS_RESERVED_PORTS_UDP"),
    )


def _decoded(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return text


def _detokenized(value: str, tokens: list[ResourceRef | Unknown], setting: str) -> ResourceRef | str | Unknown:
    if "\x00" not in value:
        return value
    match = _TOKEN.fullmatch(value)
    if match:
        return tokens[int(match.group(1))]
    return Unknown(f"{setting} is assembled from values known only at deployment")


def _port_range(value: str | None, tokens: list[ResourceRef | Unknown]) -> tuple[int, int] | Unknown:
    if value is None:
        return DEFAULT_DYNAMIC_RANGE
    text = _detokenized(value, tokens, "ECS_DYNAMIC_HOST_PORT_RANGE")
    if not isinstance(text, str):
        return text if isinstance(text, Unknown) else Unknown("ECS_DYNAMIC_HOST_PORT_RANGE is set at deployment")
    low, _, high = text.partition("-")
    low_port, high_port = as_int(low), as_int(high)
    if isinstance(low_port, int) and isinstance(high_port, int) and 1 <= low_port <= high_port <= 65535:
        return (low_port, high_port)
    return Unknown(f"ECS_DYNAMIC_HOST_PORT_RANGE={text} is not a port range")


def _port_list(value: str | None, tokens: list[ResourceRef | Unknown], setting: str) -> tuple[int, ...] | Unknown:
    if value is None:
        return ()
    if "\x00" in value or not value.startswith("["):
        return Unknown(f"{setting} is not a list of port numbers")
    ports = []
    for item in value.strip("[]").split(","):
        if not item.strip():
            continue
        port = as_int(item.strip().strip("\"'"))
        if not isinstance(port, int):
            return Unknown(f"{setting}={value} is not a list of port numbers")
        ports.append(port)
    return tuple(ports)

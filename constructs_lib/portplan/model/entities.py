"""The port plan's entities: what the templates say about ECS capacity, tasks, services and networks.

Plain frozen dataclasses, built by the resource-family builders of this package and read by the
rules. Whatever the templates leave open is an explicit `Unknown(reason)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ...ports import AGENT_DEFAULT_RESERVED_PORTS, LINUX_DYNAMIC_PORT_RANGE
from ..intrinsics import Assumption, Key, Unknown

Count = int | Unknown
Port = tuple[str, int]
"""A host port: (protocol, number), protocol "tcp" or "udp"."""

DEFAULT_DYNAMIC_RANGE = LINUX_DYNAMIC_PORT_RANGE
"""Linux's ephemeral port range, which the agent uses unless ECS_DYNAMIC_HOST_PORT_RANGE pins one."""

FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})
"""Capacity provider names that place tasks on Fargate, never on the templates' instances."""


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

    `cluster` is the cluster its user data registers the instances with (ECS_CLUSTER, else the
    cluster named default): None when that is none of the clusters given. `dynamic_range` is the
    dynamic host port range in force, `reserved_tcp`/`reserved_udp` the ports ECS_RESERVED_PORTS(_UDP)
    reserve instead of the agent's defaults (None: the defaults), `security_groups` the instances'
    security groups. `skipped` says why the user data sets nothing (cloud-init does not run it), and
    `meant_for` is then the cluster it names.
    """

    origin: Origin
    min_size: int | Unknown | None
    max_size: int | Unknown | None
    desired_capacity: int | Unknown | None
    cluster: Key | Unknown | None
    dynamic_range: tuple[int, int] | Unknown
    reserved_tcp: tuple[int, ...] | Unknown | None
    reserved_udp: tuple[int, ...] | Unknown | None
    security_groups: tuple[Key | Unknown, ...] | Unknown
    instance_types: tuple[str, ...]
    os_type: str = "linux"
    """"windows" when the instances start from an ECS-optimized Windows AMI (or run PowerShell user data)."""
    agent_reserved: tuple[int, ...] = AGENT_DEFAULT_RESERVED_PORTS
    """The tcp ports the agent reserves by default on the group's operating system (ECS_RESERVED_PORTS,
    when set, replaces them: see `reserved_tcp`)."""
    attributes: Mapping[str, str] | Unknown = field(default_factory=dict)
    """Custom container instance attributes the user data sets (ECS_INSTANCE_ATTRIBUTES)."""
    availability_zones: tuple[str, ...] | Unknown = Unknown("the template does not name them")
    """The Availability Zones its instances run in, when the template names them literally."""
    reserved_memory: int | Unknown = 0
    """ECS_RESERVED_MEMORY from its user data or cfn-init: MiB the agent keeps from tasks (0: unset)."""
    instance_types_doubt: str | None = None
    """Why the instance types may be other than `instance_types` (a type set at deployment)."""
    skipped: str | None = None
    meant_for: Key | None = None

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
    """One entry of a container's PortMappings, as written; `invalid` names the literal values that
    are no port numbers (`containerPort true`), which ECS rejects."""

    container: str
    container_port: int | Unknown | None
    host_port: int | Unknown | None
    protocol: str | Unknown
    port_range: tuple[int, int] | Unknown | None = None
    """The ContainerPortRange (first, last port) when the mapping has one, else None."""
    invalid: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class ContainerSize:
    """What one container definition asks of an instance: `cpu` units, `memory` (the hard limit, MiB)
    and `memory_reservation` (the soft limit, MiB); None where the definition leaves it out."""

    name: str
    cpu: int | Unknown | None
    memory: int | Unknown | None
    memory_reservation: int | Unknown | None


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
    member_of: tuple[str | Unknown, ...] = ()
    """The expressions of its memberOf placement constraints."""
    network_mode_written: bool = True
    """False when NetworkMode is left out: bridge on Linux, Windows' "default" (NAT, mapped like bridge)."""
    cpu: int | Unknown | None = None
    """The task-level Cpu in CPU units ("1 vCPU" is 1024); None when left out."""
    memory: int | Unknown | None = None
    """The task-level Memory in MiB ("1 GB" is 1024); None when left out."""
    containers: tuple[ContainerSize, ...] = ()
    """Each container's CPU and memory settings, in order."""
    sizes_doubt: str | None = None
    """Why its containers' sizes cannot all be read (the container definitions are unknown)."""

    def host_port(self, mapping: PortMapping) -> int | Unknown | None:
        """The host port `mapping` binds: a port, 0 when dynamic, None when it binds none on the host."""
        return host_port_of(self.network_mode, mapping)


def host_port_of(mode: str | Unknown, mapping: PortMapping) -> int | Unknown | None:
    """The host port `mapping` binds in network mode `mode` (see TaskDefinition.host_port)."""
    if isinstance(mode, Unknown):
        return mode
    if mode in ("awsvpc", "none"):
        return None
    if mapping.port_range is not None:
        # Bridge mode hands a range contiguous dynamic host ports; host mode rejects ranges (invalid-port).
        return 0 if mode == "bridge" else None
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
    deployment: str | Unknown = "ROLLING"
    """How ECS replaces its tasks: ROLLING, the native BLUE_GREEN, LINEAR or CANARY strategies,
    CODE_DEPLOY (the CodeDeploy controller) or EXTERNAL (task sets someone else manages)."""
    distinct_instance: bool = False
    """Whether a distinctInstance placement constraint allows one task per instance."""
    member_of: tuple[str | Unknown, ...] = ()
    """The expressions of its memberOf placement constraints (its task definition's come on top)."""

    @property
    def daemon(self) -> bool:
        """Whether the service places one task on every instance."""
        return self.scheduling == "DAEMON"

    @property
    def blue_green(self) -> bool:
        """Whether a deployment runs a whole new set of tasks beside the old one before it stops them."""
        return self.deployment in BLUE_GREEN_DEPLOYMENTS


BLUE_GREEN_DEPLOYMENTS = frozenset({"CODE_DEPLOY", "BLUE_GREEN", "LINEAR", "CANARY"})
"""Deployments whose new tasks all start beside the old ones: the CodeDeploy controller's, and ECS's
native blue/green, linear and canary strategies (traffic shifts gradually, the new tasks do not)."""


@dataclass(frozen=True, slots=True, eq=False)
class ScalableTarget:
    """An AWS::ApplicationAutoScaling::ScalableTarget on an ECS service's desired count.

    `service` is the service its ResourceId (`service/<cluster>/<service>`) names; `max_capacity` is
    the most tasks scaling can ask for: MaxCapacity, or more when a scheduled action raises it.
    """

    origin: Origin
    service: Key | Unknown
    min_capacity: int | Unknown | None
    max_capacity: int | Unknown | None


@dataclass(frozen=True, slots=True, eq=False)
class TargetGroup:
    """An ELBv2 target group and the balancers whose listeners forward to it."""

    origin: Origin
    target_type: str | Unknown
    health_check_port: str | Unknown
    port: int | Unknown | None
    protocol: str | Unknown | None
    load_balancers: tuple[Key | Unknown, ...]
    listeners: tuple[Listener, ...] = ()
    health_check_protocol: str | Unknown | None = None
    """As written (upper case); None: the default (the target group's protocol; TCP for UDP groups)."""
    preserve_client_ip: bool | Unknown | None = None
    """The preserve_client_ip.enabled attribute; None: the default (on for instance targets)."""


@dataclass(frozen=True, slots=True, eq=False)
class Listener:
    """A listener (or listener rule's listener) that forwards to a target group: its balancer, port, protocol."""

    origin: Origin
    load_balancer: Key | Unknown
    port: int | Unknown | None
    protocol: str | Unknown | None


@dataclass(frozen=True, slots=True, eq=False)
class LoadBalancer:
    """An ELBv2 load balancer; `security_groups` is None when the template gives none."""

    origin: Origin
    kind: str | Unknown
    security_groups: tuple[Key | Unknown, ...] | None
    scheme: str | Unknown = "internet-facing"


@dataclass(frozen=True, slots=True)
class Peer:
    """The other side of a security group rule.

    `group`: a security group of the templates. `vpc_wide`: 0.0.0.0/0 or the VPC's own CIDR, which
    holds every balancer and instance address; `anywhere`: 0.0.0.0/0 itself, every IPv4 client.
    `doubt`: a peer whose reach cannot be decided (another CIDR, a prefix list, a group defined
    elsewhere). All empty: a peer that matches nothing here (IPv6).
    """

    group: Key | None = None
    vpc_wide: bool = False
    doubt: str | None = None
    anywhere: bool = False


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
    excluded: tuple[Key, ...] = ()
    """Auto Scaling groups the service could land on but its memberOf placement constraints rule out."""
    constraints: tuple[str, ...] = ()
    """Its memberOf expressions, as messages show them."""
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

    `pools` holds the EC2 capacity of every service placed on EC2 (Fargate services have none),
    narrowed by its memberOf placement constraints; `landing` the Auto Scaling groups each task
    definition's tasks can land on, through its services.
    `assumptions` holds the parameter defaults each resource's values rest on; `remedies` how to
    supply an unknown, by its reason; `conditional` the resources whose Condition is unknown;
    `unlinked_stacks` the nested stacks whose template is not read, and why.
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
    scalable_targets: Mapping[Key, ScalableTarget] = field(default_factory=dict)
    scaling: Mapping[Key, ScalableTarget] = field(default_factory=dict)
    """The scalable target of each service that has one, by service key."""
    assumptions: Mapping[Key, frozenset[Assumption]] = field(default_factory=dict)
    remedies: Mapping[str, str] = field(default_factory=dict)
    conditional: Mapping[Key, Unknown] = field(default_factory=dict)
    unlinked_stacks: tuple[tuple[Origin, Unknown], ...] = ()

"""The port plan as a table: per cluster its capacity, and per service how many tasks fit.

`build_plan` turns a `PortPlan` into plain data (the CLI's `plan --format json`); the renderers
turn that data into a table a person reads (`text`) or pastes into a pull request (`markdown`).

`fits` is how many of a service's tasks can run at once, given everything else that holds the
same host ports: the other services at their desired counts (when those cannot all run, the worst
case beside the largest sets of their tasks that can: see rules.contention) and the DAEMON services
on every instance. It comes from the same capacity pools and the same exact placement as the
`static-port-overcommit` rule, so a service is over (desired > fits) exactly when that rule
reports it. It is None when nothing bounds it (only dynamic host ports, or none on the instance)
and when the templates leave it open (capacity, or a competing service's count, unknown).

A service that auto scaling moves shows its range (`scaling`, `2..10` in the tables) and
`fits_at_max`, the same count with every scaling service at its maximum; it is `OVER AT MAX` exactly
when `check` reports it under `scaling-port-overcommit`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from ._gc import paused_gc
from .intrinsics import Key, Unknown
from .model import DEFAULT_DYNAMIC_RANGE, AutoScalingGroup, Pool, PortPlan, Service, TemplatesOutOfOrder, build_model
from .parameters import ParameterValues
from .reader import LoadedTemplate, iter_templates, load_templates
from .rules.contention import Contention, Fit, contention_groups
from .rules.facts import (  # the rules' own view of static ports and constraints
    PlacedService,
    definition_of,
    distinct_services,
    peak_count,
    static_port_facts,
)
from .rules.resource_facts import PORTS, ask_for, offer_for, resource_facts, resource_fits
from .rules.scaling_port_overcommit import overcommitted_at_maximum
from .sizing import Offer

Port = tuple[str, int]

DYNAMIC = "dynamic"
"""The `host` of a port mapping whose host port the ECS agent picks."""
UNKNOWN = "unknown"
"""The `host` of a port mapping whose host port the templates leave open (network mode or hostPort
unknown): it may be a static port that bounds the tasks."""


# -- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """A balancer listener as its template writes it: port and protocol when literal, else None."""

    key: Key
    port: int | None
    protocol: str | None


@dataclass(frozen=True)
class Sources:
    """What the plan and the diagram show beyond the model: stack names, and which listener forwards
    to which target group (the model keeps the balancer, not the listener's port)."""

    stacks: Mapping[str, str] = field(default_factory=dict)
    listeners: Mapping[Key, tuple[Listener, ...]] = field(default_factory=dict)


def read_plan(paths: Sequence[str], parameters: Sequence[str] = ()) -> tuple[PortPlan, Sources]:
    """Read the templates under `paths` (as `plan_paths` does, with the same `parameters`) and
    build their port plan.

    Raises PortPlanInputError (a one-line message naming the file or value) for input that cannot be read.
    """
    with paused_gc():
        collector = _Collector()
        try:
            plan = build_model(collector.tap(iter_templates(paths)), ParameterValues.parse(parameters))
        except TemplatesOutOfOrder:
            collector = _Collector()
            plan = build_model(list(collector.tap(iter(load_templates(paths)))), ParameterValues.parse(parameters))
        return plan, collector.sources()


class _Collector:
    """Notes each template's stack name and listeners as the model reads it."""

    def __init__(self) -> None:
        self.stacks: dict[str, str] = {}
        self.listeners: dict[Key, list[Listener]] = defaultdict(list)

    def tap(self, templates: Iterator[LoadedTemplate]) -> Iterator[LoadedTemplate]:
        for template in templates:
            self.stacks[template.name] = template.stack_name or template.name
            self._listeners(template)
            yield template

    def sources(self) -> Sources:
        return Sources(dict(self.stacks), {k: tuple(v) for k, v in self.listeners.items()})

    def _listeners(self, template: LoadedTemplate) -> None:
        resources = template.body.get("Resources")
        if not isinstance(resources, dict):
            return
        found: dict[str, Listener] = {}
        rules: list[tuple[Any, Any]] = []
        for logical_id, resource in resources.items():
            if not isinstance(resource, dict):
                continue
            props = resource.get("Properties")
            props = props if isinstance(props, dict) else {}
            if resource.get("Type") == "AWS::ElasticLoadBalancingV2::Listener":
                port = props.get("Port")
                number = int(port) if isinstance(port, (int, str)) and str(port).isdigit() else None
                protocol = props.get("Protocol")
                listener = Listener(
                    (template.name, logical_id), number, protocol if isinstance(protocol, str) else None
                )
                found[logical_id] = listener
                for group in _forwarded(props.get("DefaultActions")):
                    self.listeners[(template.name, group)].append(listener)
            elif resource.get("Type") == "AWS::ElasticLoadBalancingV2::ListenerRule":
                rules.append((props.get("ListenerArn"), props.get("Actions")))
        for arn, actions in rules:
            owner = found.get(_ref(arn) or "")
            if owner is not None:
                for group in _forwarded(actions):
                    if owner not in self.listeners[(template.name, group)]:
                        self.listeners[(template.name, group)].append(owner)


def _ref(node: Any) -> str | None:
    """The logical id a same-template Ref names, else None."""
    target = node.get("Ref") if isinstance(node, dict) else None
    return target if isinstance(target, str) else None


def _forwarded(actions: Any) -> Iterator[str]:
    """Target groups (same-template logical ids) that listener actions forward to."""
    for action in actions if isinstance(actions, list) else ():
        if not isinstance(action, dict):
            continue
        nodes = [action.get("TargetGroupArn")]
        forward = action.get("ForwardConfig")
        if isinstance(forward, dict) and isinstance(forward.get("TargetGroups"), list):
            nodes += [g.get("TargetGroupArn") for g in forward["TargetGroups"] if isinstance(g, dict)]
        for node in nodes:
            logical_id = _ref(node)
            if logical_id is not None:
                yield logical_id


# -- fits ---------------------------------------------------------------------------------------------


def compute_fits(plan: PortPlan, at_maximum: bool = False) -> dict[Key, int | None]:
    """How many tasks of each service can run at once (None: unbounded, unknown, or not decided
    within the placement budget), by service key; `at_maximum`: with every service that auto
    scaling moves at its maximum."""
    return {key: fit.exact if isinstance(fit, Fit) else fit for key, fit in compute_fit_bounds(plan, at_maximum).items()}


def compute_fit_bounds(plan: PortPlan, at_maximum: bool = False) -> dict[Key, Fit | int | None]:
    """`compute_fits` with the bounds where the placement budget left the number open: an int when
    exact, a `Fit` (at least `low`, at most `high`) when not, None when unbounded or unknown."""
    facts = static_port_facts(plan)
    fits: dict[Key, Fit | int | None] = {key: None for key in plan.services}
    holders = facts.holders
    for item in facts.placed:
        if item.service.daemon:
            fits[item.key] = _daemon_fits(item, holders)
    counts = None
    if at_maximum:
        counts = {i.key: peak_count(plan, i.service) for i in facts.placed if not i.service.daemon}
    for group in contention_groups(plan, counts):
        fits.update(_group_fits(group))
    for key, pool in plan.pools.items():
        if not pool.members and pool.excluded and not pool.doubts and not plan.services[key].daemon:
            fits[key] = 0  # memberOf rules out every instance (placement-constraint-overcommit)
    for item in distinct_services(plan):
        if item.pool.members or not item.pool.excluded:
            fits[item.key] = item.pool.high  # one task per instance, and no other service competes
    return fits


@dataclass(frozen=True)
class Fits:
    """How many tasks of a service fit by ports, CPU, memory and ENIs together: at least `low`, at most
    `high`, and what binds (`by`: "ports", "distinctInstance", "CPU", "memory", "ENIs")."""

    low: int
    high: int
    by: str


def resource_fit_bounds(plan: PortPlan, at_maximum: bool = False) -> dict[Key, Fits]:
    """Per service whose tasks something bounds, how many fit: the ports' count (`compute_fit_bounds`)
    and the CPU, memory and ENIs' (rules.resource_facts), whichever is lower binding; the overcommit
    rules read the same numbers. Services nothing bounds (or whose bound is unknown) are left out."""
    found: dict[Key, Fits] = {}
    ports = compute_fit_bounds(plan, at_maximum)
    resources = resource_fits(plan, at_maximum)
    for key in plan.services:
        port = ports.get(key)
        resource = resources.get(key)
        bounds: list[tuple[int, int, str]] = []
        if isinstance(port, Fit):
            bounds.append((port.low, port.high, PORTS))
        elif isinstance(port, int):
            bounds.append((port, port, PORTS))
        elif _port_bounded(plan, key):
            continue  # a port bound the templates leave open: unknown, whatever the resources say
        if resource is not None:
            bounds.append((resource.low, resource.high, resource.binding))
        if bounds:
            _, high, by = min(bounds, key=lambda b: (b[1], b[2] != PORTS))  # a tie names the ports
            if by == PORTS and not _static(plan, key):
                by = "distinctInstance"  # one task per instance, whatever its ports
            found[key] = Fits(min(b[0] for b in bounds), high, by)
    return found


def _static(plan: PortPlan, key: Key) -> bool:
    """Whether the service's task definition holds a static host port."""
    definition = definition_of(plan, plan.services[key])
    return definition is not None and bool(definition.static_ports)


def _port_bounded(plan: PortPlan, key: Key) -> bool:
    """Whether static ports (or distinctInstance, or ports left open) bound the service, so an unknown
    port count leaves it open."""
    definition = definition_of(plan, plan.services[key])
    return plan.services[key].distinct_instance or (
        definition is not None and bool(definition.static_ports or definition.doubts)
    )


def _daemon_fits(item: PlacedService, holders: Mapping[tuple[Key, Port], list[PlacedService]]) -> int | None:
    """A daemon runs on every instance of its pool but those where another daemon holds its port."""
    if item.pool.high is None:
        return None
    total = 0
    for member in item.pool.members:
        assert isinstance(member.instances, int)  # a bounded pool has known sizes
        taken = any(d.key != item.key for p in item.ports for d in holders.get((member.asg, p), ()))
        if not taken:
            total += max(member.instances, 0)
    return total


def _group_fits(group: Contention) -> Iterator[tuple[Key, Fit | int | None]]:
    """Replica services that compete for ports: each one's largest count that fits beside whatever of
    the others' tasks can run at the group's counts (see rules.contention), the number the overcommit
    rules compare with the count, read from the same verdicts."""
    for item in group.items:
        fit = group.room(item.key)
        yield item.key, fit.exact if fit is not None and fit.exact is not None else fit


# -- the plan as data -----------------------------------------------------------------------------------


def build_plan(plan: PortPlan, stacks: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The plan as the CLI's JSON prints it.

    `stacks` maps a template's display name to its stack name (`read_plan` gives it); without it,
    the stack is the template's file name without its suffixes.
    """
    fits = resource_fit_bounds(plan)
    scaled: set[Key] = set()
    fits_at_max: dict[Key, Fits] = {}
    if plan.scaling:
        fits_at_max = resource_fit_bounds(plan, at_maximum=True)
        scaled = set(overcommitted_at_maximum(plan))
        for item in distinct_services(plan):  # placement-constraint-overcommit at the maximum
            most, room = peak_count(plan, item.service), fits.get(item.key)
            if isinstance(most, int) and room is not None and room.low == room.high and most > room.high:
                scaled.add(item.key)
        for key, fit in resource_fits(plan, at_maximum=True).items():  # resource-overcommit at the maximum
            most = peak_count(plan, plan.services[key])
            if isinstance(most, int) and fit.binding != PORTS and most > fit.high:
                scaled.add(key)
    # Services by cluster; those whose cluster is not in the templates, by template.
    by_cluster: dict[tuple[Key | None, str], list[Service]] = defaultdict(list)
    for key, found in plan.clusters.items():
        by_cluster[(key, found.origin.template)] = []
    for service in plan.services.values():
        home = service.cluster
        if isinstance(home, tuple) and home in plan.clusters:
            by_cluster[(home, plan.clusters[home].origin.template)].append(service)
        else:
            by_cluster[(None, service.origin.template)].append(service)
    entries = []
    for (cluster, template), services in by_cluster.items():
        services.sort(key=lambda s: (s.origin.template, s.origin.path or "", s.origin.logical_id))
        groups = cluster_groups(plan, cluster) if cluster is not None else []
        entries.append(
            {
                "id": cluster[1] if cluster is not None else None,
                "stack": _stack(template, stacks),
                "capacity": _capacity(plan, cluster, groups),
                "offers": _offers(plan, groups),
                "dynamic_range": _dynamic_range(groups),
                "services": [
                    _service(
                        plan, s, fits.get(s.origin.key), fits_at_max.get(s.origin.key), s.origin.key in scaled, stacks
                    )
                    for s in services
                ],
            }
        )
    entries.sort(key=lambda e: (e["id"] is None, e["stack"], e["id"] or ""))
    return {"clusters": entries}


class _ByCluster:
    """The plan's capacity pools, registered Auto Scaling groups and service strategies by cluster,
    indexed once per plan (asked for cluster by cluster, a scan of the whole plan each time would
    make the plan quadratic in the number of clusters)."""

    def __init__(self, plan: PortPlan) -> None:
        self.pools: dict[Key, list[Pool]] = defaultdict(list)
        seen: set[int] = set()
        for pool in plan.pools.values():  # services placed alike share one pool: each once
            if isinstance(pool.cluster, tuple) and id(pool) not in seen:
                seen.add(id(pool))
                self.pools[pool.cluster].append(pool)
        self.registered: dict[Key, list[Key]] = defaultdict(list)
        for key, group in plan.auto_scaling_groups.items():
            if isinstance(group.cluster, tuple):
                self.registered[group.cluster].append(key)
        self.strategies: dict[Key, list[Any]] = defaultdict(list)
        for service in plan.services.values():
            if isinstance(service.cluster, tuple):
                self.strategies[service.cluster].append(service.strategy)


_INDEX: WeakKeyDictionary[PortPlan, _ByCluster] = WeakKeyDictionary()


def _by_cluster(plan: PortPlan) -> _ByCluster:
    found = _INDEX.get(plan)
    if found is None:
        found = _INDEX[plan] = _ByCluster(plan)
    return found


def cluster_groups(plan: PortPlan, cluster: Key) -> list[AutoScalingGroup]:
    """The Auto Scaling groups whose instances join `cluster`: registered by their user data, or in
    the capacity pool of one of its services; in a stable order."""
    index = _by_cluster(plan)
    found: dict[Key, None] = dict.fromkeys(index.registered.get(cluster, ()))
    for pool in index.pools.get(cluster, ()):
        for member in pool.members:
            found[member.asg] = None
    return [plan.auto_scaling_groups[k] for k in sorted(found)]


def scaled_groups(plan: PortPlan, cluster: Key) -> dict[Key, bool]:
    """For each group of `cluster`: whether a service reaches it through managed scaling (MaxSize counts)."""
    scaled: dict[Key, bool] = {}
    for pool in _by_cluster(plan).pools.get(cluster, ()):
        for member in pool.members:
            scaled[member.asg] = scaled.get(member.asg, False) or member.scaled
    return scaled


def group_instances(plan: PortPlan, cluster: Key, group: AutoScalingGroup) -> int | None:
    """The most instances the port plan counts on `group` for `cluster`'s services (None: unknown)."""
    counts = [
        m.instances for p in _by_cluster(plan).pools.get(cluster, ()) for m in p.members if m.asg == group.origin.key
    ]
    if not counts:
        counts = [group.instances(False)]
    if any(isinstance(c, Unknown) for c in counts):
        return None
    return max(0, *(c for c in counts if isinstance(c, int)))


def _capacity(plan: PortPlan, cluster: Key | None, groups: list[AutoScalingGroup]) -> dict[str, Any]:
    """`instances_min`: what the groups run without scaling (DesiredCapacity, else MinSize);
    `instances_max`: the most the port plan counts on (MaxSize where managed scaling grows a group
    for the cluster's services). None where the templates leave it open."""
    if cluster is None or not groups:
        return {"instances_min": None, "instances_max": None, "managed_scaling": None, "instance_types": []}
    low: int | None = 0
    high: int | None = 0
    for group in groups:
        base = group.instances(False)
        low = low + max(base, 0) if low is not None and isinstance(base, int) else None
        most = group_instances(plan, cluster, group)
        high = high + most if high is not None and most is not None else None
    if any(p.doubts for p in _by_cluster(plan).pools.get(cluster, ())):
        high = None  # capacity the templates do not show may join
    return {
        "instances_min": low,
        "instances_max": high,
        "managed_scaling": _managed(plan, cluster) if cluster in plan.clusters else None,
        "instance_types": sorted({t for g in groups for t in g.instance_types}),
    }


def _managed(plan: PortPlan, cluster: Key) -> bool | None:
    """Whether a capacity provider the cluster's services use (or its default strategy names) scales."""
    providers: set[Key] = set()
    strategies = [*_by_cluster(plan).strategies.get(cluster, ()), plan.clusters[cluster].default_strategy]
    unknown = False
    for strategy in strategies:
        if isinstance(strategy, Unknown):
            unknown = True
        elif strategy is not None:
            for item in strategy:
                if isinstance(item.provider, tuple):
                    providers.add(item.provider)
                elif isinstance(item.provider, Unknown):
                    unknown = True
    states = [plan.capacity_providers[p].managed_scaling for p in sorted(providers) if p in plan.capacity_providers]
    if any(s is True for s in states):
        return True
    if unknown or any(isinstance(s, Unknown) for s in states):
        return None
    return False


def _dynamic_range(groups: list[AutoScalingGroup]) -> list[int] | None:
    ranges = {g.dynamic_range for g in groups}
    if not ranges:
        return list(DEFAULT_DYNAMIC_RANGE)
    if any(isinstance(r, Unknown) for r in ranges):
        return None
    known = [r for r in ranges if isinstance(r, tuple)]
    return [min(r[0] for r in known), max(r[1] for r in known)]


def _service(
    plan: PortPlan,
    service: Service,
    fits: Fits | None,
    fits_at_max: Fits | None = None,
    over_at_max: bool = False,
    stacks: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    definition = (
        plan.task_definitions.get(service.task_definition) if isinstance(service.task_definition, tuple) else None
    )
    mode = definition.network_mode if definition is not None else None
    landing = [plan.auto_scaling_groups[m.asg] for p in [plan.pools.get(service.origin.key)] if p for m in p.members]
    if definition is not None and not definition.network_mode_written and landing:
        if all(g.os_type == "windows" for g in landing):
            mode = "default"  # Windows' own mode when NetworkMode is left out; ports map as in bridge
    desired: int | None
    if service.daemon:
        pool = plan.pools.get(service.origin.key)
        desired = pool.high if pool is not None else None
    else:
        desired = service.desired_count if isinstance(service.desired_count, int) else None
    ports = []
    for mapping in definition.mappings if definition is not None else ():
        host = definition.host_port(mapping)  # type: ignore[union-attr]
        if isinstance(host, Unknown):
            shown: Any = UNKNOWN
        else:
            shown = DYNAMIC if host == 0 else (host if isinstance(host, int) else None)
        ports.append(
            {
                "container": mapping.container_port if isinstance(mapping.container_port, int) else None,
                "host": shown,
                "protocol": mapping.protocol if isinstance(mapping.protocol, str) else None,
            }
        )
    constraints = ["distinctInstance"] if service.distinct_instance else []
    pool = plan.pools.get(service.origin.key)
    constraints += [f"memberOf {e}" for e in pool.constraints] if pool is not None else []
    target = plan.scaling.get(service.origin.key)
    scaling = None
    if target is not None:
        low, high = target.min_capacity, target.max_capacity
        scaling = {"min": low if isinstance(low, int) else None, "max": high if isinstance(high, int) else None}
    if scaling is None:
        fits_at_max = None
    row: dict[str, Any] = {
        "id": service.origin.logical_id,
        "path": service.origin.path,
        "network_mode": mode if isinstance(mode, str) else None,
        "desired": desired,
        "scaling": scaling,
        "ports": ports,
        "ask": _ask(plan, service, definition),
        "fits": _exact(fits),
    }
    if fits is not None and fits.low != fits.high:
        row["fits_range"] = [fits.low, fits.high]
    row["fits_by"] = fits.by if fits is not None else None
    row["fits_at_max"] = _exact(fits_at_max)
    if fits_at_max is not None and fits_at_max.low != fits_at_max.high:
        row["fits_at_max_range"] = [fits_at_max.low, fits_at_max.high]
    row["fits_at_max_by"] = fits_at_max.by if fits_at_max is not None else None
    row.update(
        {
            "over_at_max": over_at_max,
            "placement_constraints": constraints,
            "stack": _stack(service.origin.template, stacks),
        }
    )
    return row


def _exact(fits: Fits | None) -> int | None:
    return fits.high if fits is not None and fits.low == fits.high else None


def _ask(plan: PortPlan, service: Service, definition: Any) -> dict[str, int] | None:
    """What each task reserves on an EC2 instance (None: on Fargate, or not known)."""
    if definition is None or service.origin.key not in plan.pools:
        return None
    ask = ask_for(resource_facts(plan), definition)
    if ask is None or isinstance(ask, Unknown):
        return None
    return {"cpu": ask.cpu, "memory_mib": ask.memory, "enis": ask.enis}


def _offers(plan: PortPlan, groups: list[AutoScalingGroup]) -> list[dict[str, Any]]:
    """What an instance of each group offers ECS (as the rules work it out), one entry per distinct offer."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    facts = resource_facts(plan)
    for group in groups:
        offer = offer_for(facts, group)
        if isinstance(offer, Offer):
            entry = {
                "instance_type": offer.label,
                "cpu": offer.cpu,
                "memory_mib": offer.memory,
                "awsvpc_enis": offer.enis,
            }
            found.setdefault(tuple(entry.values()), entry)
    return list(found.values())


def _stack(template: str, stacks: Mapping[str, str] | None) -> str:
    if stacks and template in stacks:
        return stacks[template]
    base = os.path.basename(template)
    for suffix in (".template.json", ".template.yaml", ".template.yml", ".json", ".yaml", ".yml", ".template"):
        if base.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base


# -- rendering ---------------------------------------------------------------------------------------------


def short_name(path: str | None, logical_id: str, stack: str) -> str:
    """How tables name a resource: its construct path without the stack, a final /Resource, and
    repeated segments (`Web/Service/Service/Service` reads `Web/Service`); else its logical id."""
    if not path:
        return logical_id
    parts = path.split("/")
    if len(parts) > 1 and parts[0] == stack:
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] == "Resource":
        parts = parts[:-1]
    collapsed = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
    return "/".join(collapsed)


def port_text(port: Mapping[str, Any]) -> str:
    """`8080:80/tcp`, `dyn:80/tcp`, `80/tcp` (no host port), `?` for what is unknown (`?:80/tcp`)."""
    container = "?" if port["container"] is None else str(port["container"])
    protocol = port["protocol"] or "?"
    host = port["host"]
    if host is None:
        return f"{container}/{protocol}"
    shown = {DYNAMIC: "dyn", UNKNOWN: "?"}.get(host, host) if isinstance(host, str) else host
    return f"{shown}:{container}/{protocol}"


def is_bounded(service: Mapping[str, Any]) -> bool:
    """Whether a fixed host port (or one the templates leave open), a distinctInstance constraint or
    the instances' CPU, memory and ENIs (for a task placed on EC2) can bound the service's tasks."""
    return (
        any(isinstance(p["host"], int) or p["host"] == UNKNOWN for p in service["ports"])
        or "distinctInstance" in service.get("placement_constraints", ())
        or service.get("ask") is not None
    )


def fits_at_most(service: Mapping[str, Any], at_maximum: bool = False) -> int | None:
    """The most tasks of the service that fit: `fits`, else the upper end of `fits_range` (present
    when the placement budget left the number open), else None; `at_maximum`: the same of
    `fits_at_max` and `fits_at_max_range`."""
    key = "fits_at_max" if at_maximum else "fits"
    if service.get(key) is not None:
        return service[key]  # type: ignore[no-any-return]
    bounds = service.get(f"{key}_range")
    return bounds[1] if bounds else None


def is_over(service: Mapping[str, Any]) -> bool:
    """Whether the service wants more tasks than fit (for certain: more than even the upper bound)."""
    desired, most = service["desired"], fits_at_most(service)
    return isinstance(desired, int) and isinstance(most, int) and desired > most


def desired_text(service: Mapping[str, Any]) -> str:
    """`2`, or `2 (2..10)` for a service that auto scaling moves; `?` for what is unknown."""
    text = "?" if service["desired"] is None else str(service["desired"])
    scaling = service.get("scaling")
    if scaling:
        low = "?" if scaling["min"] is None else scaling["min"]
        high = "?" if scaling["max"] is None else scaling["max"]
        text += f" ({low}..{high})"
    return text


def flag_text(service: Mapping[str, Any]) -> str:
    """`OVER` (desired > fits), `OVER AT MAX` (scaling-port-overcommit), else empty."""
    if is_over(service):
        return "OVER"
    return "OVER AT MAX" if service.get("over_at_max") else ""


def _fits_text(service: Mapping[str, Any]) -> str:
    """`12 (memory)`, `2 (ports)`, `2-8 (memory)` when the placement left it open, `?`, or `any`."""
    by = f" ({service['fits_by']})" if service.get("fits_by") else ""
    if service["fits"] is not None:
        return f"{service['fits']}{by}"
    bounds = service.get("fits_range")
    if bounds:
        return f"{bounds[0]}-{bounds[1]}{by}"
    return "?" if is_bounded(service) else "any"


def ask_text(service: Mapping[str, Any]) -> str:
    """`256/512`: the CPU units and MiB each task reserves on an instance (`+eni` for awsvpc); `-` off EC2
    or unknown."""
    ask = service.get("ask")
    if not ask:
        return "-"
    return f"{ask['cpu']}/{ask['memory_mib']}" + ("+eni" if ask["enis"] else "")


def offers_text(cluster: Mapping[str, Any]) -> str | None:
    """`t3.small: 2048 CPU units, 1996 MiB, 2 awsvpc ENIs per instance`, one clause per offer; None without."""
    offers = cluster.get("offers") or []
    if not offers:
        return None
    return "; ".join(
        f"{o['instance_type']}: {o['cpu']} CPU units, {o['memory_mib']} MiB, {o['awsvpc_enis']} awsvpc "
        f"ENI{'' if o['awsvpc_enis'] == 1 else 's'}"
        for o in offers
    ) + " per instance for tasks"


def _cluster_title(cluster: Mapping[str, Any]) -> str:
    name = cluster["id"] or "(cluster not in the templates given)"
    return f"cluster {name} (stack {cluster['stack']})"


def capacity_text(cluster: Mapping[str, Any]) -> str:
    """`2-4 instances, managed scaling, t3.small; dynamic range 32768-60999`."""
    capacity = cluster["capacity"]
    low, high = capacity["instances_min"], capacity["instances_max"]
    if low is None and high is None:
        count = "capacity unknown"
    elif high is None:
        count = f"at least {low} instances (the rest unknown)"
    elif low is None or low == high:
        count = f"{high} instance{'' if high == 1 else 's'}"
    else:
        count = f"{low}-{high} instances"
    parts = [count]
    managed = capacity["managed_scaling"]
    if managed is not None:
        parts.append("managed scaling" if managed else "no managed scaling")
    if capacity["instance_types"]:
        parts.append(", ".join(capacity["instance_types"]))
    text = ", ".join(parts)
    dynamic = cluster["dynamic_range"]
    text += f"; dynamic range {dynamic[0]}-{dynamic[1]}" if dynamic else "; dynamic range unknown"
    return text


def _rows(cluster: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for service in cluster["services"]:
        name = short_name(service["path"], service["id"], cluster["stack"])
        if not service["path"] and service.get("stack", cluster["stack"]) != cluster["stack"]:
            name = f"{service['stack']}/{name}"  # a service of another stack, without a construct path
        rows.append(
            [
                name,
                service["network_mode"] or "?",
                desired_text(service),
                " ".join(port_text(p) for p in service["ports"]) or "-",
                ask_text(service),
                _fits_text(service),
                flag_text(service),
            ]
        )
    return rows


def _notes(cluster: Mapping[str, Any]) -> list[str]:
    notes = []
    if any(s.get("fits_range") for s in cluster["services"]):
        notes.append(
            "a-b: at least a and at most b fit; the placement did not decide the number exactly (the bounds are sound)"
        )
    unknown = [s for s in cluster["services"] if s["fits"] is None and not s.get("fits_range") and is_bounded(s)]
    if not unknown:
        return notes
    if cluster["capacity"]["instances_max"] is None:
        return [*notes, "? capacity unknown: the templates do not bound the instances (run `check` for the reasons)"]
    return [*notes, "? not decidable from the templates given (run `check` for the reasons)"]


_HEADERS = ["SERVICE", "MODE", "DESIRED", "PORTS", "CPU/MiB", "FITS", ""]
_RIGHT = {2, 4, 5}


def render_plan_text(data: Mapping[str, Any]) -> str:
    """One block per cluster: a header line with capacity and range, then one row per service."""
    if not data["clusters"]:
        return "no ECS services or clusters in the templates given\n"
    blocks = []
    for cluster in data["clusters"]:
        lines = [f"{_cluster_title(cluster)}: {capacity_text(cluster)}"]
        offers = offers_text(cluster)
        if offers:
            lines.append(f"  offers {offers}")
        rows = _rows(cluster)
        if rows:
            table = [_HEADERS, *rows]
            widths = [max(len(r[i]) for r in table) for i in range(len(_HEADERS))]
            for row in table:
                cells = [c.rjust(w) if i in _RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
                lines.append(("  " + "  ".join(cells)).rstrip())
        else:
            lines.append("  (no services)")
        lines += ["  " + note for note in _notes(cluster)]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_plan_markdown(data: Mapping[str, Any]) -> str:
    """A heading per cluster and a pipe table of its services, to paste into a pull request."""
    if not data["clusters"]:
        return "_No ECS services or clusters in the templates given._\n"
    blocks = []
    for cluster in data["clusters"]:
        name = cluster["id"] or "(cluster not in the templates given)"
        lines = [
            f"### Cluster `{name}` (stack `{cluster['stack']}`)",
            "",
            f"Capacity: {capacity_text(cluster)}.",
            "",
        ]
        offers = offers_text(cluster)
        if offers:
            lines += [f"Offers {offers}.", ""]
        rows = _rows(cluster)
        if rows:
            lines.append("| service | mode | desired | ports | cpu/MiB | fits | |")
            lines.append("|---|---|--:|---|--:|--:|---|")
            for service, mode, desired, ports, ask, fits, flag in rows:
                ports_md = " ".join(f"`{p}`" for p in ports.split()) if ports != "-" else "-"
                flag_md = f"**{flag}**" if flag else ""
                lines.append(
                    f"| `{_cell(service)}` | {mode} | {desired} | {_cell(ports_md)} | {ask} | {fits} | {flag_md} |"
                )
        else:
            lines.append("_No services._")
        for note in _notes(cluster):
            lines += ["", note.replace("`check`", "`port-plan check`")]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def services_of(data: Mapping[str, Any]) -> Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(cluster, service) pairs of plan data."""
    for cluster in data["clusters"]:
        for service in cluster["services"]:
            yield cluster, service


__all__ = [
    "DYNAMIC",
    "UNKNOWN",
    "Listener",
    "Sources",
    "build_plan",
    "capacity_text",
    "cluster_groups",
    "compute_fit_bounds",
    "compute_fits",
    "fits_at_most",
    "group_instances",
    "port_text",
    "read_plan",
    "render_plan_markdown",
    "render_plan_text",
    "scaled_groups",
    "short_name",
]

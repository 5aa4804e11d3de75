"""The rule catalogue: small pure functions from the port plan to findings, and the RULES table.

Every check reads the model only, never raises on what the templates leave open, and reports an
`unverifiable` warning where a verdict would need what cannot be known.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from ..ports import AGENT_DEFAULT_RESERVED_PORTS, AGENT_RESERVED_PORTS
from .findings import ERROR, WARNING, Finding, ordered
from .intrinsics import Key, Unknown
from .model import (
    DEFAULT_DYNAMIC_RANGE,
    AutoScalingGroup,
    Origin,
    Pool,
    PortMapping,
    PortPlan,
    SecurityGroupRule,
    Service,
    TaskDefinition,
)
from .placement import Demand, Verdict, components, place
from .rollout import healthy_floor, stop_first_percent, task_ceiling

Port = tuple[str, int]

_RESERVED_TCP = frozenset(("tcp", port) for port in AGENT_RESERVED_PORTS)
RESERVED_PORT_LIMIT = 100
_PENDING = (
    'the tasks that do not fit stay PENDING (ECS: "unable to place a task because no container instance met '
    'all of its requirements ... already using a port required by your task", reason RESOURCE:PORTS; '
    'started by hand, Docker says "Bind for 0.0.0.0:{port} failed: port is already allocated")'
)


@dataclass(frozen=True)
class Rule:
    """One entry of the catalogue: a stable id, its severity, what it checks, why it matters, the fix."""

    id: str
    severity: str
    info: str
    why: str
    fix: str
    check: Callable[[PortPlan], Iterable[Finding]] | None = field(default=None, repr=False, compare=False)


class PlacedService:
    """A service with static host ports, its task definition and capacity pool."""

    __slots__ = ("service", "definition", "pool", "ports", "key")

    def __init__(self, service: Service, definition: TaskDefinition, pool: Pool) -> None:
        self.service = service
        self.definition = definition
        self.pool = pool
        self.ports = definition.static_ports
        self.key = service.origin.key


def _virtual(cluster: Key | None) -> tuple[str, Key | None]:
    """A placement class for capacity a pool may have beyond what the templates show."""
    return ("capacity not in the templates", cluster)


# -- helpers ----------------------------------------------------------------------------------------


def _finding(rule_id: str, origin: Origin, message: str, fix: str) -> Finding:
    return Finding(
        rule=rule_id,
        severity=RULES_BY_ID[rule_id].severity,
        template=origin.template,
        resource=origin.logical_id,
        path=origin.path,
        message=message,
        fix=fix,
        template_path=origin.template_path,
    )


def _unverifiable(
    origin: Origin,
    message: str,
    fix: str = "pass the templates that define the missing pieces too, or acknowledge this finding",
) -> Finding:
    return _finding("unverifiable", origin, message, fix)


def _port(port: Port) -> str:
    return f"{port[0]}/{port[1]}"


def _ports(ports: Iterable[Port]) -> str:
    return ", ".join(_port(p) for p in sorted(ports))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _names(labels: Iterable[str], limit: int = 3) -> str:
    labels = sorted(set(labels))
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _capacity(plan: PortPlan, groups: Iterable[Key]) -> str:
    """How messages name a set of Auto Scaling groups."""
    labels = {plan.auto_scaling_groups[key].origin.label for key in groups}
    return " + ".join(sorted(labels)) or "(none found)"


def _definition(plan: PortPlan, service: Service) -> TaskDefinition | None:
    key = service.task_definition
    return plan.task_definitions.get(key) if isinstance(key, tuple) else None


class _Facts:
    """What several rules derive from one plan, computed once.

    `placed`: services on EC2 capacity whose tasks hold static host ports (scheduling known);
    `undecided`: those whose scheduling strategy is unknown; `holders`: (Auto Scaling group, port) ->
    the DAEMON services holding it on every instance; `links`: (service, dynamically mapped
    container port, its target group) for every balanced service.
    """

    __slots__ = ("placed", "undecided", "holders", "links")

    def __init__(
        self,
        placed: list[PlacedService],
        undecided: list[PlacedService],
        holders: dict[tuple[Key, Port], list[PlacedService]],
        links: list[tuple[Service, PortMapping, Key | Unknown]],
    ) -> None:
        self.placed = placed
        self.undecided = undecided
        self.holders = holders
        self.links = links


_FACTS: WeakKeyDictionary[PortPlan, _Facts] = WeakKeyDictionary()


def static_port_facts(plan: PortPlan) -> _Facts:
    """Who holds which static host ports where, worked out once per plan; the plan command reads
    the same facts, so its numbers agree with the rules' verdicts."""
    found = _FACTS.get(plan)
    if found is None:
        placed: list[PlacedService] = []
        undecided: list[PlacedService] = []
        for key, pool in plan.pools.items():
            service = plan.services[key]
            definition = _definition(plan, service)
            if definition is not None and definition.static_ports:
                item = PlacedService(service, definition, pool)
                (undecided if isinstance(service.scheduling, Unknown) else placed).append(item)
        holders: dict[tuple[Key, Port], list[PlacedService]] = defaultdict(list)
        for item in placed:
            if item.service.daemon:
                for member in item.pool.members:
                    for port in item.ports:
                        holders[(member.asg, port)].append(item)
        found = _FACTS[plan] = _Facts(placed, undecided, dict(holders), list(_dynamic_links(plan)))
    return found


# -- static-port-overcommit -------------------------------------------------------------------------


def check_static_port_overcommit(plan: PortPlan) -> Iterator[Finding]:
    """More tasks need a host port on a pool than it has instances to offer (exact placement)."""
    facts = static_port_facts(plan)
    for item in facts.undecided:
        yield _unverifiable(
            item.service.origin,
            f"its scheduling strategy is unknown ({item.service.scheduling.reason}): "  # type: ignore[union-attr]
            "its host ports cannot be counted",
        )
    holders = facts.holders
    yield from _daemon_conflicts(plan, holders)
    classes: dict[int, frozenset[Hashable]] = {}  # pools are shared: their classes too
    wanted: dict[tuple[Hashable, Port], int] = defaultdict(int)
    replicas = []
    for item in facts.placed:
        if item.service.daemon:
            continue
        pool = item.pool
        found = classes.get(id(pool))
        if found is None:
            members: list[Hashable] = [m.asg for m in pool.members]
            if pool.doubts:
                members.append(_virtual(pool.cluster))
            found = classes[id(pool)] = frozenset(members)
        keys = [(c, p) for c in found for p in item.ports]
        for key in keys:
            wanted[key] += 1
        replicas.append((item, found, keys))
    demands = []
    by_key: dict[Hashable, PlacedService] = {}
    for item, found, keys in replicas:
        count, high = item.service.desired_count, item.pool.high
        alone = all(wanted[key] == 1 and key not in holders for key in keys)
        if alone and type(count) is int and high is not None and count <= high:
            continue  # one service alone on its ports, within a pool of known size
        demands.append(Demand(item.key, 0, item.ports, found))
        by_key[item.key] = item
    for group in components(demands):
        yield from _judge(plan, [by_key[d.name] for d in group], holders)


def _daemon_conflicts(plan: PortPlan, holders: dict[tuple[Key, Port], list[PlacedService]]) -> Iterator[Finding]:
    for (asg, port), daemons in sorted(holders.items()):
        if len(daemons) < 2:
            continue
        counts = [m.instances for d in daemons for m in d.pool.members if m.asg == asg]
        known = [c for c in counts if isinstance(c, int)]
        label = _capacity(plan, [asg])
        names = _names(d.service.origin.label for d in daemons)
        if known and max(known) <= 0 and len(known) == len(counts):
            continue
        for daemon in daemons:
            if len(known) < len(counts):
                yield _unverifiable(
                    daemon.service.origin,
                    f"daemon services {names} all need {_port(port)} on every instance of capacity {label}, "
                    "whose size is unknown",
                )
                continue
            yield _finding(
                "static-port-overcommit",
                daemon.service.origin,
                f"{len(daemons)} daemon services need {_port(port)} on every instance of capacity {label} "
                f"({names}): only one can hold it on an instance, so " + _PENDING.format(port=port[1]),
                "give all but one of the daemons another host port, or map it dynamically (hostPort 0)",
            )


def _judge(plan: PortPlan, group: list[PlacedService], holders: dict[tuple[Key, Port], list[PlacedService]]) -> Iterator[Finding]:
    """Decide one group of services that compete for ports: pessimistic, then optimistic scenario."""
    views: dict[Key, list[int | Unknown]] = defaultdict(list)
    for item in group:
        for member in item.pool.members:
            views[member.asg].append(member.instances)
    known_tasks = sum(max(i.service.desired_count, 0) for i in group if isinstance(i.service.desired_count, int))
    big = known_tasks + 1
    low: dict[Hashable, int] = {a: max([v for v in vs if isinstance(v, int)] + [0]) for a, vs in views.items()}
    high: dict[Hashable, int] = {
        a: big if any(isinstance(v, Unknown) for v in vs) else low[a] for a, vs in views.items()
    }
    blocked: dict[Hashable, frozenset[Port]] = {
        a: frozenset(p for item in group for p in item.ports if (a, p) in holders) for a in views
    }
    unknown_tasks = [i for i in group if isinstance(i.service.desired_count, Unknown)]
    doubtful = bool(unknown_tasks) or any(i.pool.doubts for i in group) or high != low

    def demands(optimistic: bool) -> list[Demand]:
        result = []
        for item in group:
            tasks = item.service.desired_count
            classes: list[Hashable] = [m.asg for m in item.pool.members]
            if optimistic and item.pool.doubts:
                classes.append(_virtual(item.pool.cluster))
            result.append(Demand(item.key, tasks if isinstance(tasks, int) else 0, item.ports, frozenset(classes)))
        return result

    pessimistic = None if unknown_tasks else place(demands(False), low, blocked)
    if pessimistic is not None and pessimistic.fits:
        return
    if doubtful:
        capacity: dict[Hashable, int] = dict(high)
        capacity.update({_virtual(i.pool.cluster): big for i in group if i.pool.doubts})
        verdict = place(demands(True), capacity, blocked)
    else:
        assert pessimistic is not None
        verdict, capacity = pessimistic, dict(low)
    if verdict.fits is False:
        yield from _overcommitted(plan, group, verdict, capacity, blocked, holders)
        return
    wanting = [i for i in group if isinstance(i.service.desired_count, Unknown) or i.service.desired_count > 0]
    ports = _ports(frozenset().union(*(i.ports for i in wanting))) if wanting else ""
    if verdict.fits is None or (pessimistic is not None and pessimistic.fits is None):
        for item in wanting:
            yield _unverifiable(
                item.service.origin,
                f"the placement search for the tasks needing {ports} ran out of its budget "
                f"(services {_names(i.service.origin.label for i in group)}): overcommit is not ruled out",
                "simplify the port plan (fewer shared static ports) or acknowledge this finding",
            )
        return
    reasons = [
        f"the desired count of {i.service.origin.label} is unknown ({i.service.desired_count.reason})"  # type: ignore[union-attr]
        for i in unknown_tasks
    ]
    for item in group:
        reasons.extend(item.pool.reasons())
    for item in wanting:
        yield _unverifiable(
            item.service.origin,
            f"cannot tell whether the tasks needing {ports} fit on their capacity: "
            + "; ".join(dict.fromkeys(reasons)),
            "pass the templates that define the missing pieces too, or acknowledge this finding",
        )


def _overcommitted(
    plan: PortPlan,
    group: list[PlacedService],
    verdict: Verdict,
    capacity: dict[Hashable, int],
    blocked: dict[Hashable, frozenset[Port]],
    holders: dict[tuple[Key, Port], list[PlacedService]],
) -> Iterator[Finding]:
    if verdict.port is not None:
        # Every port wanted by more tasks than instances offer it, not only the first one found.
        for port in sorted(frozenset().union(*(i.ports for i in group))):
            yield from _port_overcommitted(plan, group, port, capacity, blocked, holders)
        return
    wanting = [i for i in group if isinstance(i.service.desired_count, int) and i.service.desired_count > 0]
    classes = {m.asg for i in wanting for m in i.pool.members}
    instances = sum(capacity.get(c, 0) for c in classes)
    label = _capacity(plan, classes)
    tasks = sum(i.service.desired_count for i in wanting)  # type: ignore[misc]
    needed = _instances_needed(group, classes, capacity, blocked, instances, tasks)
    names = ", ".join(
        f"{i.service.origin.label} ({_plural(i.service.desired_count, 'task')})"  # type: ignore[arg-type]
        for i in sorted(wanting, key=lambda i: i.service.origin.label)
    )
    ports = _ports(frozenset().union(*(i.ports for i in wanting)))
    message = (
        f"{tasks} tasks of services {names} need host ports {ports}, and tasks that share a port cannot share an "
        f"instance: they need {needed} instances, but capacity {label} has at most {_plural(instances, 'instance')}: "
        + _PENDING.format(port=min(p for i in wanting for p in i.ports)[1])
    )
    fix = (
        "map the container ports dynamically (hostPort 0) behind the load balancer, or give capacity "
        f"{label} more instances (a higher MaxSize with managed scaling through a capacity provider), or run "
        "fewer tasks"
    )
    for item in wanting:
        yield _finding("static-port-overcommit", item.service.origin, message, fix)


def _port_overcommitted(
    plan: PortPlan,
    group: list[PlacedService],
    port: Port,
    capacity: dict[Hashable, int],
    blocked: dict[Hashable, frozenset[Port]],
    holders: dict[tuple[Key, Port], list[PlacedService]],
) -> Iterator[Finding]:
    wanting = [
        i for i in group if port in i.ports and isinstance(i.service.desired_count, int) and i.service.desired_count > 0
    ]
    classes: set[Hashable] = {m.asg for i in wanting for m in i.pool.members}
    # In the optimistic scenario a doubtful pool may also have instances the templates do not show.
    unseen = {_virtual(i.pool.cluster) for i in wanting if i.pool.doubts} & capacity.keys()
    needed = sum(i.service.desired_count for i in wanting)  # type: ignore[misc]
    offered = sum(capacity.get(c, 0) for c in classes if port not in blocked.get(c, ()))
    if needed <= offered + sum(capacity[c] for c in unseen):
        return
    instances = sum(capacity.get(c, 0) for c in classes)
    taken = instances - offered
    label = _capacity(plan, classes)
    message = (
        f"{needed + taken} tasks need {_port(port)} on capacity {label}, which has at most "
        f"{_plural(instances, 'instance')}"
    )
    if taken:
        daemons = {d.service.origin.label for c in classes for d in holders.get((c, port), ())}
        message += f" ({taken} of them are tasks of daemon service {_names(daemons)}, one on every instance)"
    message += ": " + _PENDING.format(port=port[1])
    if taken == instances:
        fix = (
            f"map the container port dynamically (hostPort 0) or pick another host port: a daemon service "
            f"holds {_port(port)} on every instance"
        )
    else:
        fix = (
            f"map the container port dynamically (hostPort 0) behind the load balancer, or give capacity {label} "
            f"at least {needed + taken} instances (a higher MaxSize with managed scaling through a "
            "capacity provider), or run fewer tasks"
        )
    for item in wanting:
        yield _finding("static-port-overcommit", item.service.origin, message, fix)


def _instances_needed(
    group: list[PlacedService],
    classes: set[Key],
    capacity: dict[Hashable, int],
    blocked: dict[Hashable, frozenset[Port]],
    instances: int,
    tasks: int,
) -> str:
    """The fewest instances that fit the group, for a single-group pool; else "more than N"."""
    if len(classes) == 1:
        only = next(iter(classes))
        demands = [
            Demand(i.key, i.service.desired_count, i.ports, frozenset(classes))
            for i in group
            if isinstance(i.service.desired_count, int)
        ]
        for count in range(instances + 1, tasks + 1):
            verdict = place(demands, {only: count}, blocked)
            if verdict.fits:
                return str(count)
            if verdict.fits is None:
                break
    return f"more than {instances}"


# -- deployment-port-deadlock -----------------------------------------------------------------------


def check_deployment_port_deadlock(plan: PortPlan) -> Iterator[Finding]:
    """A rolling deployment that can neither stop an old task first nor start a new one."""
    facts = static_port_facts(plan)
    placed, holders = facts.placed, facts.holders
    sharing: dict[tuple[Key, Port], list[PlacedService]] = defaultdict(list)
    for item in placed:
        if not item.service.daemon:
            for member in item.pool.members:
                for port in item.ports:
                    sharing[(member.asg, port)].append(item)
    for item in placed:
        rolling = item.service.rolling
        if rolling is False:
            continue
        if isinstance(rolling, Unknown):
            yield _unverifiable(
                item.service.origin,
                f"its deployment controller or strategy is unknown ({rolling.reason}): "
                "a rolling-deployment deadlock is not ruled out",
            )
            continue
        if item.service.daemon:
            yield from _daemon_deadlock(plan, item)
        else:
            yield from _replica_deadlock(plan, item, sharing, holders)


def _replica_deadlock(
    plan: PortPlan,
    item: PlacedService,
    sharing: dict[tuple[Key, Port], list[PlacedService]],
    holders: dict[tuple[Key, Port], list[PlacedService]],
) -> Iterator[Finding]:
    service = item.service
    desired, minimum, maximum = service.desired_count, service.minimum_healthy_percent, service.maximum_percent
    if isinstance(minimum, int) and minimum <= 0:
        return
    for value, what in ((desired, "desired count"), (minimum, "minimumHealthyPercent"), (maximum, "maximumPercent")):
        if isinstance(value, Unknown):
            yield _unverifiable(
                service.origin,
                f"its {what} is unknown ({value.reason}): a rolling-deployment deadlock on {_ports(item.ports)} "
                "is not ruled out",
            )
            return
    assert isinstance(desired, int) and isinstance(minimum, int) and isinstance(maximum, int)
    if desired <= 0:
        return
    keep = healthy_floor(desired, minimum)
    if keep < desired:
        return
    start = task_ceiling(desired, maximum)
    lower = stop_first_percent(desired)
    kept = (
        f"a rolling deployment cannot replace any of the {_plural(desired, 'task')}: minimumHealthyPercent "
        f"{minimum} keeps all of them running (ceil({desired} x {minimum}%) = {keep}), so no old task may stop "
        "first, and "
    )
    hangs = "; the deployment hangs, its new tasks PENDING, until it times out or the circuit breaker rolls it back"
    if start <= desired:
        yield _finding(
            "deployment-port-deadlock",
            service.origin,
            kept + f"maximumPercent {maximum} allows no extra task (floor({desired} x {maximum}%) = {start})" + hangs,
            f"lower minimumHealthyPercent to {lower} (one task stops first) or 0, or raise maximumPercent above 100 "
            "and give the capacity a spare instance",
        )
        return
    members = {m.asg for m in item.pool.members}
    label = _capacity(plan, members)
    daemons = {d.service.origin.label for a in members for p in item.ports for d in holders.get((a, p), ())}
    if daemons:
        yield _finding(
            "deployment-port-deadlock",
            service.origin,
            kept + f"every new task needs {_ports(item.ports)}, which daemon service {_names(daemons)} holds on "
            f"every instance of capacity {label}" + hangs,
            f"lower minimumHealthyPercent to {lower} (one task stops first) or 0, and move the daemon off "
            f"{_ports(item.ports)}",
        )
        return
    others: dict[Key, PlacedService] = {}
    high = item.pool.high
    tasks, uncertain = desired, False
    for member in members:
        for port in item.ports:
            for other in sharing.get((member, port), ()):
                if other.key == item.key or other.key in others:
                    continue
                others[other.key] = other
                count = other.service.desired_count
                if isinstance(count, Unknown):
                    uncertain = True
                else:
                    tasks += max(count, 0)
        if high is not None and tasks >= high:
            break
    if high is not None and high - tasks <= 0:
        yield _finding(
            "deployment-port-deadlock",
            service.origin,
            kept + f"every new task needs {_ports(item.ports)}, which {_plural(tasks, 'task')} already hold on "
            f"capacity {label} of at most {_plural(high, 'instance')}, so there is no instance to start one on" + hangs,
            f"lower minimumHealthyPercent to {lower} (one task stops first) or 0, or give capacity {label} spare "
            f"instances (at least {tasks + 1}, e.g. a higher MaxSize with managed scaling) and keep maximumPercent "
            "above 100",
        )
    elif uncertain or item.pool.low - tasks <= 0:
        yield _unverifiable(
            service.origin,
            f"cannot tell whether a rolling deployment finds a spare instance for {_ports(item.ports)}: "
            + "; ".join(item.pool.reasons() or ("the desired count of a service sharing the port is unknown",)),
            f"lower minimumHealthyPercent to {lower} or 0 to rule the deadlock out, or pass the missing templates",
        )


def _daemon_deadlock(plan: PortPlan, item: PlacedService) -> Iterator[Finding]:
    service = item.service
    minimum = service.minimum_healthy_percent
    if isinstance(minimum, Unknown):
        yield _unverifiable(
            service.origin, f"its minimumHealthyPercent is unknown ({minimum.reason}): a deadlock is not ruled out"
        )
        return
    if minimum <= 0:
        return
    pool = item.pool
    label = _capacity(plan, [m.asg for m in pool.members])
    hangs = (
        f"each instance's new task needs {_ports(item.ports)}, which the old task holds there; "
        "the deployment hangs until it times out or the circuit breaker rolls it back"
    )
    fix = "set minimumHealthyPercent to 0 (the DAEMON default)"
    if pool.high is not None:
        count = pool.high
        keep = healthy_floor(count, minimum)
        if count > 0 and keep >= count:
            if count > 1:
                fix += f" or to at most {stop_first_percent(count)}"
            yield _finding(
                "deployment-port-deadlock",
                service.origin,
                f"a rolling deployment of the daemon on capacity {label} ({_plural(count, 'instance')}) cannot "
                f"replace its tasks: minimumHealthyPercent {minimum} keeps all {keep} running "
                f"(ceil({count} x {minimum}%) = {keep}), and {hangs}",
                fix,
            )
    elif minimum >= 100:
        yield _finding(
            "deployment-port-deadlock",
            service.origin,
            f"a rolling deployment of the daemon cannot replace its tasks: minimumHealthyPercent {minimum} keeps "
            f"every task running, and {hangs}",
            fix,
        )
    else:
        yield _unverifiable(
            service.origin,
            f"cannot tell whether minimumHealthyPercent {minimum} lets the daemon's deployment stop a task: "
            "the number of instances is unknown (" + "; ".join(pool.reasons()) + ")",
            fix,
        )


# -- port-level rules ---------------------------------------------------------------------------------


def _static_mappings(definition: TaskDefinition) -> Iterator[tuple[PortMapping, Port]]:
    for mapping in definition.mappings:
        port = definition.host_port(mapping)
        if isinstance(port, int) and 1 <= port <= 65535 and isinstance(mapping.protocol, str):
            yield mapping, (mapping.protocol, port)


def check_reserved_host_port(plan: PortPlan) -> Iterator[Finding]:
    """A static host port the agent reserves (by default, or by ECS_RESERVED_PORTS in user data)."""
    configured = any(g.reserved_tcp or g.reserved_udp for g in plan.auto_scaling_groups.values())
    for key, definition in plan.task_definitions.items():
        if not definition.static_ports or (not configured and definition.static_ports.isdisjoint(_RESERVED_TCP)):
            continue
        groups = [plan.auto_scaling_groups[a] for a in sorted(plan.landing.get(key, ()))]
        for group in groups:
            for extra in (group.reserved_tcp, group.reserved_udp):
                if isinstance(extra, Unknown):
                    yield _unverifiable(
                        definition.origin,
                        f"the reserved ports of capacity {group.origin.label} are unknown ({extra.reason}): "
                        f"its host ports {_ports(definition.static_ports)} may be reserved",
                    )
        for mapping, port in _static_mappings(definition):
            reasons = []
            if port[0] == "tcp" and port[1] in AGENT_RESERVED_PORTS:
                reasons.append(f"the ECS agent reserves by default ({AGENT_RESERVED_PORTS[port[1]]})")
            for group in groups:
                extra = group.reserved_tcp if port[0] == "tcp" else group.reserved_udp
                if isinstance(extra, tuple) and port[1] in extra:
                    setting = "ECS_RESERVED_PORTS" if port[0] == "tcp" else "ECS_RESERVED_PORTS_UDP"
                    reasons.append(f"{setting} reserves on capacity {group.origin.label}")
            if reasons:
                yield _finding(
                    "reserved-host-port",
                    definition.origin,
                    f"container {mapping.container} maps host port {_port(port)}, which "
                    + " and ".join(reasons)
                    + ": no container instance offers it, so the tasks stay PENDING (reason RESOURCE:PORTS)",
                    f"map the container port dynamically (hostPort 0) or pick a free host port below "
                    f"{DEFAULT_DYNAMIC_RANGE[0]} that no instance reserves",
                )


def check_reserved_port_limit(plan: PortPlan) -> Iterator[Finding]:
    """More than 100 reserved ports on one instance: agent defaults, user data, certain co-residents, a task."""
    everywhere: dict[Key, set[Port]] = defaultdict(set)
    for item in static_port_facts(plan).placed:
        high = item.pool.high
        count = item.service.desired_count
        certain = item.service.daemon or (high is not None and high > 0 and isinstance(count, int) and count >= high)
        if certain:
            for member in item.pool.members:
                everywhere[member.asg].update(item.ports)
    base: dict[Key | None, int] = {}  # an upper bound of the reserved ports besides a task's
    for asg in {a for groups in plan.landing.values() for a in groups}:
        group = plan.auto_scaling_groups[asg]
        configured = sum(len(e) for e in (group.reserved_tcp, group.reserved_udp) if isinstance(e, tuple))
        base[asg] = len(AGENT_DEFAULT_RESERVED_PORTS) + configured + len(everywhere.get(asg, ()))
    most = max(base.values(), default=len(AGENT_DEFAULT_RESERVED_PORTS))
    for key, definition in plan.task_definitions.items():
        ports = len(definition.static_ports)
        if not ports or ports + most <= RESERVED_PORT_LIMIT:
            continue
        asgs: list[Key | None] = [*sorted(plan.landing.get(key, ()))] or [None]
        if all(ports + base.get(a, len(AGENT_DEFAULT_RESERVED_PORTS)) <= RESERVED_PORT_LIMIT for a in asgs):
            continue
        worst: tuple[int, str, str] | None = None
        for landing in asgs:
            reserved = {("tcp", p) for p in AGENT_DEFAULT_RESERVED_PORTS}
            where = "a container instance"
            if landing is not None:
                group = plan.auto_scaling_groups[landing]
                where = f"a container instance of capacity {group.origin.label}"
                for listed, protocol in ((group.reserved_tcp, "tcp"), (group.reserved_udp, "udp")):
                    if isinstance(listed, tuple):
                        reserved.update((protocol, p) for p in listed)
            configured = len(reserved) - len(AGENT_DEFAULT_RESERVED_PORTS)
            own = definition.static_ports - reserved
            shared = everywhere.get(landing, set()) - reserved - own if landing is not None else set()
            total = len(reserved) + len(shared) + len(own)
            if total > RESERVED_PORT_LIMIT and (worst is None or total > worst[0]):
                detail = (
                    f"{len(AGENT_DEFAULT_RESERVED_PORTS)} reserved by the agent by default, {configured} by "
                    f"ECS_RESERVED_PORTS(_UDP), {len(shared)} held by services on every instance, "
                    f"{len(own)} by this task's static host ports"
                )
                worst = (total, where, detail)
        if worst is not None:
            total, where, detail = worst
            yield _finding(
                "reserved-port-limit",
                definition.origin,
                f"{where} would hold {total} reserved ports, more than the ECS agent's limit of "
                f"{RESERVED_PORT_LIMIT} ({detail}): ECS cannot place the task there",
                "map most container ports dynamically (hostPort 0), which does not count toward the limit, or "
                "split the containers across task definitions",
            )


def check_duplicate_host_port(plan: PortPlan) -> Iterator[Finding]:
    """One task definition binds the same host port and protocol twice."""
    for definition in plan.task_definitions.values():
        if len(definition.mappings) < 2:
            continue
        bound: dict[Port, list[str]] = defaultdict(list)
        if definition.network_mode == "awsvpc":
            for mapping in definition.mappings:
                number = mapping.container_port
                if isinstance(number, int) and isinstance(mapping.protocol, str) and not mapping.port_range:
                    bound[(mapping.protocol, number)].append(mapping.container)
        else:
            for mapping, static in _static_mappings(definition):
                bound[static].append(mapping.container)
        for port, containers in sorted(bound.items()):
            if len(containers) > 1:
                where = "the task's network interface" if definition.network_mode == "awsvpc" else "an instance"
                yield _finding(
                    "duplicate-host-port",
                    definition.origin,
                    f"host port {_port(port)} is mapped {len(containers)} times (containers "
                    f"{', '.join(containers)}), but {where} can bind it once: the task cannot start "
                    f'(Docker: "Bind for 0.0.0.0:{port[1]} failed: port is already allocated")',
                    "give each mapping its own host port, or map all but one dynamically (hostPort 0)",
                )


def check_invalid_port(plan: PortPlan) -> Iterator[Finding]:
    """A containerPort or hostPort outside 1-65535 (hostPort 0 means dynamic)."""
    for definition in plan.task_definitions.values():
        for mapping in definition.mappings:
            problems = []
            port = mapping.container_port
            if port is None and not mapping.port_range:
                problems.append("has a port mapping without containerPort")
            elif isinstance(port, int) and not 1 <= port <= 65535:
                problems.append(f"maps containerPort {port}, outside 1-65535")
            host = mapping.host_port
            if isinstance(host, int) and not 0 <= host <= 65535:
                problems.append(f"maps hostPort {host}, outside 1-65535 (0 means dynamic)")
            for problem in problems:
                yield _finding(
                    "invalid-port",
                    definition.origin,
                    f"container {mapping.container} {problem}: ECS rejects the task definition",
                    "use a port between 1 and 65535 (hostPort 0, or no hostPort, for a dynamic mapping in bridge mode)",
                )


def check_host_port_mismatch(plan: PortPlan) -> Iterator[Finding]:
    """awsvpc or host mode with a hostPort other than the containerPort."""
    for definition in plan.task_definitions.values():
        mode = definition.network_mode
        if mode not in ("awsvpc", "host"):
            continue
        for mapping in definition.mappings:
            host, port = mapping.host_port, mapping.container_port
            if isinstance(host, int) and isinstance(port, int) and host != port:
                yield _finding(
                    "host-port-mismatch",
                    definition.origin,
                    f"container {mapping.container} maps containerPort {port} to hostPort {host}, but in {mode} "
                    "network mode the host port must be left out or equal the container port: ECS rejects the "
                    "task definition",
                    f"leave hostPort out (or set it to {port})",
                )


# -- load balancing ----------------------------------------------------------------------------------


def _dynamic_links(plan: PortPlan) -> Iterator[tuple[Service, PortMapping, Key | Unknown]]:
    """(service, dynamically mapped container port, its target group) for every balanced service."""
    for service in plan.services.values():
        definition = _definition(plan, service)
        if definition is None:
            continue
        for link in service.load_balancers:
            if link.target_group is None:
                continue
            for mapping in definition.mappings:
                if (
                    mapping.container == link.container_name
                    and mapping.container_port == link.container_port
                    and definition.host_port(mapping) == 0
                ):
                    yield service, mapping, link.target_group
                    break


def check_dynamic_port_health_check(plan: PortPlan) -> Iterator[Finding]:
    """A dynamically mapped port behind a target group that health-checks a fixed port."""
    for service, mapping, target in static_port_facts(plan).links:
        if isinstance(target, Unknown):
            yield _unverifiable(
                service.origin,
                f"the target group of container {mapping.container} port {mapping.container_port} is not in the "
                f"templates given ({target.reason}): its health check port and balancer cannot be checked",
            )
            continue
        group = plan.target_groups[target]
        port = group.health_check_port
        if isinstance(port, Unknown):
            yield _unverifiable(group.origin, f"its HealthCheckPort is unknown ({port.reason})")
        elif port.lower() != "traffic-port":
            yield _finding(
                "dynamic-port-health-check",
                group.origin,
                f"health checks go to fixed port {port}, but service {service.origin.label} registers container "
                f"{mapping.container} port {mapping.container_port} on a dynamic host port: the checks never reach "
                "the task, every target turns unhealthy and ECS keeps replacing the tasks",
                "set HealthCheckPort to traffic-port, the default (CDK: leave health_check port out, or "
                'port="traffic-port")',
            )


def _covered(intervals: Iterable[tuple[int, int]], low: int, high: int) -> int:
    """How many ports of [low, high] the union of `intervals` covers."""
    total, reach = 0, low - 1
    for start, end in sorted(intervals):
        start, end = max(start, reach + 1), min(end, high)
        if start <= end:
            total += end - start + 1
            reach = end
    return total


def _reach(rules: Iterable[SecurityGroupRule], peers: set[Key]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """tcp port intervals a set of rules opens to `peers` (or VPC-wide): certainly, and possibly."""
    certain: list[tuple[int, int]] = []
    possible: list[tuple[int, int]] = []
    for rule in rules:
        protocol = rule.protocol
        interval = (0, 65535)
        if isinstance(protocol, Unknown):
            possible.append(interval)
            continue
        if protocol not in ("tcp", "all"):
            continue
        if protocol == "tcp":
            start, end = rule.from_port, rule.to_port
            if not isinstance(start, int) or not isinstance(end, int):
                possible.append(interval)
                continue
            if start != -1 or end != -1:
                interval = (start, end)
        peer = rule.peer
        if peer.vpc_wide or peer.group in peers:
            certain.append(interval)
        elif peer.doubt is not None:
            possible.append(interval)
    return certain, possible


class _Path:
    """What one balancer-to-instances path opens of the dynamic range in force on the instances.

    `doubt` says why the path cannot be checked at all. `inside` and `outside` are the instances'
    and the balancer's security groups found in the templates; `ingress` and `egress` count the ports
    of [low, high] certainly and possibly open in each direction; `open` says both are wholly open.
    """

    __slots__ = ("doubt", "low", "high", "inside", "outside", "ingress", "egress", "open")

    def __init__(
        self,
        doubt: str | None,
        low: int = 0,
        high: int = 0,
        inside: tuple[Key, ...] = (),
        outside: tuple[Key, ...] = (),
        ingress: tuple[int, int] = (0, 0),
        egress: tuple[int, int] = (0, 0),
    ) -> None:
        self.doubt = doubt
        self.low = low
        self.high = high
        self.inside = inside
        self.outside = outside
        self.ingress = ingress
        self.egress = egress
        total = high - low + 1
        self.open = doubt is None and ingress[0] == total and egress[0] == total  # certainly open both ways


class _Subject:
    """A balanced container port, named in messages only: formatted when a finding needs it."""

    __slots__ = ("service", "mapping")

    def __init__(self, service: Service, mapping: PortMapping) -> None:
        self.service = service
        self.mapping = mapping

    def __str__(self) -> str:
        mapping = self.mapping
        return f"service {self.service.origin.label} (container {mapping.container} port {mapping.container_port})"


class _Gap:
    """A direction of a path that does not open the whole range, and who meets it."""

    __slots__ = ("origin", "count", "subjects", "capacity")

    def __init__(self, origin: Origin, count: int) -> None:
        self.origin = origin
        self.count = count
        self.subjects: set[str] = set()
        self.capacity: set[str] = set()


def check_dynamic_port_ingress(plan: PortPlan) -> Iterator[Finding]:
    """The balancer and the instances cannot talk on the whole dynamic host port range."""
    paths: dict[tuple[Key, tuple[Key | Unknown, ...]], _Path] = {}
    gaps: dict[tuple[str, tuple[Key, ...], tuple[Key, ...], tuple[int, int]], _Gap] = {}
    for service, mapping, target in static_port_facts(plan).links:
        if isinstance(target, Unknown):
            continue  # dynamic-port-health-check reports it
        group = plan.target_groups[target]
        subject = _Subject(service, mapping)
        if isinstance(group.target_type, Unknown):
            yield _unverifiable(group.origin, f"its TargetType is unknown ({group.target_type.reason})")
            continue
        pool = plan.pools.get(service.origin.key)
        if group.target_type != "instance" or pool is None:
            continue
        if not group.load_balancers:
            yield _unverifiable(
                group.origin,
                f"no listener of the templates given forwards to it, so the balancer of {subject} and its security "
                "groups are unknown",
            )
            continue
        if not pool.members:
            yield _unverifiable(
                service.origin, "its instances' security groups are unknown: " + "; ".join(pool.reasons())
            )
            continue
        for balancer_key in group.load_balancers:
            if isinstance(balancer_key, Unknown):
                yield _unverifiable(group.origin, f"a balancer forwarding to it is unknown ({balancer_key.reason})")
                continue
            balancer = plan.load_balancers[balancer_key]
            if not balancer.security_groups:
                if balancer.kind != "network":
                    yield _unverifiable(
                        balancer.origin,
                        "it names no SecurityGroups, so it uses the VPC's default security group, which the "
                        f"templates do not show: its reach to {subject} cannot be checked",
                    )
                continue
            for member in pool.members:
                asg = plan.auto_scaling_groups[member.asg]
                cache_key = (member.asg, balancer.security_groups)
                path = paths.get(cache_key)
                if path is None:
                    path = paths[cache_key] = _path(plan, balancer.security_groups, asg)
                if path.doubt is not None:
                    yield _unverifiable(
                        asg.origin, f"{path.doubt}: the balancer's reach to {subject} cannot be checked"
                    )
                    continue
                if path.open:
                    continue
                total = path.high - path.low + 1
                sides = (("in", path.ingress, path.inside), ("out", path.egress, path.outside))
                missing = [(direction, opened[0], owners) for direction, opened, owners in sides if opened[1] < total]
                for direction, count, owners in missing:
                    gap = gaps.setdefault(
                        (direction, path.inside, path.outside, (path.low, path.high)),
                        _Gap(plan.security_groups[owners[0]].origin, count),
                    )
                    gap.subjects.add(str(subject))
                    gap.capacity.add(asg.origin.label)
                if not missing:
                    yield _unverifiable(
                        asg.origin,
                        f"whether balancer {balancer.origin.label} reaches its instances on dynamic ports "
                        f"{path.low}-{path.high} for {subject} depends on security group rules whose peers or ports "
                        "the templates leave open",
                    )
    for (direction, inside, outside, (low, high)), gap in sorted(gaps.items(), key=lambda item: item[0]):
        yield _gap_finding(plan, direction, inside, outside, low, high, gap)


def _gap_finding(
    plan: PortPlan, direction: str, inside: tuple[Key, ...], outside: tuple[Key, ...], low: int, high: int, gap: _Gap
) -> Finding:
    instances = _group_labels(plan, inside)
    balancers = _group_labels(plan, outside)
    effect = (
        f": {_names(gap.subjects, 2)} receives traffic on dynamic host ports in that range (the range in force on "
        f"capacity {_names(gap.capacity)}), so the balancer cannot reach its targets, health checks time out and "
        "every target stays unhealthy"
    )
    opened = f"{gap.count} of {high - low + 1} ports {low}-{high}"
    if direction == "in":
        several = len(inside) > 1
        message = (
            f"instances' security group{'s' if several else ''} {instances} allow{'' if several else 's'} {opened} "
            f"from balancer security group {balancers}" + effect
        )
        fix = (
            f"allow ingress on {instances} from {balancers} on tcp {low}-{high}, exactly the dynamic range in force "
            f"(CDK: asg.connections.allow_from(load_balancer, ec2.Port.tcp_range({low}, {high}))), and pin "
            f"ECS_DYNAMIC_HOST_PORT_RANGE={low}-{high} in the instances' user data so the range cannot drift"
        )
    else:
        message = (
            f"balancer security group {balancers} allows {opened} out to the instances' security group {instances}"
            + effect
        )
        fix = (
            f"allow egress from {balancers} to {instances} on tcp {low}-{high} "
            f"(CDK: load_balancer.connections.allow_to(asg, ec2.Port.tcp_range({low}, {high})))"
        )
    return _finding("dynamic-port-ingress", gap.origin, message, fix)


def _group_labels(plan: PortPlan, keys: Iterable[Key]) -> str:
    return ", ".join(plan.security_groups[k].origin.label for k in keys) or "(defined elsewhere)"


def _path(plan: PortPlan, balancer_groups: tuple[Key | Unknown, ...], asg: AutoScalingGroup) -> _Path:
    """Measure what the balancer's and the instances' security groups open of the dynamic range."""
    dynamic_range, instance_groups = asg.dynamic_range, asg.security_groups
    if isinstance(dynamic_range, Unknown):
        return _Path(f"its instances' dynamic host port range is unknown ({dynamic_range.reason})")
    if isinstance(instance_groups, Unknown):
        return _Path(f"its instances' security groups are unknown ({instance_groups.reason})")
    if not instance_groups:
        return _Path("its instances get the VPC's default security group, which the templates do not show")
    low, high = dynamic_range
    inside = tuple(k for k in instance_groups if isinstance(k, tuple) and k in plan.security_groups)
    outside = tuple(k for k in balancer_groups if isinstance(k, tuple) and k in plan.security_groups)
    everything = [(0, 65535)]
    # A group defined elsewhere may open anything: it makes the whole range possible, never certain.
    certain_in: list[tuple[int, int]] = []
    possible_in = everything if len(inside) < len(instance_groups) else []
    for key in inside:
        certain, possible = _reach(plan.security_groups[key].ingress, set(outside))
        certain_in += certain
        possible_in = possible_in + possible
    certain_out: list[tuple[int, int]] = []
    possible_out = everything if len(outside) < len(balancer_groups) else []
    for key in outside:
        group = plan.security_groups[key]
        certain, possible = (everything, []) if group.allows_all_egress else _reach(group.egress, set(inside))
        certain_out += certain
        possible_out = possible_out + possible
    return _Path(
        doubt=None,
        low=low,
        high=high,
        inside=inside,
        outside=outside,
        ingress=(_covered(certain_in, low, high), _covered(certain_in + possible_in, low, high)),
        egress=(_covered(certain_out, low, high), _covered(certain_out + possible_out, low, high)),
    )


# -- static-port-in-dynamic-range -------------------------------------------------------------------


def check_static_port_in_dynamic_range(plan: PortPlan) -> Iterator[Finding]:
    """A static host port inside the dynamic range in force where its tasks run."""
    in_force = {g.dynamic_range for g in plan.auto_scaling_groups.values() if isinstance(g.dynamic_range, tuple)}
    in_force.add(DEFAULT_DYNAMIC_RANGE)
    lowest = min(low for low, _ in in_force)
    highest = max(high for _, high in in_force)
    for key, definition in plan.task_definitions.items():
        if all(not lowest <= port <= highest for _, port in definition.static_ports):
            continue
        ranges: dict[tuple[int, int], list[str]] = defaultdict(list)
        groups = sorted(plan.landing.get(key, ()))
        for asg in groups:
            group = plan.auto_scaling_groups[asg]
            if isinstance(group.dynamic_range, tuple):
                ranges[group.dynamic_range].append(group.origin.label)
        if not groups:
            ranges[DEFAULT_DYNAMIC_RANGE] = []
        for mapping, port in _static_mappings(definition):
            for (low, high), labels in sorted(ranges.items()):
                if low <= port[1] <= high:
                    where = f" on capacity {_names(labels)}" if labels else " (the Linux default)"
                    yield _finding(
                        "static-port-in-dynamic-range",
                        definition.origin,
                        f"container {mapping.container} maps host port {_port(port)}, inside the dynamic host port "
                        f"range {low}-{high} in force{where}: the agent may hand it to another task's dynamic "
                        "mapping first, and then this task cannot be placed on that instance",
                        f"pick a static port below {low} (or above {high}), or pin ECS_DYNAMIC_HOST_PORT_RANGE to a "
                        "range that excludes it",
                    )


# -- unverifiable inputs --------------------------------------------------------------------------------


def check_unverifiable_inputs(plan: PortPlan) -> Iterator[Finding]:
    """Services and task definitions whose ports the templates leave open."""
    for service in plan.services.values():
        if isinstance(service.task_definition, Unknown):
            yield _unverifiable(
                service.origin,
                f"its task definition is unknown ({service.task_definition.reason}): its host ports cannot be checked",
            )
    for definition in plan.task_definitions.values():
        if definition.doubts:
            yield _unverifiable(
                definition.origin,
                "; ".join(definition.doubts) + ": the port rules skip what cannot be known",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "static-port-overcommit",
        ERROR,
        "More tasks need a static host port on a capacity pool than it can have instances.",
        "The extra tasks stay PENDING: no container instance has the port free (RESOURCE:PORTS).",
        "Map the port dynamically (hostPort 0), give the pool more instances, or run fewer tasks.",
        check_static_port_overcommit,
    ),
    Rule(
        "deployment-port-deadlock",
        ERROR,
        "A rolling deployment with static host ports can neither stop an old task first nor start a new one.",
        "The deployment hangs with its new tasks PENDING until it times out or the circuit breaker rolls back.",
        "Lower minimumHealthyPercent so one task may stop first, or keep spare instances and maximumPercent above 100.",
        check_deployment_port_deadlock,
    ),
    Rule(
        "reserved-host-port",
        ERROR,
        "A static host port is one the container instance reserves.",
        "No instance offers a reserved port: the tasks stay PENDING (RESOURCE:PORTS).",
        "Map the port dynamically (hostPort 0) or pick a host port no instance reserves.",
        check_reserved_host_port,
    ),
    Rule(
        "reserved-port-limit",
        ERROR,
        "One container instance would hold more than 100 reserved ports, the agent's defaults included.",
        "ECS cannot place the task on that instance.",
        "Map most ports dynamically (hostPort 0): dynamic ports do not count toward the limit.",
        check_reserved_port_limit,
    ),
    Rule(
        "duplicate-host-port",
        ERROR,
        "One task definition maps the same host port and protocol twice.",
        "The task cannot start: the second bind fails (port is already allocated).",
        "Give each mapping its own host port, or map one of them dynamically (hostPort 0).",
        check_duplicate_host_port,
    ),
    Rule(
        "invalid-port",
        ERROR,
        "A containerPort or hostPort lies outside 1-65535 (hostPort 0 means dynamic).",
        "ECS rejects the task definition and the deployment fails.",
        "Use a port number between 1 and 65535 (hostPort 0 for a dynamic mapping in bridge mode).",
        check_invalid_port,
    ),
    Rule(
        "host-port-mismatch",
        ERROR,
        "In awsvpc or host network mode a hostPort differs from its containerPort.",
        "ECS rejects the task definition and the deployment fails.",
        "Leave hostPort out, or set it equal to containerPort.",
        check_host_port_mismatch,
    ),
    Rule(
        "dynamic-port-health-check",
        ERROR,
        "A dynamically mapped container port sits behind a target group that health-checks a fixed port.",
        "The health checks never reach the task: targets turn unhealthy and ECS keeps replacing the tasks.",
        "Set the target group's HealthCheckPort to traffic-port (the default).",
        check_dynamic_port_health_check,
    ),
    Rule(
        "dynamic-port-ingress",
        ERROR,
        "The balancer's and the instances' security groups do not open the whole dynamic host port range.",
        "The balancer cannot reach the tasks: health checks time out and every target stays unhealthy.",
        "Allow ingress on the instances from the balancer's security group on exactly the dynamic range in force.",
        check_dynamic_port_ingress,
    ),
    Rule(
        "static-port-in-dynamic-range",
        WARNING,
        "A static host port lies inside the dynamic host port range in force on its instances.",
        "The agent may hand the port to a dynamic mapping first; the static task then cannot be placed there.",
        "Pick a static port outside the dynamic range, or pin ECS_DYNAMIC_HOST_PORT_RANGE to exclude it.",
        check_static_port_in_dynamic_range,
    ),
    Rule(
        "unverifiable",
        WARNING,
        "Something a rule needs cannot be known from the templates given.",
        "A problem of the kind the other rules catch may go unreported.",
        "Pass the templates that define the missing pieces, or acknowledge the finding.",
        check_unverifiable_inputs,
    ),
)
"""The catalogue, in reporting order."""

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
_ORDER = {rule.id: index for index, rule in enumerate(RULES)}


def run_rules(plan: PortPlan) -> list[Finding]:
    """Every finding of every rule on `plan`, deduplicated, in a deterministic order."""
    return ordered(itertools.chain.from_iterable(rule.check(plan) for rule in RULES if rule.check is not None), _ORDER)

"""static-port-overcommit: tasks that need a static host port, more than their capacity pool can place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import Port, PortPlan
from ..placement import Demand, Verdict, components, place
from .contention import fits_beside
from .facts import PlacedService, static_port_facts, virtual_class
from .rule import Rule
from .unverifiable import unverifiable
from .wording import (
    PENDING,
    describe_capacity,
    describe_port,
    describe_ports,
    list_names,
    plural,
)

RULE = Rule(
    id="static-port-overcommit",
    severity=ERROR,
    reported_on="service",
    info="More tasks need a static host port on a capacity pool than it can have instances.",
    why="The extra tasks stay PENDING: no container instance has the port free (RESOURCE:PORTS).",
    fix="Map the port dynamically (hostPort 0), give the pool more instances, or run fewer tasks.",
)


Counts = Mapping[Hashable, "int | Unknown"]
"""Tasks of each replica service (by service key) in the scenario judged."""


@dataclass(frozen=True)
class Scenario:
    """What an overcommit judgment counts and how its findings read.

    `counts`: each replica service's tasks. `lead`: words put before a group's messages (empty for
    the desired counts). `fix`: the fix for a group's blamed services, given the capacity label and
    the instances needed (None when unknown). `chosen`: which of the blamed services are reported.
    """

    rule: Rule
    counts: Counts
    lead: Callable[[list[PlacedService]], str] = lambda group: ""
    fix: Callable[[list[PlacedService], str, int | None], str] | None = None
    chosen: Callable[[list[PlacedService], set[Hashable]], set[Hashable]] = lambda group, blamed: blamed


def desired_counts(plan: PortPlan) -> dict[Hashable, int | Unknown]:
    """Every placed replica service at its desired count."""
    return {i.key: i.service.desired_count for i in static_port_facts(plan).placed if not i.service.daemon}


def check(plan: PortPlan) -> Iterator[Finding]:
    """More tasks need a host port on a pool than it has instances to offer (exact placement)."""
    facts = static_port_facts(plan)
    for item in facts.undecided:
        yield unverifiable(
            item.service.origin,
            f"its scheduling strategy is unknown ({item.service.scheduling.reason}): "  # type: ignore[union-attr]
            "its host ports cannot be counted",
        )
    yield from _daemon_conflicts(plan, facts.holders)
    scenario = Scenario(RULE, desired_counts(plan))
    for group in contending_groups(plan, scenario.counts):
        yield from judge(plan, group, scenario)


def contending_groups(plan: PortPlan, counts: Counts) -> list[list[PlacedService]]:
    """The placed replica services that compete for ports, in groups judged together: all but the
    services alone on their ports within a pool of known size that holds their `counts`."""
    facts = static_port_facts(plan)
    holders = facts.holders
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
                members.append(virtual_class(pool.cluster))
            found = classes[id(pool)] = frozenset(members)
        keys = [(c, p) for c in found for p in item.ports]
        for key in keys:
            wanted[key] += 1
        replicas.append((item, found, keys))
    demands = []
    by_key: dict[Hashable, PlacedService] = {}
    for item, found, keys in replicas:
        count, high = counts[item.key], item.pool.high
        alone = all(wanted[key] == 1 and key not in holders for key in keys)
        if alone and type(count) is int and high is not None and count <= high:
            continue  # one service alone on its ports, within a pool of known size
        if not item.pool.members and item.pool.excluded and not item.pool.doubts:
            continue  # memberOf rules out every instance: placement-constraint-overcommit says so
        demands.append(Demand(item.key, 0, item.ports, found))
        by_key[item.key] = item
    return [[by_key[d.name] for d in group] for group in components(demands)]


def _daemon_conflicts(plan: PortPlan, holders: dict[tuple[Key, Port], list[PlacedService]]) -> Iterator[Finding]:
    for (asg, port), daemons in sorted(holders.items()):
        if len(daemons) < 2:
            continue
        counts = [m.instances for d in daemons for m in d.pool.members if m.asg == asg]
        known = [c for c in counts if isinstance(c, int)]
        label = describe_capacity(plan, [asg])
        names = list_names(d.service.origin.label for d in daemons)
        if known and max(known) <= 0 and len(known) == len(counts):
            continue
        for daemon in daemons:
            if len(known) < len(counts):
                yield unverifiable(
                    daemon.service.origin,
                    f"daemon services {names} all need {describe_port(port)} on every instance of capacity {label}, "
                    "whose size is unknown",
                )
                continue
            yield RULE.finding(
                daemon.service.origin,
                f"{len(daemons)} daemon services need {describe_port(port)} on every instance of capacity {label} "
                f"({names}): only one can hold it on an instance, so " + PENDING.format(port=port[1]),
                "give all but one of the daemons another host port, or map it dynamically (hostPort 0)",
            )


def pessimistic_fit(plan: PortPlan, group: list[PlacedService], counts: Counts) -> bool:
    """Whether the group certainly fits at `counts` (known counts, the pools' certain instances)."""
    holders = static_port_facts(plan).holders
    low: dict[Hashable, int] = defaultdict(int)
    for item in group:
        for member in item.pool.members:
            if isinstance(member.instances, int):
                low[member.asg] = max(low[member.asg], member.instances)
    if any(isinstance(counts[i.key], Unknown) for i in group):
        return False
    blocked = {a: frozenset(p for item in group for p in item.ports if (a, p) in holders) for a in low}
    demands = [
        Demand(i.key, counts[i.key], i.ports, frozenset(m.asg for m in i.pool.members))  # type: ignore[arg-type]
        for i in group
    ]
    return place(demands, low, blocked).fits is True


def fits_at(plan: PortPlan, group: list[PlacedService], counts: Counts) -> bool | None:
    """Whether the group's tasks at `counts` fit: True certainly, False certainly not (even on the most
    instances the templates allow), None when the templates leave it open."""
    if pessimistic_fit(plan, group, counts):
        return True
    holders = static_port_facts(plan).holders
    big = sum(c for i in group if isinstance(c := counts[i.key], int) and c > 0) + 1
    capacity: dict[Hashable, int] = {}
    for item in group:
        for member in item.pool.members:
            size = member.instances if isinstance(member.instances, int) else big
            capacity[member.asg] = max(capacity.get(member.asg, 0), size)
        if item.pool.doubts:
            capacity[virtual_class(item.pool.cluster)] = big
    if any(isinstance(counts[i.key], Unknown) for i in group):
        return None
    blocked = {a: frozenset(p for item in group for p in item.ports if (a, p) in holders) for a in capacity}
    demands = [
        Demand(
            i.key,
            counts[i.key],  # type: ignore[arg-type]
            i.ports,
            frozenset([m.asg for m in i.pool.members] + ([virtual_class(i.pool.cluster)] if i.pool.doubts else [])),
        )
        for i in group
    ]
    verdict = place(demands, capacity, blocked).fits
    return None if verdict is not False else False


def room_beside(plan: PortPlan, item: PlacedService, group: list[PlacedService], counts: Counts) -> int | None:
    """How many tasks of `item` fit beside the rest of `group` at `counts` (see contention.fits_beside);
    None when the capacity or a count is unknown."""
    holders = static_port_facts(plan).holders
    capacity: dict[Hashable, int] = {}
    for other in group:
        if other.pool.high is None:
            return None
        for member in other.pool.members:
            capacity[member.asg] = max(capacity.get(member.asg, 0), member.instances)  # type: ignore[arg-type]
    others = [i for i in group if i is not item]
    if any(isinstance(counts[i.key], Unknown) for i in others):
        return None
    blocked = {a: frozenset(p for i in group for p in i.ports if (a, p) in holders) for a in capacity}
    subject = Demand(item.key, 0, item.ports, frozenset(m.asg for m in item.pool.members))
    rest = [Demand(i.key, max(counts[i.key], 0), i.ports, frozenset(m.asg for m in i.pool.members)) for i in others]  # type: ignore[type-var]
    return fits_beside(subject, rest, capacity, blocked)


def judge(plan: PortPlan, group: list[PlacedService], scenario: Scenario) -> Iterator[Finding]:
    """Decide one group of services that compete for ports: pessimistic, then optimistic scenario."""
    holders = static_port_facts(plan).holders
    counts = scenario.counts
    views: dict[Key, list[int | Unknown]] = defaultdict(list)
    for item in group:
        for member in item.pool.members:
            views[member.asg].append(member.instances)
    known_tasks = sum(max(counts[i.key], 0) for i in group if isinstance(counts[i.key], int))  # type: ignore[type-var]
    big = known_tasks + 1
    low: dict[Hashable, int] = {a: max([v for v in vs if isinstance(v, int)] + [0]) for a, vs in views.items()}
    high: dict[Hashable, int] = {
        a: big if any(isinstance(v, Unknown) for v in vs) else low[a] for a, vs in views.items()
    }
    blocked: dict[Hashable, frozenset[Port]] = {
        a: frozenset(p for item in group for p in item.ports if (a, p) in holders) for a in views
    }
    unknown_tasks = [i for i in group if isinstance(counts[i.key], Unknown)]
    doubtful = bool(unknown_tasks) or any(i.pool.doubts for i in group) or high != low

    def demands(optimistic: bool) -> list[Demand]:
        result = []
        for item in group:
            tasks = counts[item.key]
            classes: list[Hashable] = [m.asg for m in item.pool.members]
            if optimistic and item.pool.doubts:
                classes.append(virtual_class(item.pool.cluster))
            result.append(Demand(item.key, tasks if isinstance(tasks, int) else 0, item.ports, frozenset(classes)))
        return result

    pessimistic = None if unknown_tasks else place(demands(False), low, blocked)
    if pessimistic is not None and pessimistic.fits:
        return
    if doubtful:
        capacity: dict[Hashable, int] = dict(high)
        capacity.update({virtual_class(i.pool.cluster): big for i in group if i.pool.doubts})
        verdict = place(demands(True), capacity, blocked)
    else:
        assert pessimistic is not None
        verdict, capacity = pessimistic, dict(low)
    lead = scenario.lead(group)
    if verdict.fits is False:
        blamed = scenario.chosen(group, _blamed(demands(doubtful), capacity, blocked))
        yield from _overcommitted(plan, group, verdict, capacity, blocked, holders, blamed, scenario)
        return
    wanting = [i for i in group if isinstance(counts[i.key], Unknown) or counts[i.key] > 0]  # type: ignore[operator]
    told = scenario.chosen(group, {i.key for i in wanting})
    wanting = [i for i in wanting if i.key in told]
    ports = describe_ports(frozenset().union(*(i.ports for i in wanting))) if wanting else ""
    if verdict.fits is None or (pessimistic is not None and pessimistic.fits is None):
        for item in wanting:
            yield unverifiable(
                item.service.origin,
                f"{lead}the placement search for the tasks needing {ports} ran out of its budget "
                f"(services {list_names(i.service.origin.label for i in group)}): overcommit is not ruled out",
                "simplify the port plan (fewer shared static ports) or acknowledge this finding",
            )
        return
    reasons = [
        f"the task count of {i.service.origin.label} is unknown ({counts[i.key].reason})"  # type: ignore[union-attr]
        for i in unknown_tasks
    ]
    for item in group:
        reasons.extend(item.pool.reasons())
    for item in wanting:
        yield unverifiable(
            item.service.origin,
            f"{lead}cannot tell whether the tasks needing {ports} fit on their capacity: "
            + "; ".join(dict.fromkeys(reasons)),
            "pass the templates that define the missing pieces too, or acknowledge this finding",
        )


def _blamed(demands: list[Demand], capacity: dict[Hashable, int], blocked: dict[Hashable, frozenset[Port]]) -> set[Hashable]:
    """The services of an overcommitted group whose tasks do not all fit beside what the others can run
    (see contention.fits_beside); one the search cannot decide is blamed, as the group is overcommitted."""
    blamed = set()
    for index, subject in enumerate(demands):
        if subject.tasks <= 0:
            continue
        fits = fits_beside(subject, demands[:index] + demands[index + 1 :], capacity, blocked)
        if fits is None or fits < subject.tasks:
            blamed.add(subject.name)
    return blamed


def _overcommitted(
    plan: PortPlan,
    group: list[PlacedService],
    verdict: Verdict,
    capacity: dict[Hashable, int],
    blocked: dict[Hashable, frozenset[Port]],
    holders: dict[tuple[Key, Port], list[PlacedService]],
    blamed: set[Hashable],
    scenario: Scenario,
) -> Iterator[Finding]:
    counts = scenario.counts
    told: set[Hashable] = set()
    if verdict.port is not None:
        # Every port wanted by more tasks than instances offer it, not only the first one found.
        for port in sorted(frozenset().union(*(i.ports for i in group))):
            for finding in _port_overcommitted(plan, group, port, capacity, blocked, holders, blamed, scenario):
                told.add((finding.template, finding.resource))  # the service's key
                yield finding
    if blamed <= told:
        return
    wanting = [i for i in group if isinstance(counts[i.key], int) and counts[i.key] > 0]  # type: ignore[operator]
    classes = {m.asg for i in wanting for m in i.pool.members}
    instances = sum(capacity.get(c, 0) for c in classes)
    label = describe_capacity(plan, classes)
    tasks = sum(counts[i.key] for i in wanting)  # type: ignore[misc]
    needed = _instances_needed(group, classes, capacity, blocked, instances, tasks, counts)
    names = ", ".join(
        f"{i.service.origin.label} ({plural(counts[i.key], 'task')})"  # type: ignore[arg-type]
        for i in sorted(wanting, key=lambda i: i.service.origin.label)
    )
    ports = describe_ports(frozenset().union(*(i.ports for i in wanting)))
    message = scenario.lead(group) + (
        f"{tasks} tasks of services {names} need host ports {ports}, and tasks that share a port cannot share an "
        f"instance: they need {needed} instances, but capacity {label} has at most {plural(instances, 'instance')}: "
        + PENDING.format(port=min(p for i in wanting for p in i.ports)[1])
    )
    if scenario.fix is not None:
        fix = scenario.fix(group, label, int(needed) if needed.isdigit() else None)
    else:
        fix = (
            "map the container ports dynamically (hostPort 0) behind the load balancer, or give capacity "
            f"{label} more instances (a higher MaxSize with managed scaling through a capacity provider), or run "
            "fewer tasks"
        )
    for item in wanting:
        if item.key in blamed and item.key not in told:
            yield scenario.rule.finding(item.service.origin, message, fix)


def _port_overcommitted(
    plan: PortPlan,
    group: list[PlacedService],
    port: Port,
    capacity: dict[Hashable, int],
    blocked: dict[Hashable, frozenset[Port]],
    holders: dict[tuple[Key, Port], list[PlacedService]],
    blamed: set[Hashable],
    scenario: Scenario,
) -> Iterator[Finding]:
    counts = scenario.counts
    wanting = [
        i for i in group if port in i.ports and isinstance(counts[i.key], int) and counts[i.key] > 0  # type: ignore[operator]
    ]
    classes: set[Hashable] = {m.asg for i in wanting for m in i.pool.members}
    # In the optimistic scenario a doubtful pool may also have instances the templates do not show.
    unseen = {virtual_class(i.pool.cluster) for i in wanting if i.pool.doubts} & capacity.keys()
    needed = sum(counts[i.key] for i in wanting)  # type: ignore[misc]
    offered = sum(capacity.get(c, 0) for c in classes if port not in blocked.get(c, ()))
    if needed <= offered + sum(capacity[c] for c in unseen):
        return
    instances = sum(capacity.get(c, 0) for c in classes)
    taken = instances - offered
    label = describe_capacity(plan, classes)
    message = scenario.lead(group) + (
        f"{needed + taken} tasks need {describe_port(port)} on capacity {label}, which has at most "
        f"{plural(instances, 'instance')}"
    )
    if taken:
        daemons = {d.service.origin.label for c in classes for d in holders.get((c, port), ())}
        message += f" ({taken} of them are tasks of daemon service {list_names(daemons)}, one on every instance)"
    message += ": " + PENDING.format(port=port[1])
    if scenario.fix is not None and taken < instances:
        fix = scenario.fix(group, label, needed + taken)
    elif taken == instances:
        fix = (
            f"map the container port dynamically (hostPort 0) or pick another host port: a daemon service "
            f"holds {describe_port(port)} on every instance"
        )
    else:
        fix = (
            f"map the container port dynamically (hostPort 0) behind the load balancer, or give capacity {label} "
            f"at least {needed + taken} instances (a higher MaxSize with managed scaling through a "
            "capacity provider), or run fewer tasks"
        )
    for item in wanting:
        if item.key in blamed:
            yield scenario.rule.finding(item.service.origin, message, fix)


def _instances_needed(
    group: list[PlacedService],
    classes: set[Key],
    capacity: dict[Hashable, int],
    blocked: dict[Hashable, frozenset[Port]],
    instances: int,
    tasks: int,
    counts: Counts,
) -> str:
    """The fewest instances that fit the group, for a single-group pool; else "more than N"."""
    if len(classes) == 1:
        only = next(iter(classes))
        demands = [
            Demand(i.key, counts[i.key], i.ports, frozenset(classes))  # type: ignore[arg-type]
            for i in group
            if isinstance(counts[i.key], int)
        ]
        for count in range(instances + 1, tasks + 1):
            verdict = place(demands, {only: count}, blocked)
            if verdict.fits:
                return str(count)
            if verdict.fits is None:
                break
    return f"more than {instances}"

"""static-port-overcommit: tasks that need a static host port, more than their capacity pool can place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import Port, PortPlan
from ..placement import Demand, Verdict, decide
from .contention import Contention, Counts, Fit, contention_groups, contention_of, desired_counts
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

NAMES_SHOWN = 10
"""Services (and ports) a message that names a whole group lists before it says how many more there are."""

RULE = Rule(
    id="static-port-overcommit",
    severity=ERROR,
    reported_on="service (or Auto Scaling group)",
    info="More tasks need a static host port on a capacity pool than it can have instances.",
    why="The extra tasks stay PENDING: no container instance has the port free (RESOURCE:PORTS).",
    fix="Map the port dynamically (hostPort 0), give the pool more instances, or run fewer tasks.",
)


@dataclass(frozen=True)
class Scenario:
    """What an overcommit judgment counts and how its findings read.

    `counts`: each replica service's tasks. `lead`: words put before a group's messages (empty for
    the desired counts). `fix`: the fix for a group's blamed services, given the capacity label and
    the instances needed (None when unknown). `chosen`: which of the blamed (or undecided) services
    are reported.
    """

    rule: Rule
    counts: Counts
    lead: Callable[[list[PlacedService]], str] = lambda group: ""
    fix: Callable[[list[PlacedService], str, int | None], str] | None = None
    chosen: Callable[[list[PlacedService], set[Hashable]], set[Hashable]] = lambda group, blamed: blamed


def check(plan: PortPlan) -> Iterator[Finding]:
    """More tasks need a host port on a pool than it has instances to offer (exact placement within a
    budget, sound bounds past it: see rules.contention)."""
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


def contending_groups(plan: PortPlan, counts: Counts) -> list[Contention]:
    """The groups of placed replica services that compete for ports, at `counts`, to judge: all but
    a service alone on its ports within a pool of known size that holds its count, and one whose
    memberOf rules out every instance (placement-constraint-overcommit's)."""
    holders = static_port_facts(plan).holders
    found = []
    for group in contention_groups(plan, counts):
        if len(group.items) == 1:
            only = group.items[0]
            count, high = group.counts[0], only.pool.high
            shared = any((m.asg, p) in holders for m in only.pool.members for p in only.ports)
            if not shared and type(count) is int and high is not None and count <= high:
                continue  # one service alone on its ports, within a pool of known size
            if not only.pool.members and only.pool.excluded and not only.pool.doubts:
                continue  # memberOf rules out every instance: placement-constraint-overcommit says so
        found.append(group)
    return found


def _group_ports(items: list[PlacedService]) -> str:
    """The static ports of a group's services, the first `NAMES_SHOWN` of them in full."""
    ports = sorted(frozenset().union(*(i.ports for i in items))) if items else []
    shown = describe_ports(ports[:NAMES_SHOWN])
    return shown + (f" and {len(ports) - NAMES_SHOWN} more" if len(ports) > NAMES_SHOWN else "")


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


def fits_at(group: Contention) -> bool | None:
    """Whether the group's tasks at its counts fit: True certainly, False certainly not (even on the
    most instances the templates allow), None when the templates or the budget leave it open."""
    if group.fits_for_certain:
        return True
    if group.unknown_tasks:
        return None
    return False if group.verdict.fits is False else None


def room_beside(plan: PortPlan, item: PlacedService, counts: Counts) -> Fit | None:
    """How many tasks of `item` fit beside the others of its group at `counts` (see contention.Contention.room);
    None when the capacity or another's count is unknown."""
    group = contention_of(plan, item.key, counts)
    return group.room(item.key) if group is not None else None


def judge(plan: PortPlan, group: Contention, scenario: Scenario) -> Iterator[Finding]:
    """Decide one group of services that compete for ports at its scenario's counts: pessimistic,
    then optimistic view."""
    holders = static_port_facts(plan).holders
    pessimistic = group.pessimistic
    if pessimistic is not None and pessimistic.verdict.fits:
        return
    verdict = group.verdict
    items = group.items
    if verdict.fits is False:
        yield from _overcommitted(plan, group, verdict, holders, scenario)
        return
    lead = scenario.lead(items)
    wanting = [i for i, c in zip(items, group.counts, strict=True) if isinstance(c, Unknown) or c > 0]
    told = scenario.chosen(items, {i.key for i in wanting})
    wanting = [i for i in wanting if i.key in told]
    ports = _group_ports(wanting)
    if verdict.fits is None or (pessimistic is not None and pessimistic.verdict.fits is None):
        message = (
            f"{lead}the placement search for the tasks needing {ports} ran out of its budget "
            f"(services {list_names(i.service.origin.label for i in items)}): overcommit is not ruled out "
            "(no greedy placement fits them all, and no port or set of services sharing ports is wanted by "
            "more tasks than the instances offer)"
        )
        for item in wanting:
            yield unverifiable(
                item.service.origin, message, "simplify the port plan (fewer shared static ports) or acknowledge this finding"
            )
        return
    reasons = [
        f"the task count of {i.service.origin.label} is unknown ({group.count(i.key).reason})"  # type: ignore[union-attr]
        for i in group.unknown_tasks
    ]
    for item in items:
        reasons.extend(item.pool.reasons())
    for item in wanting:
        yield unverifiable(
            item.service.origin,
            f"{lead}cannot tell whether the tasks needing {ports} fit on their capacity: "
            + "; ".join(dict.fromkeys(reasons)),
            "pass the templates that define the missing pieces too, or acknowledge this finding",
        )


def _overcommitted(
    plan: PortPlan,
    group: Contention,
    verdict: Verdict,
    holders: dict[tuple[Key, Port], list[PlacedService]],
    scenario: Scenario,
) -> Iterator[Finding]:
    """Blame the services whose tasks do not all fit beside what the others can run (at most `high`
    fit, below their count); say `unverifiable` for those whose bounds straddle their count; when
    the overcommit is certain but no service can be singled out, report it on the capacity."""
    capacity, blocked = group.capacity, group.blocked
    fits = group.fits()
    tasks = {d.name: d.tasks for d in group.demands}
    certain: set[Hashable] = {k for k, fit in fits.items() if tasks[k] > 0 and fit.high < tasks[k]}
    blamed = scenario.chosen(group.items, certain) if certain else set()
    wanting = [i for i in group.items if tasks[i.key] > 0 and isinstance(group.count(i.key), int)]
    undecided = [i for i in wanting if i.key not in certain and fits[i.key].low < tasks[i.key]]
    warned = scenario.chosen(group.items, {i.key for i in undecided}) if undecided else set()
    told: set[Hashable] = set()
    if verdict.port is not None:
        # Every port wanted by more tasks than instances offer it, not only the first one found.
        by_port: dict[Port, list[PlacedService]] = defaultdict(list)
        for item in wanting:
            for port in item.ports:
                by_port[port].append(item)
        for port in sorted(by_port):
            for finding in _port_overcommitted(
                plan, group, by_port[port], port, capacity, blocked, holders, blamed, scenario
            ):
                told.add((finding.template, finding.resource))  # the service's key
                yield finding
    if blamed <= told and (blamed or not undecided):
        yield from _undecided(group, [i for i in undecided if i.key in warned], fits, scenario)
        return
    classes = {m.asg for i in wanting for m in i.pool.members}
    instances = sum(capacity.get(c, 0) for c in classes)
    label = describe_capacity(plan, classes)
    total = sum(tasks[i.key] for i in wanting)
    needed = _instances_needed(group, wanting, classes, instances, total)
    shown = sorted(wanting, key=lambda i: i.service.origin.label)
    names = ", ".join(f"{i.service.origin.label} ({plural(tasks[i.key], 'task')})" for i in shown[:NAMES_SHOWN])
    if len(shown) > NAMES_SHOWN:
        names += f" and {len(shown) - NAMES_SHOWN} more"
    ports = _group_ports(wanting)
    message = scenario.lead(group.items) + (
        f"{total} tasks of services {names} need host ports {ports}, and tasks that share a port cannot share an "
        f"instance: they need {needed} instances, but capacity {label} has at most {plural(instances, 'instance')}: "
        + PENDING.format(port=min(p for i in wanting for p in i.ports)[1])
    )
    if scenario.fix is not None:
        fix = scenario.fix(group.items, label, int(needed) if needed.isdigit() else None)
    else:
        fix = (
            "map the container ports dynamically (hostPort 0) behind the load balancer, or give capacity "
            f"{label} more instances (a higher MaxSize with managed scaling through a capacity provider), or run "
            "fewer tasks"
        )
    if blamed:
        for item in wanting:
            if item.key in blamed and item.key not in told:
                yield scenario.rule.finding(item.service.origin, message, fix)
        yield from _undecided(group, [i for i in undecided if i.key in warned], fits, scenario)
        return
    # Overcommitted for certain, but the budget ran out before any one service could be singled out:
    # the capacity carries the error.
    message += (
        "; the placement search ran out of its budget before it could tell which services' tasks are the "
        "ones left over"
    )
    owners = [plan.auto_scaling_groups[c].origin for c in sorted(classes) if c in plan.auto_scaling_groups]
    for origin in owners or [i.service.origin for i in undecided if i.key in warned]:
        yield scenario.rule.finding(origin, message, fix)


def _undecided(group: Contention, undecided: list[PlacedService], fits: dict[Key, Fit], scenario: Scenario) -> Iterator[Finding]:
    """`unverifiable` for the services of an overcommitted group the budget left undecided."""
    if not undecided:
        return
    names = list_names(i.service.origin.label for i in group.items)
    lead = scenario.lead(group.items)
    for item in undecided:
        fit = fits[item.key]
        count = group.count(item.key)
        yield unverifiable(
            item.service.origin,
            f"{lead}its tasks share host ports {describe_ports(item.ports)} with services whose tasks do not all fit "
            f"(services {names}); between {fit.low} and {fit.high} of its {count} tasks fit beside what the others "
            "can run, and the placement search ran out of its budget before it could tell whether all of them do",
            "simplify the port plan (fewer shared static ports) or acknowledge this finding",
        )


def _port_overcommitted(
    plan: PortPlan,
    group: Contention,
    wanting: list[PlacedService],
    port: Port,
    capacity: dict[Hashable, int],
    blocked: dict[Hashable, frozenset[Port]],
    holders: dict[tuple[Key, Port], list[PlacedService]],
    blamed: set[Hashable],
    scenario: Scenario,
) -> Iterator[Finding]:
    classes: set[Hashable] = {m.asg for i in wanting for m in i.pool.members}
    # In the optimistic view a doubtful pool may also have instances the templates do not show.
    unseen = {virtual_class(i.pool.cluster) for i in wanting if i.pool.doubts} & capacity.keys()
    needed = sum(group.count(i.key) for i in wanting)  # type: ignore[misc]
    offered = sum(capacity.get(c, 0) for c in classes if port not in blocked.get(c, ()))
    if needed <= offered + sum(capacity[c] for c in unseen):
        return
    instances = sum(capacity.get(c, 0) for c in classes)
    taken = instances - offered
    label = describe_capacity(plan, classes)
    message = scenario.lead(group.items) + (
        f"{needed + taken} tasks need {describe_port(port)} on capacity {label}, which has at most "
        f"{plural(instances, 'instance')}"
    )
    if taken:
        daemons = {d.service.origin.label for c in classes for d in holders.get((c, port), ())}
        message += f" ({taken} of them are tasks of daemon service {list_names(daemons)}, one on every instance)"
    message += ": " + PENDING.format(port=port[1])
    if scenario.fix is not None and taken < instances:
        fix = scenario.fix(group.items, label, needed + taken)
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


def _instances_needed(group: Contention, wanting: list[PlacedService], classes: set[Key], instances: int, tasks: int) -> str:
    """The fewest instances that fit the group, for a single-group pool (a binary search over the
    count, on the group's budget); else, or when the budget runs out, a bound."""
    if len(classes) != 1 or group.budget.exhausted:
        return f"more than {instances}"
    only = next(iter(classes))
    demands = [Demand(i.key, group.count(i.key), i.ports, frozenset(classes)) for i in wanting]  # type: ignore[arg-type]
    low, high = instances + 1, max(tasks, instances + 1)
    if decide(demands, {only: high}, group.blocked, group.budget).verdict.fits is not True:
        return f"more than {instances}"
    while low < high:  # `high` instances fit them, `low - 1` do not
        if group.budget.exhausted:
            return f"at least {low}"
        middle = (low + high) // 2
        verdict = decide(demands, {only: middle}, group.blocked, group.budget).verdict.fits
        if verdict is None:
            return f"at least {low}"
        if verdict:
            high = middle
        else:
            low = middle + 1
    return str(low)


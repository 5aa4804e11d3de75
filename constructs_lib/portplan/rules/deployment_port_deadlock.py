"""deployment-port-deadlock: a rolling deployment with static host ports that can neither stop nor start a task."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import Port, PortPlan
from ..rollout import healthy_floor, stop_first_percent, task_ceiling
from .facts import PlacedService, distinct_services, static_port_facts
from .rule import Rule
from .unverifiable import unverifiable
from .wording import describe_capacity, describe_ports, list_names, plural

RULE = Rule(
    id="deployment-port-deadlock",
    severity=ERROR,
    info="A rolling deployment with static host ports can neither stop an old task first nor start a new one.",
    why="The deployment hangs with its new tasks PENDING until it times out or the circuit breaker rolls back.",
    fix="Lower minimumHealthyPercent so one task may stop first, or keep spare instances and maximumPercent above 100.",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """A rolling deployment that can neither stop an old task first nor start a new one."""
    facts = static_port_facts(plan)
    placed, holders = facts.placed, facts.holders
    sharing: dict[tuple[Key, Port], list[PlacedService]] = defaultdict(list)
    for item in placed:
        if not item.service.daemon:
            for member in item.pool.members:
                for port in item.ports:
                    sharing[(member.asg, port)].append(item)
    for item in [*placed, *distinct_services(plan)]:
        rolling = item.service.rolling
        if rolling is False:
            continue
        if isinstance(rolling, Unknown):
            yield unverifiable(
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
            yield unverifiable(
                service.origin,
                f"its {what} is unknown ({value.reason}): a rolling-deployment deadlock on {describe_ports(item.ports)} "
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
        f"a rolling deployment cannot replace any of the {plural(desired, 'task')}: minimumHealthyPercent "
        f"{minimum} keeps all of them running (ceil({desired} x {minimum}%) = {keep}), so no old task may stop "
        "first, and "
    )
    hangs = "; the deployment hangs, its new tasks PENDING, until it times out or the circuit breaker rolls it back"
    if start <= desired:
        yield RULE.finding(
            service.origin,
            kept + f"maximumPercent {maximum} allows no extra task (floor({desired} x {maximum}%) = {start})" + hangs,
            f"lower minimumHealthyPercent to {lower} (one task stops first) or 0, or raise maximumPercent above 100 "
            "and give the capacity a spare instance",
        )
        return
    members = {m.asg for m in item.pool.members}
    label = describe_capacity(plan, members)
    daemons = {d.service.origin.label for a in members for p in item.ports for d in holders.get((a, p), ())}
    if daemons:
        yield RULE.finding(
            service.origin,
            kept + f"every new task needs {describe_ports(item.ports)}, which daemon service {list_names(daemons)} holds on "
            f"every instance of capacity {label}" + hangs,
            f"lower minimumHealthyPercent to {lower} (one task stops first) or 0, and move the daemon off "
            f"{describe_ports(item.ports)}",
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
        yield RULE.finding(
            service.origin,
            kept + f"every new task needs {describe_ports(item.ports)}, which {plural(tasks, 'task')} already hold on "
            f"capacity {label} of at most {plural(high, 'instance')}, so there is no instance to start one on" + hangs,
            f"lower minimumHealthyPercent to {lower} (one task stops first) or 0, or give capacity {label} spare "
            f"instances (at least {tasks + 1}, e.g. a higher MaxSize with managed scaling) and keep maximumPercent "
            "above 100",
        )
    elif uncertain or item.pool.low - tasks <= 0:
        yield unverifiable(
            service.origin,
            f"cannot tell whether a rolling deployment finds a spare instance for {describe_ports(item.ports)}: "
            + "; ".join(item.pool.reasons() or ("the desired count of a service sharing the port is unknown",)),
            f"lower minimumHealthyPercent to {lower} or 0 to rule the deadlock out, or pass the missing templates",
        )


def _daemon_deadlock(plan: PortPlan, item: PlacedService) -> Iterator[Finding]:
    service = item.service
    minimum = service.minimum_healthy_percent
    if isinstance(minimum, Unknown):
        yield unverifiable(
            service.origin, f"its minimumHealthyPercent is unknown ({minimum.reason}): a deadlock is not ruled out"
        )
        return
    if minimum <= 0:
        return
    pool = item.pool
    label = describe_capacity(plan, [m.asg for m in pool.members])
    hangs = (
        f"each instance's new task needs {describe_ports(item.ports)}, which the old task holds there; "
        "the deployment hangs until it times out or the circuit breaker rolls it back"
    )
    fix = "set minimumHealthyPercent to 0 (the DAEMON default)"
    if pool.high is not None:
        count = pool.high
        keep = healthy_floor(count, minimum)
        if count > 0 and keep >= count:
            if count > 1:
                fix += f" or to at most {stop_first_percent(count)}"
            yield RULE.finding(
                service.origin,
                f"a rolling deployment of the daemon on capacity {label} ({plural(count, 'instance')}) cannot "
                f"replace its tasks: minimumHealthyPercent {minimum} keeps all {keep} running "
                f"(ceil({count} x {minimum}%) = {keep}), and {hangs}",
                fix,
            )
    elif minimum >= 100:
        yield RULE.finding(
            service.origin,
            f"a rolling deployment of the daemon cannot replace its tasks: minimumHealthyPercent {minimum} keeps "
            f"every task running, and {hangs}",
            fix,
        )
    else:
        yield unverifiable(
            service.origin,
            f"cannot tell whether minimumHealthyPercent {minimum} lets the daemon's deployment stop a task: "
            "the number of instances is unknown (" + "; ".join(pool.reasons()) + ")",
            fix,
        )

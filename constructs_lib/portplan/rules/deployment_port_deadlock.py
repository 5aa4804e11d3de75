"""deployment-port-deadlock: a rolling deployment with static host ports that can neither stop nor start a task."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import Port, PortPlan
from ..rollout import healthy_floor, stop_first_percent, task_ceiling
from .contention import contention_of, desired_counts
from .facts import DISTINCT_INSTANCE, PlacedService, distinct_services, peak_count, static_port_facts
from .scaling_port_overcommit import overcommitted_at_maximum
from .static_port_overcommit import fits_at
from .rule import Rule
from .unverifiable import unverifiable
from .wording import describe_capacity, describe_ports, list_names, plural

RULE = Rule(
    id="deployment-port-deadlock",
    severity=ERROR,
    reported_on="service",
    info=(
        "A deployment of tasks with static host ports (or distinctInstance) has nowhere to start its new tasks: a "
        "rolling one cannot stop an old task first, a blue/green one needs the instances twice."
    ),
    why="The deployment hangs with its new tasks PENDING until it times out or rolls back.",
    fix=(
        "Rolling: lower minimumHealthyPercent so one task may stop first, or keep spare instances and maximumPercent "
        "above 100. Blue/green: give the capacity twice the instances, or map the port dynamically."
    ),
)

DEPLOYMENTS = {
    "CODE_DEPLOY": "a CodeDeploy blue/green deployment (DeploymentController CODE_DEPLOY)",
    "BLUE_GREEN": "an ECS blue/green deployment (deployment strategy BLUE_GREEN)",
    "LINEAR": "an ECS linear deployment (deployment strategy LINEAR)",
    "CANARY": "an ECS canary deployment (deployment strategy CANARY)",
}
"""How messages name each deployment that starts a whole new set of tasks beside the old one."""


SMALL_UNION = 512
"""Service entries below which `Sharing.tasks` walks the services one by one rather than bit sets."""


class Sharing:
    """The replica services holding each static port on each Auto Scaling group, and the sum of the
    tasks of those on any set of (group, port) pairs, each service counted once.

    Where many services share a port (25,000 services drawing from 40 ports), walking them for every
    service's deployment would be quadratic: past `SMALL_UNION` entries a union is a bit set (one bit
    per service, one per (group, port) pair kept when it is dense), and its tasks are summed from bit
    planes of the counts (plane b: the services whose count has bit b set), a few integer operations.
    """

    def __init__(self, placed: list[PlacedService]) -> None:
        replicas = [i for i in placed if not i.service.daemon]
        self.bits = {item.key: index for index, item in enumerate(replicas)}
        self.size = len(replicas)
        self.lists: dict[tuple[Key, Port], list[int]] = defaultdict(list)
        for index, item in enumerate(replicas):
            for member in item.pool.members:
                for port in item.ports:
                    self.lists[(member.asg, port)].append(index)
        counts = [i.service.desired_count for i in replicas]
        self.counts = [max(c, 0) if isinstance(c, int) else 0 for c in counts]
        self.unknown = {index for index, c in enumerate(counts) if isinstance(c, Unknown)}
        self._planes: list[int] | None = None
        self._unknown_mask: int | None = None
        self._masks: dict[tuple[Key, Port], int] = {}

    def tasks(self, keys: list[tuple[Key, Port]], own: Hashable) -> tuple[int, bool]:
        """The tasks of the services holding any of `keys` but `own`, and whether one's count is unknown."""
        lists = [self.lists[k] for k in keys if k in self.lists]
        skip = self.bits.get(own)
        if sum(len(found) for found in lists) <= SMALL_UNION:
            seen = set().union(*lists)
            seen.discard(skip)  # type: ignore[arg-type]
            return sum(self.counts[i] for i in seen), not self.unknown.isdisjoint(seen)
        union = 0
        for key in keys:
            if key in self.lists:
                union |= self._mask(key)
        if skip is not None:
            union &= ~(1 << skip)
        planes = self._bit_planes()
        total = sum((union & plane).bit_count() << bit for bit, plane in enumerate(planes))
        return total, bool(union & self._unknown())

    def _mask(self, key: tuple[Key, Port]) -> int:
        found = self._masks.get(key)
        if found is None:
            found = self._from(self.lists[key])
            if len(self.lists[key]) * 64 >= self.size:  # dense enough to keep: no more than a list's memory
                self._masks[key] = found
        return found

    def _from(self, indices: Iterable[int]) -> int:
        data = bytearray((self.size >> 3) + 1)
        for index in indices:
            data[index >> 3] |= 1 << (index & 7)
        return int.from_bytes(data, "little")

    def _bit_planes(self) -> list[int]:
        if self._planes is None:
            width = max(self.counts, default=0).bit_length()
            self._planes = [self._from(i for i, c in enumerate(self.counts) if c >> bit & 1) for bit in range(width)]
        return self._planes

    def _unknown(self) -> int:
        if self._unknown_mask is None:
            self._unknown_mask = self._from(self.unknown)
        return self._unknown_mask


def check(plan: PortPlan) -> Iterator[Finding]:
    """A rolling deployment that can neither stop an old task first nor start a new one."""
    facts = static_port_facts(plan)
    placed, holders = facts.placed, facts.holders
    sharing = Sharing(placed)
    for item in [*placed, *distinct_services(plan)]:
        rolling = item.service.rolling
        if item.service.blue_green and not item.service.daemon:
            yield from _blue_green_deadlock(plan, item)
            continue
        if item.service.deployment == "EXTERNAL":
            yield unverifiable(
                item.service.origin,
                "its task sets are managed outside ECS (DeploymentController EXTERNAL): whether a deployment finds "
                f"instances free of {describe_ports(item.ports)} cannot be checked",
                "acknowledge this finding, or check the external deployment's task sets against the capacity",
            )
            continue
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
            continue
        found = list(_replica_deadlock(plan, item, sharing, holders))
        yield from found
        if not any(f.rule == RULE.id for f in found):
            yield from _at_scaling_maximum(plan, item, sharing, holders)


def _replica_deadlock(
    plan: PortPlan,
    item: PlacedService,
    sharing: Sharing,
    holders: dict[tuple[Key, Port], list[PlacedService]],
    counts: dict[Hashable, int | Unknown] | None = None,
) -> Iterator[Finding]:
    """Whether a rolling deployment can start a task (or stop one first): the others' tasks on its
    ports counted first (enough when even that many leave an instance free), then, where they may
    share instances, how many of its tasks fit beside whatever they can run (`contention`).
    `counts` is the scenario (by default the desired counts)."""
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
            f"lower minimumHealthyPercent to {_lower(lower)}, or raise maximumPercent above 100 "
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
            f"lower minimumHealthyPercent to {_lower(lower)}, and move the daemon off "
            f"{describe_ports(item.ports)}",
        )
        return
    high = item.pool.high
    tasks, uncertain = desired, False
    keys: list[tuple[Key, Port]] = []
    for member in members:  # the others on its ports, group by group, until they fill the capacity
        keys.extend((member, port) for port in item.ports)
        found, uncertain = sharing.tasks(keys, item.key)
        tasks = desired + found
        if high is not None and tasks >= high:
            break
    if not uncertain and item.pool.low - tasks > 0:
        return  # even if every task on its ports held an instance of its own, one is free
    # Tasks holding different ports of it may share an instance: the count above only bounds. Where
    # others share its ports, ask how many of its tasks fit beside whatever they can run.
    room = None
    if tasks > desired and not uncertain:
        contention = contention_of(plan, item.key, counts)
        room = contention.room(item.key) if contention is not None else None
    deadlocked = high is not None and high - tasks <= 0 and tasks == desired  # alone on its ports: exact
    if room is not None:
        deadlocked = room.high <= desired
        if not deadlocked and room.low > desired:
            return
    if deadlocked:
        assert high is not None
        fitting = room.high if room is not None else high
        beside = (
            f", and at most {plural(fitting, 'task')} of it fit beside theirs" if room is not None else ""
        )
        yield RULE.finding(
            service.origin,
            kept + f"every new task needs {describe_ports(item.ports)}, which {plural(tasks, 'task')} already "
            f"{'holds' if tasks == 1 else 'hold'} on "
            f"capacity {label} of at most {plural(high, 'instance')}{beside}, so there is no instance to start one on"
            + hangs,
            f"lower minimumHealthyPercent to {_lower(lower)}, or give capacity {label} spare "
            f"instances (at least {high + desired + 1 - fitting}, e.g. a higher MaxSize with managed scaling) and keep "
            "maximumPercent above 100",
        )
        return
    if room is not None or (not uncertain and high is not None):
        reasons: tuple[str, ...] = ("the placement search ran out of its budget",)
    else:
        reasons = item.pool.reasons() or ("the desired count of a service sharing the port is unknown",)
    yield unverifiable(
        service.origin,
        f"cannot tell whether a rolling deployment finds a spare instance for {describe_ports(item.ports)}: "
        + "; ".join(reasons),
        f"lower minimumHealthyPercent to {_lower(lower)} to rule the deadlock out",
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


def _at_scaling_maximum(
    plan: PortPlan,
    item: PlacedService,
    sharing: Sharing,
    holders: dict[tuple[Key, Port], list[PlacedService]],
) -> Iterator[Finding]:
    """A rolling deployment while auto scaling holds the service at its maximum: the same check, at
    that count (a count that does not even fit is scaling-port-overcommit's)."""
    most = peak_count(plan, item.service)
    desired = item.service.desired_count
    if not isinstance(most, int) or not isinstance(desired, int) or most <= desired:
        return
    high = item.pool.high
    if (high is not None and most > high) or item.key in overcommitted_at_maximum(plan):
        return
    scaled = PlacedService(dataclasses.replace(item.service, desired_count=most), item.definition, item.pool)
    scaled.ports = item.ports
    lead = f"when service auto scaling holds it at its maximum of {plural(most, 'task')}, "
    counts = dict(desired_counts(plan))
    counts[item.key] = most
    for finding in _replica_deadlock(plan, scaled, sharing, holders, counts):
        if finding.rule == RULE.id:
            yield dataclasses.replace(finding, message=lead + finding.message)


def _blue_green_deadlock(plan: PortPlan, item: PlacedService) -> Iterator[Finding]:
    """The new task set starts at the full count beside the old one (CodeDeploy's replacement task set;
    ECS's green service revision, whatever pace traffic then shifts at): both must fit at once."""
    service = item.service
    kind = DEPLOYMENTS[service.deployment]  # type: ignore[index]
    counts: dict[Hashable, int | Unknown] = dict(desired_counts(plan))
    for tasks, scaled in ((service.desired_count, False), (peak_count(plan, service), True)):
        if isinstance(tasks, Unknown):
            yield unverifiable(
                service.origin,
                f"its {'scaling maximum' if scaled else 'desired count'} is unknown ({tasks.reason}): whether {kind} "
                f"finds instances free of {describe_ports(item.ports)} for its new tasks cannot be checked",
            )
            return
        if tasks <= 0 or (scaled and tasks == service.desired_count):
            continue
        verdict, group, label, instances = _doubled(plan, item, counts, tasks)
        if verdict is True:
            continue
        at = f" at its scaling maximum of {plural(tasks, 'task')}" if scaled else ""
        if verdict is None:
            yield unverifiable(
                service.origin,
                f"cannot tell whether {kind}{at} finds instances for {tasks} new tasks beside the {tasks} running: "
                + "; ".join(dict.fromkeys(r for i in group for r in i.pool.reasons()) or ["a count is unknown"]),
            )
            return
        others = sorted({i.service.origin.label for i in group if i.key != item.key})
        beside = f" (beside the tasks of {list_names(others)})" if others else ""
        yield RULE.finding(
            service.origin,
            f"{kind}{at} starts {plural(tasks, 'new task')} beside the {tasks} running before it stops any, and all "
            f"{2 * tasks} need {describe_ports(item.ports)}, one per instance{beside}, but capacity {label} has at most "
            f"{plural(instances, 'instance')}: the new tasks stay PENDING (RESOURCE:PORTS), and the deployment hangs "
            "until it times out and rolls back",
            f"give capacity {label} at least {2 * tasks} instances free of {describe_ports(item.ports)} (a higher "
            "MaxSize with managed scaling through a capacity provider: ECS scales out for the new tasks), or map the "
            "container port dynamically (hostPort 0), or deploy with a rolling update whose minimumHealthyPercent lets "
            "a task stop first",
        )
        return


def _doubled(
    plan: PortPlan, item: PlacedService, counts: dict[Hashable, int | Unknown], tasks: int
) -> tuple[bool | None, list[PlacedService], str, int]:
    """Whether the service's tasks fit twice over beside its competitors; the group, capacity, instances."""
    counts[item.key] = 2 * tasks
    label = describe_capacity(plan, [m.asg for m in item.pool.members])
    if item.ports == {DISTINCT_INSTANCE}:
        group = [item]
        high = item.pool.high
        verdict = True if high is not None and 2 * tasks <= high else (False if high is not None else None)
        if verdict is None and 2 * tasks <= item.pool.low:
            verdict = True
        return verdict, group, label, high or 0
    contention = contention_of(plan, item.key, counts)
    group = contention.items if contention is not None else [item]
    alone = len(group) == 1 and item.pool.high is not None and 2 * tasks <= item.pool.high
    verdict = True if alone or contention is None else fits_at(contention)
    classes = {m.asg for i in group for m in i.pool.members}
    instances = sum(
        max((m.instances for i in group for m in i.pool.members if m.asg == c and isinstance(m.instances, int)), default=0)
        for c in classes
    )
    return verdict, group, describe_capacity(plan, classes), instances


def _lower(lower: int) -> str:
    """`50 (one task stops first) or 0`; `0 (one task stops first)` when that is already 0."""
    return "0 (one task stops first)" if lower == 0 else f"{lower} (one task stops first) or 0"

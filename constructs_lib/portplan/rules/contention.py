"""How many tasks of a service fit beside the others that hold the same static host ports.

One answer for the `static-port-overcommit` rule (which services it blames) and the plan (`fits`,
and `OVER` where a service's desired count exceeds it), so the two always agree: both read the
`Contention` of each group of competing services, worked out once per plan (`contention_groups`).

`fits_beside(S)` is the number of S's tasks that can still run *whatever set of the other
services' tasks runs first*, as long as that set can run together (each other service at most at
its desired count). When all the others fit, that is simply how many of S's tasks fit beside all of
them. When the others cannot all run (their group is overcommitted), it is the worst case over the
largest sets of their tasks that can: a service is blamed only when some of the others' tasks,
which could have been placed, leave no room for all of its own; one whose tasks fit beside
anything the others can run is not.

Deciding it exactly is a search (a coloring question, then an enumeration of the others' largest
placeable sets); it runs on a budget. Before it, and in its place once the budget is spent, sound
bounds (`Fit`) that cost a few operations per port of S:

- at most: S's tasks need instances of their own classes; and for each port p of S, the others'
  tasks wanting p that can be placed together (at most as many as a matching gives them) hold p on
  distinct instances, which S cannot use: those of the classes S and they share, and, of them, the
  ones whose classes lie within S's (they cannot move out of S's way);
- at least: S's usable instances minus, per port of S, the others' tasks wanting it (each occupies
  at most one instance); when the whole group fits, S's own count; and with a placement of the
  whole group (the greedy's), S's count plus the instances of S's classes that hold none of S's
  ports there.

When the two meet the answer is exact without a search. A service is blamed when even the bound
"at most" is below its count; when the bounds straddle its count the rule says `unverifiable`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from functools import cached_property

from ..intrinsics import Key, Unknown
from ..model import Port, PortPlan
from ..placement import (
    GREEDY_UNITS,
    WORK_PER_NODE,
    Budget,
    Decision,
    Demand,
    Layout,
    Verdict,
    components,
    decide,
    max_flow,
    usable_classes,
)
from .facts import PlacedService, StaticPortFacts, static_port_facts, virtual_class

ENUMERATION_BUDGET = 2_000
"""Placement verdicts one `fits_beside` (or the refinement of one service's fit) may ask for."""
PLAN_WORK = 2_000_000
"""Work units (see placement.Budget) for the placement searches of all contention groups of a plan,
shared out evenly between the groups of more than one service: under a second."""
GROUP_WORK_FLOOR = 20_000
"""The least work units a group gets, however many groups the plan has (a few milliseconds)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Fit:
    """How many tasks of a service fit beside the others: at least `low`, at most `high` (equal when
    decided exactly)."""

    low: int
    high: int

    @property
    def exact(self) -> int | None:
        """The number when decided, else None."""
        return self.low if self.low == self.high else None


class _OutOfBudget(Exception):
    pass


class _Scenario:
    """The demands of one group and what every member's bounds read: usable classes and instances,
    and per port the tasks that want it, by their usable classes."""

    def __init__(
        self,
        demands: Sequence[Demand],
        capacity: Mapping[Hashable, int],
        blocked: Mapping[Hashable, frozenset[Port]],
    ) -> None:
        self.demands = list(demands)
        self.capacity = capacity
        self.blocked = blocked
        self.usable = [usable_classes(d, capacity, blocked) for d in self.demands]
        self.room = [sum(capacity[c] for c in u) for u in self.usable]
        self.needs: dict[Port, dict[frozenset[Hashable], int]] = defaultdict(lambda: defaultdict(int))
        for demand, usable in zip(self.demands, self.usable, strict=True):
            if demand.tasks > 0:
                for port in demand.ports:
                    self.needs[port][usable] += demand.tasks
        self.flows: dict[tuple[Port, frozenset[Hashable], int], tuple[int, int, int, int]] = {}

    def bounds(self, index: int, witness: Layout | None = None, floor: int = 0) -> Fit:
        """Bounds of how many tasks of demand `index` fit beside all the others at their counts
        (see the module's docstring); `witness` places the whole group, `floor` is known to fit."""
        subject = self.demands[index]
        usable, room = self.usable[index], self.room[index]
        high, crowd = room, 0
        for port in subject.ports:
            matched, union, forced, near = self._port(port, usable, max(subject.tasks, 0))
            high = min(high, union - matched, room - forced)
            crowd += min(room, near)
        low = max(0, room - crowd, floor)
        if witness is not None and subject.tasks > 0:
            low = max(low, subject.tasks + witness.free(usable, witness.mask(subject.ports)))
        high = max(high, 0)
        return Fit(min(low, high), high)

    def _port(self, port: Port, usable: frozenset[Hashable], own: int) -> tuple[int, int, int, int]:
        """For the others wanting `port` (the subject, of classes `usable` and `own` tasks, left out):
        the most of their tasks placeable together, the instances of their and the subject's classes,
        the most of them confined to the subject's classes, and their tasks that can reach those."""
        key = (port, usable, own)
        found = self.flows.get(key)
        if found is None:
            needs = dict(self.needs.get(port, {}))
            if own and usable in needs:
                needs[usable] -= own
            needs = {s: n for s, n in needs.items() if n > 0}
            classes = set(usable).union(*needs) if needs else set(usable)
            union = sum(self.capacity.get(c, 0) for c in classes)
            forced = {s: n for s, n in needs.items() if s <= usable}
            near = sum(n for s, n in needs.items() if s & usable)
            found = self.flows[key] = (max_flow(needs, self.capacity), union, max_flow(forced, self.capacity), near)
        return found

    def refine(
        self, index: int, fit: Fit, budget: Budget, calls: int, together: bool | None = None, search: bool = True
    ) -> Fit:
        """Narrow `fit` by placement verdicts, at most `calls` of them and within `budget`; `together`
        says whether the others (at their counts) fit, when known. Without `search` only greedy
        placements are tried (the upper bound first, which they often meet), a cheap first pass."""
        if fit.low >= fit.high:
            return fit
        subject = self.demands[index]
        others = self.demands[:index] + self.demands[index + 1 :]
        oracle = _Oracle(subject, others, self.capacity, self.blocked, budget, calls)
        low, high = fit.low, fit.high
        desired = tuple(d.tasks for d in others)
        worst = high  # the least room beside a largest placeable set of the others seen so far
        try:
            if together is None:
                together = oracle(desired, 0, search)
            if together and not search:
                if oracle(desired, high, False):
                    return Fit(high, high)
                top = high - 1  # the greedy's own bisection: what it places is proven, what it misses is not
                while low < top:
                    middle = (low + top + 1) // 2
                    placed = oracle(desired, middle, False)
                    if placed:
                        low = middle
                    else:
                        top = middle - 1
                        if placed is False:
                            high = top
                return Fit(low, high)
            if together:
                while low < high:  # k tasks fitting means k - 1 fit too
                    middle = (low + high + 1) // 2
                    if oracle(desired, middle):
                        low = middle
                    else:
                        high = middle - 1
                return Fit(low, high)
            if together is None or not search:
                return fit
            for counts in oracle.maximal_sets(desired):
                worst = min(worst, oracle.most(counts, low, worst))
                if worst <= low:
                    break
            return Fit(worst, worst)
        except _OutOfBudget:
            return Fit(low, min(high, worst, oracle.ceiling))


def fits_beside(
    subject: Demand,
    others: Sequence[Demand],
    capacity: Mapping[Hashable, int],
    blocked: Mapping[Hashable, frozenset[Port]],
    budget: int = ENUMERATION_BUDGET,
) -> int | None:
    """The most tasks of `subject` that fit whatever placeable set of the others' tasks runs first.

    `subject.tasks` is ignored; `others` carry their desired counts. None when the bounds do not
    meet and `budget` placement verdicts (each on a budget of its own) do not decide it either.
    """
    scenario = _Scenario([*others, dataclasses.replace(subject, tasks=0)], capacity, blocked)
    index = len(others)
    fit = scenario.bounds(index)
    return scenario.refine(index, fit, Budget(budget * WORK_PER_NODE), budget).exact


class _Oracle:
    """Whether given task counts of the others plus `k` tasks of the subject fit, remembered.

    `ceiling` is the least count of subject tasks seen not to fit beside a placeable set of the
    others: an upper bound of fits_beside even when the enumeration stops early."""

    def __init__(
        self,
        subject: Demand,
        others: Sequence[Demand],
        capacity: Mapping[Hashable, int],
        blocked: Mapping[Hashable, frozenset[Port]],
        budget: Budget,
        calls: int,
    ) -> None:
        self.subject = subject
        self.others = others
        self.capacity = capacity
        self.blocked = blocked
        self.budget = budget
        self.calls = calls
        self.known: dict[tuple[tuple[int, ...], int], bool] = {}
        self.ceiling = 1 << 62

    def __call__(self, counts: tuple[int, ...], tasks: int, search: bool = True) -> bool | None:
        """Whether the others at `counts` and `tasks` subject tasks fit; without `search`, None when the
        steps before the exact search do not tell (see placement.decide); else _OutOfBudget then."""
        key = (counts, tasks)
        found = self.known.get(key)
        if found is None:
            if len(self.known) >= self.calls or self.budget.exhausted:
                raise _OutOfBudget
            self.budget.charge(GREEDY_UNITS // 4 * len(self.others))  # building the demands
            demands = [dataclasses.replace(d, tasks=n) for d, n in zip(self.others, counts, strict=True) if n]
            demands.append(dataclasses.replace(self.subject, tasks=tasks))
            verdict = decide(
                demands, self.capacity, self.blocked, self.budget, first=self.subject.name, search=search
            ).verdict.fits
            if verdict is None:
                if not search:
                    return None
                raise _OutOfBudget
            found = self.known[key] = verdict
        return found

    def most(self, counts: tuple[int, ...], low: int, high: int) -> int:
        """The largest k in [low, high] with the others at `counts` (which fit together) and k subject
        tasks fitting, given that `low` fit (k tasks fitting means k - 1 fit too)."""
        while low < high:
            middle = (low + high + 1) // 2
            if self(counts, middle):
                low = middle
            else:
                high = middle - 1
                self.ceiling = min(self.ceiling, high)
        return low

    def maximal_sets(self, desired: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        """The others' task counts (each at most desired) that fit together and cannot grow by one
        task, in decreasing lexicographic order; an explicit stack, no recursion."""
        size = len(desired)
        if not size:
            yield ()
            return
        prefix: list[int] = []
        following = [desired[0]]  # per depth, the next count to try there
        while following:
            depth = len(following) - 1
            count = following[depth]
            if count < 0:
                following.pop()
                if prefix:
                    prefix.pop()
                continue
            following[depth] = count - 1
            candidate = (*prefix, count, *(0,) * (size - depth - 1))
            if not self(candidate, 0):  # fitting is monotone: fewer tasks fit too
                continue
            if depth + 1 < size:
                prefix.append(count)
                following.append(desired[depth + 1])
                continue
            grows = any(
                candidate[i] < desired[i] and self((*candidate[:i], candidate[i] + 1, *candidate[i + 1 :]), 0)
                for i in range(size)
            )
            if not grows:
                yield candidate


# -- the groups of a plan ------------------------------------------------------------------------------


def pool_classes(item: PlacedService) -> frozenset[Hashable]:
    """Where the service's tasks can land: its pool's groups, and capacity the templates may not show."""
    classes: list[Hashable] = [m.asg for m in item.pool.members]
    if item.pool.doubts:
        classes.append(virtual_class(item.pool.cluster))
    return frozenset(classes)


Counts = Mapping[Hashable, "int | Unknown"]
"""Tasks of each replica service, by service key: the scenario a group is judged in (the desired
counts; or some services at their scaling maximum; or one deployed twice over, blue/green)."""


def desired_counts(plan: PortPlan) -> dict[Hashable, int | Unknown]:
    """Every placed replica service at its desired count."""
    return {i.key: i.service.desired_count for i in static_port_facts(plan).placed if not i.service.daemon}


class Contention:
    """One group of replica services linked by static host ports they share on shared capacity, at
    the task `counts` of one scenario, decided once per plan for the rules and the plan alike.

    Two views of the capacity: pessimistic (the instances the templates certainly give, every count
    known) and, when the templates leave something open (`doubtful`), optimistic (unknown sizes and
    capacity beyond the templates as large as the group could use, unknown counts as zero). The
    judged view (`demands`, `capacity`, `blocked`) is the optimistic one when doubtful, else the
    pessimistic one; `decision` is its verdict and `fits` every member's fit in it. The group's
    exact searches share one `budget`, spent in a fixed order (pessimistic, optimistic, fits), so
    whichever door asks first, the answers are the same.
    """

    def __init__(
        self,
        items: list[PlacedService],
        holders: Mapping[tuple[Key, Port], list[PlacedService]],
        units: int,
        counts: Sequence[int | Unknown] | None = None,
    ) -> None:
        self.items = items
        self.holders = holders
        self.units = units
        self.counts: tuple[int | Unknown, ...] = (
            tuple(counts) if counts is not None else tuple(i.service.desired_count for i in items)
        )
        """Each member's tasks in the scenario, in the order of `items`."""
        self._pessimistic: Decision | None = None
        self._optimistic: Decision | None = None
        self._fits: dict[Key, Fit] | None = None

    def count(self, key: Hashable) -> int | Unknown:
        """The tasks of the member `key` in the scenario."""
        return self._count_of[key]

    @cached_property
    def _count_of(self) -> dict[Hashable, int | Unknown]:
        return {item.key: count for item, count in zip(self.items, self.counts, strict=True)}

    @cached_property
    def budget(self) -> Budget:
        """The work units left for the group's searches."""
        return Budget(self.units)

    @cached_property
    def unknown_tasks(self) -> list[PlacedService]:
        """The members whose count is unknown."""
        return [i for i, c in zip(self.items, self.counts, strict=True) if isinstance(c, Unknown)]

    @cached_property
    def _views(self) -> dict[Key, list[int | Unknown]]:
        views: dict[Key, list[int | Unknown]] = defaultdict(list)
        for item in self.items:
            for member in item.pool.members:
                views[member.asg].append(member.instances)
        return views

    @cached_property
    def low(self) -> dict[Hashable, int]:
        """Instances per Auto Scaling group the templates certainly give."""
        return {a: max([v for v in vs if isinstance(v, int)] + [0]) for a, vs in self._views.items()}

    @cached_property
    def blocked(self) -> dict[Hashable, frozenset[Port]]:
        """Per Auto Scaling group, the members' ports a daemon holds on every instance."""
        return {
            a: frozenset(p for item in self.items for p in item.ports if (a, p) in self.holders) for a in self._views
        }

    @cached_property
    def _high(self) -> dict[Hashable, int]:
        big = self._big
        return {a: big if any(isinstance(v, Unknown) for v in vs) else self.low[a] for a, vs in self._views.items()}

    @cached_property
    def _big(self) -> int:
        """More instances than the group could use (its known tasks, plus one)."""
        return sum(max(c, 0) for c in self.counts if isinstance(c, int)) + 1

    @cached_property
    def doubtful(self) -> bool:
        """Whether the templates leave a count or a size open."""
        return bool(self.unknown_tasks) or any(i.pool.doubts for i in self.items) or self._high != self.low

    @cached_property
    def capacity(self) -> dict[Hashable, int]:
        """The judged view's instances per class."""
        if not self.doubtful:
            return dict(self.low)
        capacity = dict(self._high)
        capacity.update({virtual_class(i.pool.cluster): self._big for i in self.items if i.pool.doubts})
        return capacity

    @cached_property
    def demands(self) -> list[Demand]:
        """The judged view's demands (unknown and negative counts as zero)."""
        return self._demands(self.doubtful)

    def _demands(self, optimistic: bool) -> list[Demand]:
        result = []
        for item, tasks in zip(self.items, self.counts, strict=True):
            classes: list[Hashable] = [m.asg for m in item.pool.members]
            if optimistic and item.pool.doubts:
                classes.append(virtual_class(item.pool.cluster))
            count = max(tasks, 0) if isinstance(tasks, int) else 0
            result.append(Demand(item.key, count, item.ports, frozenset(classes)))
        return result

    @property
    def pessimistic(self) -> Decision | None:
        """The verdict on the instances the templates certainly give; None when a count is unknown."""
        if self._pessimistic is None and not self.unknown_tasks:
            self._pessimistic = decide(self._demands(False), self.low, self.blocked, self.budget)
        return self._pessimistic

    @property
    def fits_for_certain(self) -> bool:
        """Whether every count is known and the group fits on the instances the templates certainly give."""
        pessimistic = self.pessimistic
        return pessimistic is not None and pessimistic.verdict.fits is True

    @property
    def decision(self) -> Decision:
        """The judged view's verdict (the pessimistic one unless doubtful)."""
        if not self.doubtful:
            found = self.pessimistic
            assert found is not None  # every count is known
            return found
        self.pessimistic  # noqa: B018 - spend the budget in the fixed order
        if self._optimistic is None:
            self._optimistic = decide(self.demands, self.capacity, self.blocked, self.budget)
        return self._optimistic

    @property
    def verdict(self) -> Verdict:
        """The judged view's verdict; when the search could not decide it, overcommitted all the same
        if some member's bound says that not all of its tasks fit beside the others (a sound proof:
        were they all placed, each member's tasks would fit beside the rest)."""
        verdict = self.decision.verdict
        if verdict.fits is None:
            fits = self.fits()
            if any(fits[i.key].high < d.tasks for i, d in zip(self.items, self.demands, strict=True)):
                return Verdict(False)
        return verdict

    def fits(self) -> dict[Key, Fit]:
        """Every member's fit beside the others in the judged view: bounds first, then greedy
        placements for each member in turn, then exact ones, while the group's budget lasts."""
        if self._fits is None:
            decision = self.decision
            scenario = _Scenario(self.demands, self.capacity, self.blocked)
            together = decision.verdict.fits is True
            fits = []
            for index, demand in enumerate(self.demands):
                floor = demand.tasks if together else 0
                fits.append(scenario.bounds(index, decision.layout if together else None, floor))
            for search in (False, True):  # greedy placements for every member first, then exact ones
                for index, fit in enumerate(fits):
                    if fit.low < fit.high and not self.budget.exhausted:
                        hint = True if together else None
                        fits[index] = scenario.refine(index, fit, self.budget, ENUMERATION_BUDGET, hint, search)
            self._fits = {item.key: fit for item, fit in zip(self.items, fits, strict=True)}
        return self._fits

    def room(self, key: Hashable) -> Fit | None:
        """How many tasks of the member `key` fit beside whatever of the others' tasks can run, on the
        capacity the templates give: None when that capacity is unbounded or another's count unknown."""
        if not self._bounded:
            return None  # capacity beyond what the templates show could take any of them
        unknown = self.unknown_tasks
        if len(unknown) > 1 or (unknown and unknown[0].key != key):
            return None  # a competitor's count is unknown
        return self.fits()[key]

    @cached_property
    def _bounded(self) -> bool:
        return all(i.pool.high is not None for i in self.items)


class ContentionGroups:
    """A plan's groups of competing services, and their `Contention` per scenario, made on first use."""

    __slots__ = ("items", "of", "units", "judged", "asked")

    def __init__(self, facts: StaticPortFacts) -> None:
        replicas = [i for i in facts.placed if not i.service.daemon]
        by_key: dict[Hashable, PlacedService] = {i.key: i for i in replicas}
        groups = components([Demand(i.key, 0, i.ports, pool_classes(i)) for i in replicas])
        self.items = [[by_key[d.name] for d in g] for g in groups]
        self.of = {item.key: index for index, items in enumerate(self.items) for item in items}
        shared = sum(1 for g in groups if len(g) > 1)
        self.units = max(GROUP_WORK_FLOOR, PLAN_WORK // max(shared, 1))
        self.judged: dict[tuple[int, tuple[int | Unknown, ...]], Contention] = {}
        # Each group at the desired counts, once: a group of 25,000 services asked once per member must
        # not rebuild its scenario each time (callers may change a counts mapping between asks).
        self.asked: dict[int, Contention] = {}

    def contention(self, index: int, counts: Counts | None, holders: Mapping[tuple[Key, Port], list[PlacedService]]) -> Contention:
        if counts is None and index in self.asked:
            return self.asked[index]
        items = self.items[index]
        scenario = tuple(i.service.desired_count if counts is None else counts[i.key] for i in items)
        found = self.judged.get((index, scenario))
        if found is None:
            found = self.judged[(index, scenario)] = Contention(items, holders, self.units, scenario)
        if counts is None:
            self.asked[index] = found
        return found


def _groups(plan: PortPlan) -> ContentionGroups:
    facts = static_port_facts(plan)
    if facts.contention is None:
        facts.contention = ContentionGroups(facts)
    return facts.contention


def contention_groups(plan: PortPlan, counts: Counts | None = None) -> list[Contention]:
    """The plan's groups of replica services that compete for static host ports (each service with
    static ports in exactly one, alone if it shares none), at `counts` (by default the desired
    counts). Worked out once per plan and scenario: a group whose members' counts are the same in two
    scenarios is one `Contention`, decided once."""
    groups = _groups(plan)
    holders = static_port_facts(plan).holders
    return [groups.contention(index, counts, holders) for index in range(len(groups.items))]


def contention_of(plan: PortPlan, key: Hashable, counts: Counts | None = None) -> Contention | None:
    """The group of the replica service `key` at `counts` (None when it holds no static port)."""
    groups = _groups(plan)
    index = groups.of.get(key)
    if index is None:
        return None
    return groups.contention(index, counts, static_port_facts(plan).holders)

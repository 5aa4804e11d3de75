"""How many tasks of a service fit beside the others that hold the same static host ports.

One answer for the `static-port-overcommit` rule (which services it blames) and the plan (`fits`,
and `OVER` where a service's desired count exceeds it), so the two always agree.

`fits_beside(S)` is the number of S's tasks that can still run *whatever set of the other
services' tasks runs first*, as long as that set can run together (each other service at most at
its desired count). When all the others fit, that is simply how many of S's tasks fit beside all of
them. When the others cannot all run (their group is overcommitted), it is the worst case over the
largest sets of their tasks that can: a service is blamed only when some of the others' tasks,
which could have been placed, leave no room for all of its own; one whose tasks fit beside
anything the others can run is not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterator, Mapping, Sequence

from ..model import Port
from ..placement import Demand, place

ENUMERATION_BUDGET = 2_000
"""Placement verdicts one `fits_beside` may ask for before it answers None (not decided)."""


class _OutOfBudget(Exception):
    pass


def fits_beside(
    subject: Demand,
    others: Sequence[Demand],
    capacity: Mapping[Hashable, int],
    blocked: Mapping[Hashable, frozenset[Port]],
    budget: int = ENUMERATION_BUDGET,
) -> int | None:
    """The most tasks of `subject` that fit whatever placeable set of the others' tasks runs first.

    `subject.tasks` is ignored; `others` carry their desired counts. None when the placement search
    or the enumeration of the others' sets ran out of budget.
    """
    usable = sum(capacity.get(c, 0) for c in subject.classes if subject.ports.isdisjoint(blocked.get(c, ())))
    if not others:
        return usable  # alone on its ports: one task per usable instance
    feasible = _Oracle(subject, others, capacity, blocked, budget)
    try:
        desired = tuple(d.tasks for d in others)
        if feasible(desired, 0):
            return feasible.most(desired, usable)
        worst = usable
        for counts in feasible.maximal_sets(desired):
            worst = min(worst, feasible.most(counts, worst))
            if worst == 0:
                break
        return worst
    except _OutOfBudget:
        return None


class _Oracle:
    """Whether given task counts of the others plus `k` tasks of the subject fit, remembered."""

    def __init__(
        self,
        subject: Demand,
        others: Sequence[Demand],
        capacity: Mapping[Hashable, int],
        blocked: Mapping[Hashable, frozenset[Port]],
        budget: int,
    ) -> None:
        self.subject = subject
        self.others = others
        self.capacity = capacity
        self.blocked = blocked
        self.budget = budget
        self.known: dict[tuple[tuple[int, ...], int], bool] = {}

    def __call__(self, counts: tuple[int, ...], tasks: int) -> bool:
        key = (counts, tasks)
        found = self.known.get(key)
        if found is None:
            if len(self.known) >= self.budget:
                raise _OutOfBudget
            demands = [dataclasses.replace(d, tasks=n) for d, n in zip(self.others, counts, strict=True)]
            demands.append(dataclasses.replace(self.subject, tasks=tasks))
            verdict = place(demands, self.capacity, self.blocked).fits
            if verdict is None:
                raise _OutOfBudget
            found = self.known[key] = verdict
        return found

    def most(self, counts: tuple[int, ...], high: int) -> int:
        """The largest k <= high with the others at `counts` and k subject tasks fitting (k tasks fitting
        means k - 1 fit too)."""
        low = 0
        while low < high:
            middle = (low + high + 1) // 2
            if self(counts, middle):
                low = middle
            else:
                high = middle - 1
        return low

    def maximal_sets(self, desired: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        """The others' task counts (each at most desired) that fit together and cannot grow by one task."""
        size = len(desired)

        def descend(index: int, prefix: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
            if index == size:
                grows = any(
                    prefix[i] < desired[i] and self((*prefix[:i], prefix[i] + 1, *prefix[i + 1 :]), 0)
                    for i in range(size)
                )
                if not grows:
                    yield prefix
                return
            rest = (0,) * (size - index - 1)
            for count in range(desired[index], -1, -1):
                if self((*prefix, count, *rest), 0):  # fitting is monotone: fewer tasks fit too
                    yield from descend(index + 1, (*prefix, count))

        return descend(0, ())

"""Exact placement of tasks with static host ports onto instances.

Two tasks that hold a common host port (the same service's, or services' sharing a port) cannot
share an instance. Whether all tasks fit is a coloring question: per-port counts are necessary
but not sufficient (A{1,2}, B{2,3}, C{1,3} need three instances although every port is wanted
twice). `place` decides it exactly: fast paths first, then a depth-first search over services that
distributes each service's tasks over classes of interchangeable instances (same Auto Scaling
group, same ports already held), with memoized dead ends and a node budget. When the budget runs
out the verdict is None: unknown, never a guess.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

Port = tuple[str, int]
DEFAULT_BUDGET = 5_000


@dataclass(frozen=True, slots=True)
class Demand:
    """`tasks` tasks that each hold `ports` on one instance of a class (Auto Scaling group) in `classes`."""

    name: Hashable
    tasks: int
    ports: frozenset[Port]
    classes: frozenset[Hashable]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the demands fit: True, False, or None when the search budget ran out.

    When they do not fit because one port is wanted by more tasks than instances can offer it,
    `port` names it, `needed` counts the tasks and `offered` the instances free of it.
    """

    fits: bool | None
    port: Port | None = None
    needed: int = 0
    offered: int = 0


class _BudgetExhausted(Exception):
    pass


def components(demands: Sequence[Demand]) -> list[list[Demand]]:
    """Split demands into groups that never compete: linked by a shared port on a shared class."""
    parent = list(range(len(demands)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first: dict[tuple[Hashable, Port], int] = {}
    for index, demand in enumerate(demands):
        for cls in demand.classes:
            for port in demand.ports:
                other = first.setdefault((cls, port), index)
                if other != index:
                    parent[find(index)] = find(other)
    groups: dict[int, list[Demand]] = defaultdict(list)
    for index, demand in enumerate(demands):
        groups[find(index)].append(demand)
    return list(groups.values())


def place(
    demands: Sequence[Demand],
    capacity: Mapping[Hashable, int],
    blocked: Mapping[Hashable, frozenset[Port]] | None = None,
    budget: int = DEFAULT_BUDGET,
) -> Verdict:
    """Decide whether every task of `demands` fits on the instances.

    `capacity` counts the instances of each class; `blocked` lists the ports held on every instance
    of a class already (by DAEMON services).
    """
    blocked = blocked or {}
    demands = [d for d in demands if d.tasks > 0 and d.ports]
    if not demands:
        return Verdict(True)
    if len(demands) == 1:  # the common case: one service alone on its ports
        only = demands[0]
        room = sum(capacity.get(c, 0) for c in only.classes if only.ports.isdisjoint(blocked.get(c, ())))
        if room >= only.tasks:
            return Verdict(True)
    by_port: dict[Port, list[Demand]] = defaultdict(list)
    for demand in demands:
        for port in demand.ports:
            by_port[port].append(demand)
    for port in sorted(by_port):
        wanting = by_port[port]
        needed = sum(d.tasks for d in wanting)
        classes = frozenset().union(*(d.classes for d in wanting))
        offered = sum(capacity.get(c, 0) for c in classes if port not in blocked.get(c, ()))
        if needed > offered:
            return Verdict(False, port, needed, offered)
    usable = {
        d.name: frozenset(c for c in d.classes if capacity.get(c, 0) > 0 and d.ports.isdisjoint(blocked.get(c, ())))
        for d in demands
    }
    for demand in demands:
        if sum(capacity[c] for c in usable[demand.name]) < demand.tasks:
            return Verdict(False)
    for group in components(demands):
        if len(group) == 1:
            continue
        if _is_clique(group):
            # Every pair conflicts: one task per instance, a transportation problem solved exactly.
            if not _matches(group, usable, capacity):
                return Verdict(False)
            continue
        try:
            if not _search(group, usable, capacity, budget):
                return Verdict(False)
        except _BudgetExhausted:
            return Verdict(None)
    return Verdict(True)


def _is_clique(group: Sequence[Demand]) -> bool:
    if frozenset.intersection(*(d.ports for d in group)):
        return True
    if len(group) > 64:
        return False
    return all(not a.ports.isdisjoint(b.ports) for a, b in itertools.combinations(group, 2))


def _matches(
    group: Sequence[Demand], usable: Mapping[Hashable, frozenset[Hashable]], capacity: Mapping[Hashable, int]
) -> bool:
    """Whether each task gets an instance of its own among its usable classes (max flow)."""
    needs: dict[frozenset[Hashable], int] = defaultdict(int)
    for demand in group:
        needs[usable[demand.name]] += demand.tasks
    sets = list(needs)
    classes = sorted({c for s in sets for c in s}, key=repr)
    # Nodes: 0 source, 1..S sets, then classes, then the sink.
    sink = 1 + len(sets) + len(classes)
    residual: dict[int, dict[int, int]] = defaultdict(dict)
    for index, allowed in enumerate(sets, start=1):
        residual[0][index] = needs[allowed]
        for offset, cls in enumerate(classes):
            if cls in allowed:
                residual[index][1 + len(sets) + offset] = sum(needs.values())
    for offset, cls in enumerate(classes):
        residual[1 + len(sets) + offset][sink] = capacity[cls]
    flow = 0
    while True:
        parent = {0: 0}
        queue = [0]
        for node in queue:
            for nxt, room in residual[node].items():
                if room > 0 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if sink not in parent:
            break
        path = [sink]
        while path[-1] != 0:
            path.append(parent[path[-1]])
        path.reverse()
        pushed = min(residual[a][b] for a, b in itertools.pairwise(path))
        for a, b in itertools.pairwise(path):
            residual[a][b] -= pushed
            residual[b][a] = residual[b].get(a, 0) + pushed
        flow += pushed
    return flow == sum(needs.values())


def _search(
    group: Sequence[Demand],
    usable: Mapping[Hashable, frozenset[Hashable]],
    capacity: Mapping[Hashable, int],
    budget: int,
) -> bool:
    """Place the services one at a time, the most constrained first; False only when exhausted.

    Ports, classes and sets of services are bit masks; a state maps (class, ports held) to the
    number of such instances, so interchangeable instances are never told apart.
    """
    count = len(group)
    port_bit = {p: 1 << i for i, p in enumerate(sorted({p for d in group for p in d.ports}))}
    class_list = sorted({c for d in group for c in usable[d.name]}, key=repr)
    ports = [sum(port_bit[p] for p in d.ports) for d in group]
    tasks = [d.tasks for d in group]
    allowed = [sum(1 << i for i, c in enumerate(class_list) if c in usable[d.name]) for d in group]
    weight = [sum(tasks[j] for j in range(count) if j != i and ports[i] & ports[j]) for i in range(count)]
    port_masks = list(port_bit.values())
    State = dict[tuple[int, int], int]  # (class bit, ports held) -> instances
    dead: set[tuple[int, frozenset[tuple[tuple[int, int], int]]]] = set()
    nodes = 0

    def pick(remaining: list[int], state: State) -> int | None:
        """The service with the least room to spare, or None when some service or port cannot fit."""
        best: tuple[int, int, int] | None = None
        entries = state.items()
        for i in remaining:
            mask, need = ports[i], allowed[i]
            room = sum(n for (c, held), n in entries if c & need and not held & mask)
            if room < tasks[i]:
                return None
            rank = (room - tasks[i], -weight[i], i)
            if best is None or rank < best:
                best = rank
        for bit in port_masks:
            wanted, classes = 0, 0
            for i in remaining:
                if ports[i] & bit:
                    wanted += tasks[i]
                    classes |= allowed[i]
            if wanted and sum(n for (c, held), n in entries if c & classes and not held & bit) < wanted:
                return None
        return best[2] if best is not None else None

    def descend(remaining_mask: int, state: State) -> bool:
        nonlocal nodes
        if not remaining_mask:
            return True
        memo = (remaining_mask, frozenset(state.items()))
        if memo in dead:
            return False
        remaining = [i for i in range(count) if remaining_mask >> i & 1]
        chosen = pick(remaining, state)
        if chosen is not None:
            rest = remaining_mask & ~(1 << chosen)
            keep = 0
            for i in remaining:
                if i != chosen:
                    keep |= ports[i]
            mask, need = ports[chosen], allowed[chosen]
            fitting = sorted(
                (k for k in state if k[0] & need and not k[1] & mask),
                key=lambda k: (-bin(k[1]).count("1"), k[0], k[1]),
            )
            for split in _splits([state[k] for k in fitting], tasks[chosen]):
                nodes += 1
                if nodes > budget:
                    raise _BudgetExhausted
                moved = dict(zip(fitting, split, strict=True))
                following: State = defaultdict(int)
                for (cls, held), n in state.items():
                    taken = moved.get((cls, held), 0)
                    if n - taken:
                        following[(cls, held & keep)] += n - taken
                    if taken:
                        following[(cls, (held | mask) & keep)] += taken
                if descend(rest, dict(following)):
                    return True
        dead.add(memo)
        return False

    initial = {(1 << i, 0): capacity[c] for i, c in enumerate(class_list)}
    return descend((1 << count) - 1, initial)


def _splits(room: Sequence[int], total: int) -> Iterator[tuple[int, ...]]:
    """Every way to take `total` tasks from classes with `room` instances each, fullest first."""
    after = [0] * (len(room) + 1)
    for index in range(len(room) - 1, -1, -1):
        after[index] = after[index + 1] + room[index]

    def split(index: int, left: int) -> Iterator[tuple[int, ...]]:
        if left == 0:
            yield (0,) * (len(room) - index)
            return
        if index == len(room):
            return
        for take in range(min(room[index], left), max(0, left - after[index + 1]) - 1, -1):
            for rest in split(index + 1, left - take):
                yield (take, *rest)

    return split(0, total)

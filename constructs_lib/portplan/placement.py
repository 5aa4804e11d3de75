"""Placement of tasks with static host ports onto instances: exact within a budget, sound past it.

Two tasks that hold a common host port (the same service's, or services' sharing a port) cannot
share an instance. Whether all tasks fit is a coloring question: per-port counts are necessary
but not sufficient (A{1,2}, B{2,3}, C{1,3} need three instances although every port is wanted
twice). `decide` (and `place`, its verdict alone) answers it in steps, each sound on its own:

1. necessary conditions: a port wanted by more tasks than the instances free of it (the verdict
   names it), a service with fewer usable instances than tasks, a group of pairwise conflicting
   services (a clique) with more tasks than instances to hold them: a proof of overcommit;
2. a greedy placement: one that places every task is a proof of fit (and a witness placement);
3. an exact depth-first search over services that distributes each service's tasks over classes
   of interchangeable instances, with memoized dead ends, drawing on a work budget. When the budget
   runs out and no step decided, the verdict is None: unknown, never a guess.

Counts are numbers, never enumerated: instances of one class that hold the same ports form one
block with a count, so a group of 10^9 instances costs what 10 do; no recursion follows the input.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

Port = tuple[str, int]
DEFAULT_BUDGET = 5_000
"""Search nodes `place` may visit, by default, before it answers None (see `WORK_PER_NODE`)."""
WORK_PER_NODE = 200
"""Work units a budget of one node buys: a node of the exact search costs about the number of
services left times the number of distinct instance blocks, so a search over many services runs
out after fewer nodes than one over a few."""
GREEDY_UNITS = 40
"""Work units one greedy pass charges per service (a unit is about 0.2 microseconds of search; placing a
service greedily, with the bookkeeping around it, takes about 40 of them)."""
CLIQUE_SEEDS = 64
"""Services from which the clique proof of overcommit grows a clique (the ones with most tasks)."""


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


class BudgetExhausted(Exception):
    """A `Budget` ran out."""


class Budget:
    """Work an exact search may still do; several searches of one decision can share it.

    A unit is about one elementary step of the search (one block of instances looked at for one
    service), about 0.2 to 0.3 microseconds.
    """

    __slots__ = ("left",)

    def __init__(self, units: int) -> None:
        self.left = units

    def spend(self, units: int) -> None:
        """Use `units`; BudgetExhausted when the budget is (or was already) used up."""
        self.left -= units
        if self.left < 0:
            raise BudgetExhausted

    def charge(self, units: int) -> None:
        """Use `units` for work already done (never raises; the next `spend` does when none is left)."""
        self.left -= units

    @property
    def exhausted(self) -> bool:
        return self.left < 0


class Layout:
    """A placement in progress: instances in blocks of interchangeable ones (same class, same ports
    held), each with a count.

    Blocks are numbered; per port a bit set (a Python int) of the blocks holding it, per class one
    of its blocks, so the blocks free of a set of ports are a few integer operations away.
    """

    __slots__ = ("cls", "held", "fill", "count", "alive", "multi", "by_class", "holding", "index", "bits")

    def __init__(self, capacity: Mapping[Hashable, int], ports: Iterable[Port]) -> None:
        self.cls: list[Hashable] = []
        self.held: list[int] = []
        self.fill: list[int] = []  # ports held, per block
        self.count: list[int] = []
        self.alive = 0  # blocks with instances
        self.multi = 0  # blocks of more than one instance
        self.by_class: dict[Hashable, int] = defaultdict(int)
        self.bits = {port: index for index, port in enumerate(sorted(set(ports)))}
        self.holding = [0] * len(self.bits)
        self.index: dict[tuple[Hashable, int], int] = {}
        for cls in sorted(capacity, key=repr):
            if capacity[cls] > 0:
                self._new(cls, 0, capacity[cls])

    def mask(self, ports: Iterable[Port]) -> int:
        """The bit mask of `ports` (ports no demand of the layout holds are left out)."""
        bits = self.bits
        return sum(1 << bits[p] for p in ports if p in bits)

    def free(self, classes: Iterable[Hashable], mask: int) -> int:
        """Instances of `classes` that hold none of the ports in `mask`."""
        blocks = self._candidates(classes, mask)
        total = (blocks & ~self.multi).bit_count()
        several = blocks & self.multi
        while several:
            block = several.bit_length() - 1
            several ^= 1 << block
            total += self.count[block]
        return total

    def put(self, classes: Iterable[Hashable], mask: int, tasks: int) -> int | None:
        """Place `tasks` tasks holding the ports of `mask`, one per instance, on instances of `classes`
        free of them, the fullest blocks first (best fit: fresh instances stay fresh for services that
        conflict with what is placed); the number of blocks looked at, or None when the tasks do not
        all fit (the layout then holds those that did)."""
        blocks = self._candidates(classes, mask)
        found = []
        while blocks:
            block = blocks.bit_length() - 1
            blocks ^= 1 << block
            found.append(block)
        if len(found) > 1:
            found.sort(key=self.fill.__getitem__, reverse=True)  # ties: the newest block first
        for block in found:
            if not tasks:
                break
            taken = min(self.count[block], tasks)
            tasks -= taken
            self._move(block, taken, mask)
        return len(found) if tasks == 0 else None

    def blocks(self) -> Iterator[tuple[Hashable, int, int]]:
        """(class, ports held as a mask, instances) of every block with instances."""
        for block, count in enumerate(self.count):
            if count:
                yield self.cls[block], self.held[block], count

    def _candidates(self, classes: Iterable[Hashable], mask: int) -> int:
        allowed = 0
        for cls in classes:
            allowed |= self.by_class.get(cls, 0)
        taken = 0
        while mask:
            bit = mask & -mask
            mask ^= bit
            taken |= self.holding[bit.bit_length() - 1]
        return allowed & self.alive & ~taken

    def _new(self, cls: Hashable, held: int, count: int) -> int:
        block = len(self.count)
        self.cls.append(cls)
        self.held.append(held)
        self.fill.append(held.bit_count())
        self.count.append(0)
        flag = 1 << block
        self.by_class[cls] |= flag
        self._mark(flag, held, True)
        self.index[(cls, held)] = block
        self._set(block, count)
        return block

    def _mark(self, flag: int, mask: int, on: bool) -> None:
        while mask:
            bit = mask & -mask
            mask ^= bit
            port = bit.bit_length() - 1
            self.holding[port] = self.holding[port] | flag if on else self.holding[port] & ~flag

    def _set(self, block: int, count: int) -> None:
        self.count[block] = count
        flag = 1 << block
        self.alive = self.alive | flag if count else self.alive & ~flag
        self.multi = self.multi | flag if count > 1 else self.multi & ~flag

    def _move(self, block: int, taken: int, mask: int) -> None:
        """`taken` instances of `block` now also hold the ports of `mask`."""
        cls, held = self.cls[block], self.held[block]
        grown = held | mask
        target = self.index.get((cls, grown))
        if taken == self.count[block] and target is None:  # the whole block: relabel it
            del self.index[(cls, held)]
            self.held[block] = grown
            self.fill[block] = grown.bit_count()
            self.index[(cls, grown)] = block
            self._mark(1 << block, mask, True)
            return
        self._set(block, self.count[block] - taken)
        if target is None:
            self._new(cls, grown, taken)
        else:
            self._set(target, self.count[target] + taken)


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict and, when a greedy placement proved the fit, that placement (else None)."""

    verdict: Verdict
    layout: Layout | None = None


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
    of a class already (by DAEMON services); `budget` bounds the exact search (see `WORK_PER_NODE`).
    """
    return decide(demands, capacity, blocked, Budget(budget * WORK_PER_NODE)).verdict


def usable_classes(
    demand: Demand, capacity: Mapping[Hashable, int], blocked: Mapping[Hashable, frozenset[Port]]
) -> frozenset[Hashable]:
    """The classes with instances where none of the demand's ports is blocked."""
    return frozenset(
        c for c in demand.classes if capacity.get(c, 0) > 0 and demand.ports.isdisjoint(blocked.get(c, ()))
    )


def decide(
    demands: Sequence[Demand],
    capacity: Mapping[Hashable, int],
    blocked: Mapping[Hashable, frozenset[Port]] | None = None,
    budget: Budget | None = None,
    first: Hashable | None = None,
    search: bool = True,
) -> Decision:
    """`place`'s verdict with the greedy placement that proved a fit, drawing on a shared `budget`;
    the greedy places the demand named `first` before the others. Without `search`, the steps
    before the exact search only (None where they do not decide)."""
    blocked = blocked or {}
    budget = budget if budget is not None else Budget(DEFAULT_BUDGET * WORK_PER_NODE)
    demands = [d for d in demands if d.tasks > 0 and d.ports]
    if not demands:
        return Decision(Verdict(True), Layout(capacity, ()))
    budget.charge(sum(4 + len(d.ports) for d in demands))  # the necessary conditions below
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
            return Decision(Verdict(False, port, needed, offered))
    usable = {d.name: usable_classes(d, capacity, blocked) for d in demands}
    for demand in demands:
        if sum(capacity[c] for c in usable[demand.name]) < demand.tasks:
            return Decision(Verdict(False))
    unknown = False
    layout = _greedy(demands, usable, capacity, by_port, first, budget)
    if layout is not None:
        return Decision(Verdict(True), layout)
    if not search:
        return Decision(Verdict(None))
    for group in components(demands):
        if len(group) == 1:
            continue
        if _is_clique(group):
            # Every pair conflicts: one task per instance, a transportation problem solved exactly.
            if not _matches(group, usable, capacity):
                return Decision(Verdict(False))
            continue
        try:
            if not _search(group, usable, capacity, budget):
                return Decision(Verdict(False))
        except BudgetExhausted:
            unknown = True
    if unknown:
        return Decision(Verdict(False) if _clique_overcommit(demands, usable, capacity) else Verdict(None))
    return Decision(Verdict(True))


def _greedy(
    demands: Sequence[Demand],
    usable: Mapping[Hashable, frozenset[Hashable]],
    capacity: Mapping[Hashable, int],
    by_port: Mapping[Port, list[Demand]],
    first: Hashable | None,
    budget: Budget,
) -> Layout | None:
    """A placement of every task (the demand named `first` placed before all), or None; its work is
    charged to `budget` but never stopped by it (it is linear in the demands). Two orders:
    services with more tasks first, else as given (which packs services that draw ports at random
    within a few instances of the per-port bound); then services on the most wanted ports first."""
    wanted = {port: sum(d.tasks for d in wanting) for port, wanting in by_port.items()}
    orders = [
        lambda i: (demands[i].name != first, -demands[i].tasks, i),
        lambda i: (demands[i].name != first, -sum(wanted[p] for p in demands[i].ports), -demands[i].tasks, i),
    ]
    for order in orders:
        budget.charge(GREEDY_UNITS * len(demands))  # linear in the input: it runs even on a spent budget
        layout = Layout(capacity, by_port)
        for index in sorted(range(len(demands)), key=order):
            demand = demands[index]
            looked = layout.put(usable[demand.name], layout.mask(demand.ports), demand.tasks)
            if looked is None:
                break
            budget.charge(looked // 4)
        else:
            return layout
    return None


def _is_clique(group: Sequence[Demand]) -> bool:
    if frozenset.intersection(*(d.ports for d in group)):
        return True
    if len(group) > 64:
        return False
    return all(not a.ports.isdisjoint(b.ports) for a, b in itertools.combinations(group, 2))


def max_flow(needs: Mapping[frozenset[Hashable], int], capacity: Mapping[Hashable, int]) -> int:
    """The most tasks that get an instance of their own, `needs[classes]` tasks wanting one of `classes`."""
    sets = [s for s, n in needs.items() if n > 0]
    classes = sorted({c for s in sets for c in s}, key=repr)
    total = sum(needs[s] for s in sets)
    # Nodes: 0 source, 1..S sets, then classes, then the sink.
    sink = 1 + len(sets) + len(classes)
    residual: dict[int, dict[int, int]] = defaultdict(dict)
    for index, allowed in enumerate(sets, start=1):
        residual[0][index] = needs[allowed]
        for offset, cls in enumerate(classes):
            if cls in allowed:
                residual[index][1 + len(sets) + offset] = total
    for offset, cls in enumerate(classes):
        residual[1 + len(sets) + offset][sink] = capacity.get(cls, 0)
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
            return flow
        path = [sink]
        while path[-1] != 0:
            path.append(parent[path[-1]])
        path.reverse()
        pushed = min(residual[a][b] for a, b in itertools.pairwise(path))
        for a, b in itertools.pairwise(path):
            residual[a][b] -= pushed
            residual[b][a] = residual[b].get(a, 0) + pushed
        flow += pushed


def _matches(
    group: Sequence[Demand], usable: Mapping[Hashable, frozenset[Hashable]], capacity: Mapping[Hashable, int]
) -> bool:
    """Whether each task gets an instance of its own among its usable classes (max flow)."""
    needs: dict[frozenset[Hashable], int] = defaultdict(int)
    for demand in group:
        needs[usable[demand.name]] += demand.tasks
    return max_flow(needs, capacity) == sum(needs.values())


def _clique_overcommit(
    demands: Sequence[Demand], usable: Mapping[Hashable, frozenset[Hashable]], capacity: Mapping[Hashable, int]
) -> bool:
    """Whether some services that pairwise share a port (a clique: one task per instance) have more
    tasks than their instances can hold. Cliques grow greedily from the services with most tasks."""
    by_port: dict[Port, list[int]] = defaultdict(list)
    for index, demand in enumerate(demands):
        for port in demand.ports:
            by_port[port].append(index)
    seeds = sorted(range(len(demands)), key=lambda i: (-demands[i].tasks, i))[:CLIQUE_SEEDS]
    for seed in seeds:
        neighbours = sorted(
            {j for p in demands[seed].ports for j in by_port[p] if j != seed}, key=lambda j: (-demands[j].tasks, j)
        )
        clique = [demands[seed]]
        for j in neighbours[: CLIQUE_SEEDS * 4]:
            candidate = demands[j]
            if all(not candidate.ports.isdisjoint(member.ports) for member in clique):
                clique.append(candidate)
        if len(clique) > 1 and not _matches(clique, usable, capacity):
            return True
    return False


def _search(
    group: Sequence[Demand],
    usable: Mapping[Hashable, frozenset[Hashable]],
    capacity: Mapping[Hashable, int],
    budget: Budget,
) -> bool:
    """Place the services one at a time, the most constrained first; False only when exhausted.

    Ports, classes and sets of services are bit masks; a state maps (class, ports held) to the
    number of such instances, so interchangeable instances are never told apart. The depth-first
    search keeps its own stack of child iterators (no recursion).
    """
    count = len(group)
    port_bit = {p: 1 << i for i, p in enumerate(sorted({p for d in group for p in d.ports}))}
    class_list = sorted({c for d in group for c in usable[d.name]}, key=repr)
    ports = [sum(port_bit[p] for p in d.ports) for d in group]
    tasks = [d.tasks for d in group]
    allowed = [sum(1 << i for i, c in enumerate(class_list) if c in usable[d.name]) for d in group]
    bits = [[port_bit[p] for p in d.ports] for d in group]
    budget.spend(sum(len(b) for b in bits) + count * len(class_list))
    # Competition for a service's ports (a tie-break only): tasks of the others per port it holds.
    wanted: dict[int, int] = defaultdict(int)
    for i in range(count):
        for bit in bits[i]:
            wanted[bit] += tasks[i]
    weight = [sum(wanted[b] for b in bits[i]) - tasks[i] * len(bits[i]) for i in range(count)]
    State = dict[tuple[int, int], int]  # (class bit, ports held) -> instances
    dead: set[tuple[int, frozenset[tuple[tuple[int, int], int]]]] = set()

    def pick(remaining: list[int], state: State) -> int | None:
        """The service with the least room to spare, or None when some service or port cannot fit."""
        budget.spend(len(remaining) * (len(state) + 2) + sum(len(bits[i]) for i in remaining))
        best: tuple[int, int, int] | None = None
        entries = state.items()
        wanted: dict[int, int] = defaultdict(int)
        classes: dict[int, int] = defaultdict(int)
        for i in remaining:
            mask, need = ports[i], allowed[i]
            room = sum(n for (c, held), n in entries if c & need and not held & mask)
            if room < tasks[i]:
                return None
            rank = (room - tasks[i], -weight[i], i)
            if best is None or rank < best:
                best = rank
            for bit in bits[i]:
                wanted[bit] += tasks[i]
                classes[bit] |= need
        budget.spend(len(wanted) * (len(state) + 1))
        for bit, count in wanted.items():
            if sum(n for (c, held), n in entries if c & classes[bit] and not held & bit) < count:
                return None
        return best[2] if best is not None else None

    def children(remaining_mask: int, state: State) -> Iterator[tuple[int, State]]:
        """The states after placing the most constrained service in every possible way."""
        remaining = []
        left = remaining_mask
        while left:
            low = left & -left
            remaining.append(low.bit_length() - 1)
            left ^= low
        chosen = pick(remaining, state)
        if chosen is None:
            return
        rest = remaining_mask & ~(1 << chosen)
        keep = 0
        for i in remaining:
            if i != chosen:
                keep |= ports[i]
        mask, need = ports[chosen], allowed[chosen]
        fitting = sorted(
            (k for k in state if k[0] & need and not k[1] & mask),
            key=lambda k: (-k[1].bit_count(), k[0], k[1]),
        )
        for split in _splits([state[k] for k in fitting], tasks[chosen]):
            budget.spend(len(state) + 1)
            moved = dict(zip(fitting, split, strict=True))
            following: State = defaultdict(int)
            for (cls, held), n in state.items():
                taken = moved.get((cls, held), 0)
                if n - taken:
                    following[(cls, held & keep)] += n - taken
                if taken:
                    following[(cls, (held | mask) & keep)] += taken
            yield rest, dict(following)

    initial: State = {(1 << i, 0): capacity[c] for i, c in enumerate(class_list)}
    root = (1 << count) - 1
    stack: list[tuple[tuple[int, frozenset[tuple[tuple[int, int], int]]], Iterator[tuple[int, State]]]] = [
        ((root, frozenset(initial.items())), children(root, initial))
    ]
    while stack:
        memo, pending = stack[-1]
        following = next(pending, None)
        if following is None:
            dead.add(memo)
            stack.pop()
            continue
        remaining_mask, state = following
        if not remaining_mask:
            return True
        key = (remaining_mask, frozenset(state.items()))
        if key not in dead:
            stack.append((key, children(remaining_mask, state)))
    return False


def _splits(room: Sequence[int], total: int) -> Iterator[tuple[int, ...]]:
    """Every way to take `total` tasks from classes with `room` instances each, fullest first: in
    decreasing lexicographic order, the first classes taking as many as they can."""
    size = len(room)
    after = [0] * (size + 1)
    for index in range(size - 1, -1, -1):
        after[index] = after[index + 1] + room[index]
    if total > after[0] or total < 0:
        return
    if size == 0:
        yield ()
        return
    takes = [0] * size

    def fill(start: int, left: int) -> None:
        for index in range(start, size):
            takes[index] = min(room[index], left)
            left -= takes[index]

    fill(0, total)
    while True:
        yield tuple(takes)
        # The rightmost class (before the last) that can hand one task on to the classes after it.
        later = takes[size - 1]
        index = size - 2
        while index >= 0 and not (takes[index] > 0 and later + 1 <= after[index + 1]):
            later += takes[index]
            index -= 1
        if index < 0:
            return
        takes[index] -= 1
        fill(index + 1, later + 1)

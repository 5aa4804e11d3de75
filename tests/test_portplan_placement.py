"""The exact placement behind static-port-overcommit, checked against brute force."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portplan_builders import Stack, check, rules_of

from constructs_lib.portplan.placement import Demand, Layout, _splits, components, decide, place

PORTS = (1001, 1002, 1003)


def tcp(*ports: int) -> frozenset[tuple[str, int]]:
    return frozenset(("tcp", p) for p in ports)


def demand(name: str, tasks: int, ports: frozenset[tuple[str, int]], classes: Sequence[str] = ("g",)) -> Demand:
    return Demand(name, tasks, ports, frozenset(classes))


def test_per_port_counts_are_not_enough() -> None:
    a, b, c = demand("A", 1, tcp(1, 2)), demand("B", 1, tcp(2, 3)), demand("C", 1, tcp(1, 3))
    verdict = place([a, b, c], {"g": 2})
    assert verdict.fits is False and verdict.port is None
    assert place([a, b, c], {"g": 3}).fits is True


def test_per_port_witness() -> None:
    verdict = place([demand("A", 2, tcp(80)), demand("B", 1, tcp(80, 81))], {"g": 2})
    assert (verdict.fits, verdict.port, verdict.needed, verdict.offered) == (False, ("tcp", 80), 3, 2)


def test_blocked_ports_exclude_instances() -> None:
    assert place([demand("A", 1, tcp(80))], {"g": 3}, {"g": tcp(80)}).port == ("tcp", 80)
    assert place([demand("A", 1, tcp(81))], {"g": 3}, {"g": tcp(80)}).fits is True


def test_classes_restrict_where_tasks_go() -> None:
    # A may only use group g (1 instance); B may use g or h: B must go to h.
    a = demand("A", 1, tcp(80), ["g"])
    b = demand("B", 1, tcp(80), ["g", "h"])
    assert place([a, b], {"g": 1, "h": 1}).fits is True
    assert place([a, b, demand("C", 1, tcp(80), ["g"])], {"g": 1, "h": 5}).fits is False


def test_components_split_on_ports_and_classes() -> None:
    a = demand("A", 1, tcp(80), ["g"])
    b = demand("B", 1, tcp(80), ["h"])
    c = demand("C", 1, tcp(80, 81), ["g"])
    d = demand("D", 1, tcp(81), ["g"])
    groups = sorted(sorted(str(x.name) for x in g) for g in components([a, b, c, d]))
    assert groups == [["A", "C", "D"], ["B"]]


def test_budget_exhaustion_is_unknown_not_a_guess() -> None:
    # GIVEN an odd cycle of 9 services each pairing a port with the next: 3 instances suffice
    ring = [demand(f"S{i}", 1, tcp(i, (i + 1) % 9)) for i in range(9)]
    assert place(ring, {"g": 3}).fits is True
    assert place(ring, {"g": 2}).fits is False
    assert place(ring, {"g": 2}, budget=1).fits is None


def test_multiplicities_beat_per_port_counts() -> None:
    # GIVEN a 5-ring of services with 2 tasks each: every port is wanted by 4 tasks, yet 5 instances are needed
    ring = [demand(f"S{i}", 2, tcp(i, (i + 1) % 5)) for i in range(5)]
    assert place(ring, {"g": 4}).fits is False
    assert place(ring, {"g": 5}).fits is True


def test_clique_with_different_groups_is_a_matching() -> None:
    # GIVEN services that all share port 80, with different groups allowed: one task per instance
    a = demand("A", 2, tcp(80, 1), ["g"])
    b = demand("B", 2, tcp(80, 2), ["g", "h"])
    assert place([a, b], {"g": 2, "h": 2}).fits is True
    assert place([a, b], {"g": 3, "h": 0}).fits is False
    # Port 80 is wanted 4 times on 4 instances, but A and C need 3 instances of group g, which has 2.
    c = demand("C", 1, tcp(80, 3), ["g"])
    verdict = place([a, demand("B", 1, tcp(80, 2), ["g", "h"]), c], {"g": 2, "h": 2})
    assert (verdict.fits, verdict.port) == (False, None)


def test_large_symmetric_instance_is_fast() -> None:
    # 60 services, 3 tasks each, on a 6-port ring; classes of identical instances keep it small.
    ring = [demand(f"S{i}", 3, tcp(i % 6, (i + 1) % 6)) for i in range(60)]
    assert place(ring, {"g": 60}).fits is True
    assert place(ring, {"g": 59}).fits is False


# -- brute force ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    ports: frozenset[int]
    desired: int
    daemon: bool


def brute_force_fits(instances: int, services: Sequence[Spec]) -> bool:
    """Try every placement: daemons on every instance, replicas on distinct instances each."""
    replicas = [s for s in services if not s.daemon and s.ports and s.desired > 0]
    if instances == 0:
        return not replicas
    held: set[int] = set()
    for daemon in (s for s in services if s.daemon and s.ports):
        if held & daemon.ports:
            return False
        held |= daemon.ports
    choices = [itertools.combinations(range(instances), s.desired) for s in replicas]
    for choice in itertools.product(*choices):
        used = [set(held) for _ in range(instances)]
        fits = True
        for service, chosen in zip(replicas, choice, strict=True):
            for index in chosen:
                if used[index] & service.ports:
                    fits = False
                    break
                used[index] |= service.ports
            if not fits:
                break
        if fits:
            return True
    return False


specs = st.builds(
    Spec,
    ports=st.frozensets(st.sampled_from(PORTS), max_size=3),
    desired=st.integers(0, 3),
    daemon=st.sampled_from([False, False, True]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances=st.integers(0, 4), services=st.lists(specs, min_size=1, max_size=4))
def test_overcommit_verdict_equals_brute_force(instances: int, services: list[Spec]) -> None:
    # GIVEN a cluster with `instances` instances and services on a few static ports
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    for index, spec in enumerate(services):
        stack.task(f"Task{index}", [(p, p, "tcp") for p in sorted(spec.ports)])
        stack.service(f"Service{index}", f"Task{index}", desired=spec.desired, daemon=spec.daemon)
    # WHEN checked THEN static-port-overcommit is reported exactly when no placement exists
    overcommitted = bool(rules_of(check(stack), "static-port-overcommit"))
    assert overcommitted == (not brute_force_fits(instances, services))


def brute_force_classes(capacity: dict[Hashable, int], demands: Sequence[Demand]) -> bool:
    instances = [c for c, n in sorted(capacity.items()) for _ in range(n)]
    demands = [d for d in demands if d.tasks > 0 and d.ports]
    choices = [itertools.combinations([i for i, c in enumerate(instances) if c in d.classes], d.tasks) for d in demands]
    for choice in itertools.product(*choices):
        used: list[set[tuple[str, int]]] = [set() for _ in instances]
        fits = True
        for d, chosen in zip(demands, choice, strict=True):
            for index in chosen:
                if used[index] & d.ports:
                    fits = False
                    break
                used[index] |= d.ports
            if not fits:
                break
        if fits:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.fixed_dictionaries({"g": st.integers(0, 3), "h": st.integers(0, 2)}),
    demands=st.lists(
        st.builds(
            lambda i, tasks, ports, classes: demand(f"D{i}", tasks, tcp(*ports), sorted(classes)),
            st.integers(0, 10**6),
            st.integers(0, 3),
            st.frozensets(st.sampled_from(PORTS), min_size=1, max_size=3),
            st.frozensets(st.sampled_from(["g", "h"]), min_size=1),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda d: d.name,
    ),
)
def test_place_with_several_groups_equals_brute_force(capacity: dict[Hashable, int], demands: list[Demand]) -> None:
    assert place(demands, capacity).fits == brute_force_classes(capacity, demands)


# -- distinctInstance and scaling maxima, against the same brute force ---------------------------------


@dataclass(frozen=True)
class Scheduled:
    ports: frozenset[int]
    desired: int
    extra: int
    daemon: bool
    distinct: bool


OVERCOMMIT_RULES = {"static-port-overcommit", "scaling-port-overcommit", "placement-constraint-overcommit"}
scheduled = st.builds(
    Scheduled,
    ports=st.frozensets(st.sampled_from(PORTS), max_size=2),
    desired=st.integers(0, 3),
    extra=st.integers(0, 2),
    daemon=st.sampled_from([False, False, False, True]),
    distinct=st.booleans(),
)


def as_specs(services: Sequence[Scheduled], at_maximum: bool) -> list[Spec]:
    """distinctInstance as a port private to its service; replicas at their desired count or maximum."""
    return [
        Spec(
            s.ports | ({5000 + index} if s.distinct and not s.daemon else set()),
            s.desired + (s.extra if at_maximum and not s.daemon else 0),
            s.daemon,
        )
        for index, s in enumerate(services)
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances=st.integers(0, 4), services=st.lists(scheduled, min_size=1, max_size=3))
def test_constraints_and_scaling_maxima_equal_brute_force(instances: int, services: list[Scheduled]) -> None:
    # GIVEN services with static ports, distinctInstance and auto scaling on one group of instances
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    for index, spec in enumerate(services):
        stack.task(f"Task{index}", [(p, p, "tcp") for p in sorted(spec.ports)] or [(80, 0, "tcp")])
        constraints = [{"Type": "distinctInstance"}] if spec.distinct else None
        stack.service(f"Service{index}", f"Task{index}", desired=spec.desired, daemon=spec.daemon, constraints=constraints)
        if spec.extra and not spec.daemon:
            stack.scaling(f"Service{index}", spec.desired, spec.desired + spec.extra)
    errors = [f for f in check(stack) if f.rule in OVERCOMMIT_RULES and f.severity == "error"]
    at_maximum = [f for f in errors if f.message.startswith("when service auto scaling")]
    # THEN the desired counts are reported exactly when they cannot be placed, and, when they can,
    # the scaling maxima exactly when those cannot
    fits = brute_force_fits(instances, as_specs(services, at_maximum=False))
    assert bool([f for f in errors if f not in at_maximum]) == (not fits)
    if fits:
        assert bool(at_maximum) == (not brute_force_fits(instances, as_specs(services, at_maximum=True)))


# -- bounded work: no recursion that follows the input, counts as numbers, a budget ----------------------


def splits_by_definition(room: Sequence[int], total: int) -> list[tuple[int, ...]]:
    """Every way to take `total` from classes of `room` instances, fullest first (decreasing order)."""
    ways = [c for c in itertools.product(*(range(r + 1) for r in room)) if sum(c) == total]
    return sorted(ways, reverse=True)


@settings(max_examples=200, deadline=None)
@given(room=st.lists(st.integers(0, 4), max_size=5), total=st.integers(0, 12))
def test_splits_are_every_way_fullest_first(room: list[int], total: int) -> None:
    assert list(_splits(room, total)) == splits_by_definition(room, total)


def test_splits_need_no_recursion() -> None:
    # 2,000 classes of one instance each, 1,999 tasks: one split per class left out, no stack to overflow
    assert sum(1 for _ in _splits([1] * 2_000, 1_999)) == 2_000


def test_a_long_odd_ring_is_decided_without_recursion() -> None:
    # GIVEN 1,001 services in a ring, each sharing one port with the next: an odd cycle needs 3 instances
    ring = [demand(f"S{i}", 1, tcp(i, (i + 1) % 1_001)) for i in range(1_001)]
    # THEN 3 instances fit (a greedy placement proves it), 2 do not or the search says it cannot tell:
    # never a RecursionError, never a guess
    assert place(ring, {"g": 3}).fits is True
    assert place(ring, {"g": 2}).fits in (False, None)


def test_counts_are_numbers_not_instances() -> None:
    # GIVEN three services pairwise sharing a port, 400,000,000 tasks each, and a billion instances
    triangle = [demand("A", 400_000_000, tcp(1, 2)), demand("B", 400_000_000, tcp(2, 3)), demand("C", 400_000_000, tcp(1, 3))]
    # THEN every port is wanted 800,000,000 times, yet the three need 1,200,000,000 instances
    assert place(triangle, {"g": 1_000_000_000}).fits is False
    assert place(triangle, {"g": 1_200_000_000}).fits is True
    assert place(triangle[:2], {"g": 1_000_000_000}).fits is True


def test_a_clique_proves_overcommit_when_the_search_runs_out() -> None:
    # GIVEN a triangle (1 task each, pairwise sharing a port) in a chain of services: not one clique,
    # so the exact search would decide it; with no budget for it, the triangle still proves overcommit
    chain = [demand("A", 1, tcp(1, 2)), demand("B", 1, tcp(2, 3)), demand("C", 1, tcp(1, 3)), demand("D", 1, tcp(3, 4)), demand("E", 1, tcp(4, 5))]
    assert place(chain, {"g": 2}, budget=0).fits is False
    assert place(chain, {"g": 2}).fits is False
    # while an even cycle of the same size fits
    cycle = [demand(f"P{i}", 1, tcp(i, i + 1)) for i in range(5)] + [demand("Q", 1, tcp(0, 5))]
    assert place(cycle, {"g": 2}).fits is True


def test_a_large_shared_pool_is_proven_by_a_greedy_placement() -> None:
    # GIVEN 25,000 services each holding 3 of 40 ports: each port is wanted about 1,900 times
    rng = random.Random(1)
    pool = [demand(f"S{i}", 1, tcp(*rng.sample(range(40), 3))) for i in range(25_000)]
    wanted = max(sum(1 for d in pool if ("tcp", p) in d.ports) for p in range(40))
    started = time.perf_counter()
    # THEN a few percent more instances than the most wanted port fit them, and fewer do not
    assert place(pool, {"g": wanted + wanted // 20}).fits is True
    assert place(pool, {"g": wanted - 1}).fits is False
    assert time.perf_counter() - started < 10


def layout_is_a_placement(layout: Layout, demands: Sequence[Demand], capacity: dict[Hashable, int]) -> bool:
    """Every instance is accounted for, and every task holds its ports on an instance of its own."""
    per_class: dict[Hashable, int] = {}
    for cls, _, count in layout.blocks():
        per_class[cls] = per_class.get(cls, 0) + count
    if per_class != {c: n for c, n in capacity.items() if n > 0}:
        return False
    for port, index in layout.bits.items():
        holding = sum(count for _, held, count in layout.blocks() if held >> index & 1)
        if holding != sum(d.tasks for d in demands if port in d.ports and d.tasks > 0):
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.fixed_dictionaries({"g": st.integers(0, 3), "h": st.integers(0, 2)}),
    demands=st.lists(
        st.builds(
            lambda i, tasks, ports, classes: demand(f"D{i}", tasks, tcp(*ports), sorted(classes)),
            st.integers(0, 10**6),
            st.integers(0, 3),
            st.frozensets(st.sampled_from(PORTS), min_size=1, max_size=3),
            st.frozensets(st.sampled_from(["g", "h"]), min_size=1),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda d: d.name,
    ),
)
def test_steps_before_the_search_never_guess(capacity: dict[Hashable, int], demands: list[Demand]) -> None:
    # WHEN only the necessary conditions and the greedy placement may answer
    decision = decide(demands, capacity, search=False)
    truth = brute_force_classes(capacity, demands)
    # THEN what they answer is the truth, and a fit comes with a placement that is one
    assert decision.verdict.fits in (truth, None)
    if decision.verdict.fits:
        assert decision.layout is not None and layout_is_a_placement(decision.layout, demands, capacity)

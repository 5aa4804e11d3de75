"""Who is blamed when services overcommit shared static ports: `fits_beside` against brute force."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from portplan_builders import Stack
from test_portplan_placement import PORTS, brute_force_classes, demand, tcp

from constructs_lib.portplan import build_model
from constructs_lib.portplan.placement import Demand
from constructs_lib.portplan.plan import build_plan
from constructs_lib.portplan.rules.contention import fits_beside


def brute_force_fits_beside(subject: Demand, others: Sequence[Demand], capacity: dict[Hashable, int]) -> int:
    """The definition, spelled out: the worst, over every set of the others' tasks that fits together,
    of the most subject tasks that fit beside that set."""
    usable = sum(capacity.get(c, 0) for c in subject.classes)
    worst = usable
    for counts in itertools.product(*(range(d.tasks + 1) for d in others)):
        chosen = [Demand(d.name, n, d.ports, d.classes) for d, n in zip(others, counts, strict=True)]
        if not brute_force_classes(capacity, chosen):
            continue
        most = max(k for k in range(usable + 1)
                   if k == 0 or brute_force_classes(capacity, [*chosen, Demand(subject.name, k, subject.ports, subject.classes)]))
        worst = min(worst, most)
    return worst


def test_a_service_the_others_leave_room_for_is_not_blamed() -> None:
    # GIVEN the overcommit hypothesis once found: 2 instances, A{8080} x1, B{8080, 8081} x1, C{8081} x2
    a, b, c = demand("A", 1, tcp(8080)), demand("B", 1, tcp(8080, 8081)), demand("C", 2, tcp(8081))
    capacity = {"g": 2}
    # THEN 8081 is wanted 3 times on 2 instances: B and C are blamed, A fits beside anything they can run
    assert fits_beside(a, [b, c], capacity, {}) == 1
    assert fits_beside(b, [a, c], capacity, {}) == 0
    assert fits_beside(c, [a, b], capacity, {}) == 1


def test_every_service_on_an_overcommitted_port_is_blamed() -> None:
    # 3 + 1 tasks on tcp/8080 and 2 instances: the small service is blamed too, its task is one too many
    big, small = demand("Big", 3, tcp(8080)), demand("Small", 1, tcp(8080))
    assert fits_beside(small, [big], {"g": 2}, {}) == 0
    assert fits_beside(big, [small], {"g": 2}, {}) == 1


def test_when_all_others_fit_it_is_the_room_beside_them() -> None:
    assert fits_beside(demand("S", 0, tcp(80)), [demand("A", 1, tcp(80, 81))], {"g": 3}, {}) == 2
    assert fits_beside(demand("S", 0, tcp(80)), [], {"g": 3}, {"g": tcp(80)}) == 0


def test_out_of_budget_is_unknown() -> None:
    others = [demand(f"O{i}", 2, tcp(i, i + 1)) for i in range(4)]
    assert fits_beside(demand("S", 0, tcp(0, 4)), others, {"g": 2}, {}, budget=1) is None


@settings(max_examples=200, deadline=None)
@given(
    instances=st.integers(0, 3),
    subject=st.builds(lambda ports: demand("S", 0, tcp(*ports)), st.frozensets(st.sampled_from(PORTS), min_size=1)),
    others=st.lists(
        st.builds(
            lambda i, tasks, ports: demand(f"O{i}", tasks, tcp(*ports)),
            st.integers(0, 10**6),
            st.integers(0, 3),
            st.frozensets(st.sampled_from(PORTS), min_size=1, max_size=3),
        ),
        max_size=3,
        unique_by=lambda d: d.name,
    ),
)
def test_fits_beside_equals_its_definition(instances: int, subject: Demand, others: list[Demand]) -> None:
    capacity = {"g": instances}
    assert fits_beside(subject, others, capacity, {}) == brute_force_fits_beside(subject, others, capacity)


@settings(max_examples=100, deadline=None)
@given(
    instances=st.integers(0, 3),
    services=st.lists(
        st.tuples(
            st.frozensets(st.sampled_from(PORTS), max_size=2), st.integers(0, 2), st.integers(0, 2), st.booleans()
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_plan_fits_at_the_maximum_equals_the_definition(
    instances: int, services: list[tuple[frozenset[int], int, int, bool]]
) -> None:
    # GIVEN services (ports, desired, extra tasks auto scaling adds, distinctInstance) on one group
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    demands = []
    for index, (ports, desired, extra, distinct) in enumerate(services):
        stack.task(f"Task{index}", [(p, p, "tcp") for p in sorted(ports)] or [(80, 0, "tcp")])
        constraints = [{"Type": "distinctInstance"}] if distinct else None
        stack.service(f"S{index}", f"Task{index}", desired=desired, constraints=constraints)
        stack.scaling(f"S{index}", desired, desired + extra)
        private = {5000 + index} if distinct else set()
        demands.append(demand(f"S{index}", desired + extra, tcp(*ports, *private)))
    data = build_plan(build_model([stack.loaded()]))
    rows = {s["id"]: s for c in data["clusters"] for s in c["services"]}
    # THEN fits_at_max is the worst room beside what the others can run at their maxima (distinctInstance
    # counting as a port of the service's own), and unbounded services have none
    for index, subject in enumerate(demands):
        row = rows[f"S{index}"]
        if not subject.ports:
            assert row["fits_at_max"] is None
            continue
        others = [d for d in demands if d is not subject]
        assert row["fits_at_max"] == brute_force_fits_beside(subject, others, {"g": instances})

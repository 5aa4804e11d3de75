"""Who is blamed when services overcommit shared static ports: `fits_beside` against brute force."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from portplan_builders import Stack
from test_portplan_placement import PORTS, brute_force_classes, demand, tcp

from constructs_lib.portplan import build_model
from constructs_lib.portplan.placement import Budget, Demand, decide, usable_classes
from constructs_lib.portplan.plan import build_plan
from constructs_lib.portplan.rules.contention import Fit, _Scenario, fits_beside


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
    # GIVEN S{1,2} beside B{2,3} and C{1,3} on 3 instances: the bounds leave 1 or 2 (each port of S is
    # wanted by one other task), only a placement tells that B and C, which share 3, hold two instances
    others = [demand("B", 1, tcp(2, 3)), demand("C", 1, tcp(1, 3))]
    subject = demand("S", 0, tcp(1, 2))
    assert fits_beside(subject, others, {"g": 3}, {}) == 1
    # WHEN one placement verdict is all it may ask for THEN it does not guess
    assert fits_beside(subject, others, {"g": 3}, {}, budget=1) is None


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
    # GIVEN services (ports, desired, extra tasks auto scaling adds, distinctInstance) on one group of
    # instances with memory for far more tasks than these (so the ports alone bind)
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances, instance_type="m7i.8xlarge")
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
    # counting as a port of the service's own), and services no port bounds are bound by memory alone
    for index, subject in enumerate(demands):
        row = rows[f"S{index}"]
        if not subject.ports:
            assert row["fits_at_max_by"] in (None, "memory")
            continue
        assert row["fits_at_max_by"] == ("ports" if services[index][0] else "distinctInstance")
        others = [d for d in demands if d is not subject]
        assert row["fits_at_max"] == brute_force_fits_beside(subject, others, {"g": instances})


# -- bounds, and what is left when the budget runs out ----------------------------------------------------

CLASSES = ("g", "h")


def scenario_demands() -> st.SearchStrategy[list[Demand]]:
    return st.lists(
        st.builds(
            lambda i, tasks, ports, classes: demand(f"D{i}", tasks, tcp(*ports), sorted(classes)),
            st.integers(0, 10**6),
            st.integers(0, 3),
            st.frozensets(st.sampled_from(PORTS), min_size=1, max_size=3),
            st.frozensets(st.sampled_from(CLASSES), min_size=1),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda d: d.name,
    )


def truth_beside(index: int, demands: list[Demand], capacity: dict[Hashable, int], blocked: dict[Hashable, frozenset]) -> int:
    """fits_beside by its definition; a blocked port keeps a demand off its class entirely."""
    usable = [Demand(d.name, d.tasks, d.ports, usable_classes(d, capacity, blocked)) for d in demands]
    return brute_force_fits_beside(usable[index], usable[:index] + usable[index + 1 :], capacity)


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.fixed_dictionaries({"g": st.integers(0, 3), "h": st.integers(0, 2)}),
    blocked_port=st.sampled_from([None, *PORTS]),
    demands=scenario_demands(),
)
def test_bounds_hold_the_exact_answer(
    capacity: dict[Hashable, int], blocked_port: int | None, demands: list[Demand]
) -> None:
    # GIVEN a group (a daemon may hold a port on every instance of g) and the greedy's verdict on it
    blocked = {"g": tcp(blocked_port)} if blocked_port is not None else {}
    decision = decide(demands, capacity, blocked, search=False)
    together = decision.verdict.fits is True
    scenario = _Scenario(demands, capacity, blocked)
    for index, subject in enumerate(demands):
        truth = truth_beside(index, demands, capacity, blocked)
        # WHEN bounded from counts alone, and with the greedy's placement of the whole group
        bare = scenario.bounds(index)
        witnessed = scenario.bounds(index, decision.layout if together else None, subject.tasks if together else 0)
        # THEN both hold the exact answer, and spending nothing on a search narrows nothing wrongly
        assert bare.low <= truth <= bare.high
        assert witnessed.low <= truth <= witnessed.high
        spent = scenario.refine(index, witnessed, Budget(0), 0, True if together else None)
        assert spent.low <= truth <= spent.high
        # and a search with room to spare finds it
        assert scenario.refine(index, witnessed, Budget(10**7), 10**4, True if together else None).exact == truth


def test_bounds_alone_decide_the_common_cases() -> None:
    # A clique of services on one port: at most what the others leave, and the greedy shows it is met
    clique = [demand("A", 2, tcp(80)), demand("B", 1, tcp(80, 81)), demand("C", 1, tcp(80, 82))]
    decision = decide(clique, {"g": 5})
    scenario = _Scenario(clique, {"g": 5}, {})
    assert [scenario.bounds(i, decision.layout, d.tasks) for i, d in enumerate(clique)] == [Fit(3, 3), Fit(2, 2), Fit(2, 2)]
    # A port wanted by more tasks than the instances: the others fill it, nothing is left
    over = [demand("A", 3, tcp(80)), demand("B", 3, tcp(80, 81))]
    assert _Scenario(over, {"g": 2}, {}).bounds(0) == Fit(0, 0)


def test_a_subject_confined_to_its_classes_meets_the_others_there() -> None:
    # GIVEN S on class g only, and O wanting the same port on g or h: O can move out of S's way
    s, o = demand("S", 0, tcp(80), ["g"]), demand("O", 2, tcp(80), ["g", "h"])
    assert fits_beside(s, [o], {"g": 2, "h": 2}, {}) == 2
    # but when O is confined to g as well, it takes S's instances
    assert fits_beside(s, [demand("O", 2, tcp(80), ["g"])], {"g": 2, "h": 2}, {}) == 0

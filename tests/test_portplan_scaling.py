"""scaling-port-overcommit: service auto scaling checked at its maximum, and the plan's scaling range."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from portplan_builders import Stack, check, ids, rules_of, static_app

from constructs_lib.portplan import build_model
from constructs_lib.portplan.plan import build_plan, render_plan_markdown, render_plan_text

RULE = "scaling-port-overcommit"


def scaled_app(*, high: Any = 10, instances: int = 2, tasks: int = 2, host_port: int = 8080, **capacity: Any) -> Stack:
    stack = static_app(tasks=tasks, instances=instances, host_port=host_port)
    if capacity:
        stack.resources.pop("Asg")
        stack.capacity(**capacity)
    stack.scaling("Service", tasks, high)
    return stack


def rows(stack: Stack) -> dict[str, dict[str, Any]]:
    data = build_plan(build_model([stack.loaded()]))
    return {s["id"]: s for c in data["clusters"] for s in c["services"]}


def test_scaling_past_the_instances_on_a_static_port_is_an_error() -> None:
    # GIVEN static 8080, desired 2, auto scaling to 10, on 2 instances
    findings = check(scaled_app())
    # THEN scaling-port-overcommit, not static-port-overcommit: the desired count fits
    assert ids(findings) == {(RULE, "Service")}
    [finding] = findings
    assert finding.severity == "error"
    assert "when service auto scaling takes Stack/Service/Service from 2 tasks to 10" in finding.message
    assert "10 tasks need tcp/8080 on capacity Stack/Asg/ASG, which has at most 2 instances" in finding.message
    assert "lower the MaxCapacity of scalable target Stack/Service/TaskCount/Target to 2" in finding.fix
    assert "MaxSize at least 10" in finding.fix


def test_a_maximum_the_capacity_holds_is_fine() -> None:
    assert check(scaled_app(high=2)) == []
    assert check(scaled_app(high=10, instances=10)) == []


def test_dynamic_ports_scale_freely() -> None:
    assert check(scaled_app(host_port=0)) == []


def test_managed_scaling_to_a_large_enough_max_size_holds_the_maximum() -> None:
    # GIVEN the service on a capacity provider with managed scaling up to 10 instances
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2, max_size=10, provider="Provider", managed=True)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=2, strategy=["Provider"])
    stack.scaling("Service", 2, 10)
    assert check(stack) == []
    # WHEN the group stops at 6 THEN scaling to 10 is reported
    stack.props("Asg")["MaxSize"] = "6"
    assert ids(check(stack)) == {(RULE, "Service")}


def test_too_many_at_the_desired_count_is_the_static_rule_alone() -> None:
    assert {f.rule for f in check(scaled_app(tasks=3))} == {"static-port-overcommit"}


def test_only_the_scaling_service_is_blamed() -> None:
    # GIVEN two services on 8080 and 3 instances: Steady (1 task) and Busy (1 task, scaling to 4)
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=3)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Steady", "Task", desired=1)
    stack.service("Busy", "Task", desired=1)
    stack.scaling("Busy", 1, 4)
    # THEN Busy is reported, and its fix says how far it can scale beside Steady
    [finding] = rules_of(check(stack), RULE)
    assert finding.resource == "Busy"
    assert "to 2," in finding.fix


def test_unknown_maximum_and_unknown_service_are_unverifiable() -> None:
    stack = scaled_app()
    stack.parameters["Most"] = {"Type": "Number"}
    stack.props("ServiceScaling")["MaxCapacity"] = {"Ref": "Most"}
    stack.scaling("Other", 1, 3, logical_id="Orphan")
    stack.props("Orphan")["ResourceId"] = "service/elsewhere/other"
    findings = check(stack)
    assert ids(findings) == {("unverifiable", "Service"), ("unverifiable", "Orphan")}
    messages = " ".join(f.message for f in findings)
    assert "its scaling maximum is unknown (parameter Most" in messages
    assert "the service it scales is unknown (service 'other' of its ResourceId is not defined" in messages


def test_the_plan_shows_the_range_and_over_at_max() -> None:
    stack = scaled_app()
    row = rows(stack)["Service"]
    assert (row["desired"], row["scaling"], row["fits"], row["fits_at_max"], row["over_at_max"]) == (
        2,
        {"min": 2, "max": 10},
        2,
        2,
        True,
    )
    data = build_plan(build_model([stack.loaded()]))
    assert "2 (2..10)" in render_plan_text(data) and "OVER AT MAX" in render_plan_text(data)
    assert "| 2 (2..10) |" in render_plan_markdown(data) and "**OVER AT MAX**" in render_plan_markdown(data)
    fine = rows(scaled_app(high=2))["Service"]
    assert (fine["scaling"], fine["over_at_max"]) == ({"min": 2, "max": 2}, False)
    assert rows(static_app())["Service"]["scaling"] is None


@settings(max_examples=60, deadline=None)
@given(
    instances=st.integers(0, 4),
    services=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 4), st.sampled_from([(8080,), (8081,), (8080, 8081)])),
        min_size=1,
        max_size=3,
    ),
)
def test_the_plan_marks_exactly_what_the_rule_reports(instances: int, services: list[tuple[int, int, tuple[int, ...]]]) -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    for index, (desired, extra, ports) in enumerate(services):
        stack.task(f"Task{index}", [(p, p, "tcp") for p in ports])
        stack.service(f"Service{index}", f"Task{index}", desired=desired)
        stack.scaling(f"Service{index}", desired, desired + extra)
    reported = {f.resource for f in check(stack) if f.rule == RULE and f.severity == "error"}
    marked = {key for key, row in rows(stack).items() if row["over_at_max"]}
    assert marked == reported


def test_a_rolling_deployment_at_the_scaling_maximum() -> None:
    # GIVEN 2 tasks on 8080 and 4 instances, ECS's rolling defaults (100 / 200), scaling to 4
    stack = static_app(tasks=2, instances=4, minimum=100, maximum=200)
    assert check(stack) == []
    stack.scaling("Service", 2, 4)
    # THEN at 4 tasks no old task may stop first and no instance is free: the deployment hangs
    [finding] = check(stack)
    assert finding.rule == "deployment-port-deadlock"
    assert finding.message.startswith("when service auto scaling holds it at its maximum of 4 tasks, a rolling")
    # WHEN the maximum does not even fit THEN only scaling-port-overcommit speaks
    stack.props("ServiceScaling")["MaxCapacity"] = 6
    assert {f.rule for f in check(stack)} == {RULE}

"""placement-constraint-overcommit: distinctInstance and memberOf bound where a service's tasks can run."""

from __future__ import annotations

from typing import Any

from portplan_builders import Stack, check, ids, rules_of

from constructs_lib.portplan import build_model
from constructs_lib.portplan.plan import build_plan

RULE = "placement-constraint-overcommit"
DISTINCT = [{"Type": "distinctInstance"}]


def member_of(expression: str) -> list[dict[str, Any]]:
    return [{"Type": "memberOf", "Expression": expression}]


def spread_app(*, tasks: int = 4, instances: int = 2, host_port: int = 0, **service: Any) -> Stack:
    """A dynamic-port service with distinctInstance on one group."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    stack.task("Task", [(80, host_port, "tcp")])
    stack.service("Service", "Task", desired=tasks, constraints=DISTINCT, **service)
    return stack


def two_kinds() -> Stack:
    """One cluster with 2 t3.micro (x86_64) and 3 t4g.small (arm64) instances."""
    stack = Stack()
    stack.cluster()
    stack.capacity("Intel", min_size=2)
    stack.capacity("Graviton", min_size=3)
    stack.props("GravitonTemplate")["LaunchTemplateData"]["InstanceType"] = "t4g.small"
    stack.task("Task", [(80, 0, "tcp")])
    return stack


def row(stack: Stack, service: str = "Service") -> dict[str, Any]:
    data = build_plan(build_model([stack.loaded()]))
    return {s["id"]: s for c in data["clusters"] for s in c["services"]}[service]


# -- distinctInstance --------------------------------------------------------------------------------


def test_distinct_instance_caps_dynamic_tasks_at_the_instances() -> None:
    # GIVEN 4 dynamic-port tasks with distinctInstance on 2 instances
    [finding] = check(spread_app())
    # THEN 2 of them can never be placed
    assert (finding.rule, finding.severity, finding.resource) == (RULE, "error", "Service")
    assert "4 tasks need an instance each (distinctInstance, whatever their ports)" in finding.message
    assert "capacity Stack/Asg/ASG has at most 2 instances" in finding.message
    assert "run at most 2 tasks" in finding.fix and "at least 4 instances" in finding.fix
    assert (row(spread_app())["fits"], row(spread_app())["placement_constraints"]) == (2, ["distinctInstance"])


def test_distinct_instance_within_the_instances_is_fine() -> None:
    assert check(spread_app(tasks=2)) == []
    assert row(spread_app(tasks=2))["fits"] == 2


def test_distinct_instance_at_the_scaling_maximum() -> None:
    stack = spread_app(tasks=2)
    stack.scaling("Service", 2, 5)
    [finding] = check(stack)
    assert finding.rule == RULE
    assert finding.message.startswith("when service auto scaling takes it to 5 tasks")
    assert "lower the MaxCapacity of scalable target Stack/Service/TaskCount/Target to 2" in finding.fix
    assert (row(stack)["fits_at_max"], row(stack)["over_at_max"]) == (2, True)


def test_a_static_port_already_means_one_task_per_instance() -> None:
    # distinctInstance adds nothing to a static port: the port rule speaks, once
    assert {f.rule for f in check(spread_app(host_port=8080))} == {"static-port-overcommit"}


def test_distinct_instance_on_capacity_of_unknown_size_is_unverifiable() -> None:
    stack = spread_app(tasks=3)
    stack.capacity("Other", cluster={"Fn::ImportValue": "Elsewhere:Cluster"})
    assert ids(check(stack)) == {("unverifiable", "Service")}


def test_a_rolling_deployment_of_distinct_tasks_deadlocks_like_a_static_port() -> None:
    # GIVEN 2 dynamic tasks with distinctInstance on 2 instances and ECS's defaults (100 / 200)
    stack = spread_app(tasks=2, minimum=100, maximum=200)
    [finding] = check(stack)
    # THEN every new task needs an instance of its own, and there is none
    assert finding.rule == "deployment-port-deadlock"
    assert "every new task needs an instance of its own (distinctInstance)" in finding.message
    assert check(spread_app(tasks=2, minimum=50, maximum=200)) == []


# -- memberOf ----------------------------------------------------------------------------------------


def test_member_of_ruling_out_every_instance() -> None:
    stack = two_kinds()
    stack.service("Service", "Task", desired=1, constraints=member_of("attribute:ecs.os-type == windows"))
    [finding] = check(stack)
    assert (finding.rule, finding.severity) == (RULE, "error")
    assert "its memberOf placement constraint 'attribute:ecs.os-type == windows' rules out every instance" in finding.message
    assert "Stack/Graviton/ASG: t4g.small, linux" in finding.message
    assert row(stack)["fits"] == 0


def test_member_of_that_some_instances_satisfy_is_fine() -> None:
    stack = two_kinds()
    stack.service("Service", "Task", desired=5, constraints=member_of("attribute:ecs.cpu-architecture == arm64"))
    assert check(stack) == []
    assert row(stack)["placement_constraints"] == ["memberOf attribute:ecs.cpu-architecture == arm64"]


def test_member_of_narrows_a_distinct_service() -> None:
    # GIVEN distinctInstance on arm64 only: 3 Graviton instances, 4 tasks
    stack = two_kinds()
    constraints = [*DISTINCT, *member_of("attribute:ecs.cpu-architecture == arm64")]
    stack.service("Service", "Task", desired=4, constraints=constraints)
    [finding] = check(stack)
    assert finding.rule == RULE and "capacity Stack/Graviton/ASG has at most 3 instances" in finding.message
    assert row(stack)["fits"] == 3


def test_member_of_narrows_static_ports_too() -> None:
    # GIVEN a static port, 3 tasks, only the 2 Intel instances allowed by the task definition's constraint
    stack = two_kinds()
    stack.task("Static", [(80, 8080, "tcp")])
    stack.props("Static")["PlacementConstraints"] = member_of("attribute:ecs.instance-type =~ t3\\..*")
    stack.service("Service", "Static", desired=3)
    [finding] = check(stack)
    assert finding.rule == "static-port-overcommit" and "capacity Stack/Intel/ASG" in finding.message


def test_member_of_a_daemon_uses_only_the_matching_instances() -> None:
    # A daemon on 9100 for arm64 only, and a replica on 9100: the Intel instances stay free for it
    stack = two_kinds()
    stack.task("Exporter", [(9100, 9100, "tcp")])
    stack.service("Daemon", "Exporter", daemon=True, constraints=member_of("attribute:ecs.cpu-architecture == arm64"))
    stack.service("Replica", "Exporter", desired=2)
    assert check(stack) == []
    stack.props("Replica")["DesiredCount"] = 3
    assert {f.resource for f in rules_of(check(stack), "static-port-overcommit")} == {"Replica"}


def test_member_of_that_cannot_be_decided_names_the_expression() -> None:
    stack = two_kinds()
    stack.service("Service", "Task", desired=1, constraints=member_of("task:group == service:db"))
    [finding] = check(stack)
    assert finding.rule == "unverifiable"
    assert "memberOf expression 'task:group == service:db'" in finding.message


def test_member_of_on_an_attribute_the_user_data_sets() -> None:
    # GIVEN NEW-10's shape: the user data sets the attribute from a parameter, the constraint compares the same one
    stack = Stack()
    stack.parameters["Option"] = {"Type": "String"}
    stack.cluster()
    stack.capacity(min_size=1)
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = {
        "Fn::Base64": {
            "Fn::Sub": "#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"
            'echo ECS_INSTANCE_ATTRIBUTES={\\"purchase-option\\":\\"${Option}\\"} >> /etc/ecs/ecs.config\n'
        }
    }
    stack.task("Task", [(80, 0, "tcp")])
    expression = {"Fn::Sub": "attribute:purchase-option == ${Option}"}
    stack.service("Service", "Task", desired=2, constraints=[{"Type": "memberOf", "Expression": expression}])
    assert check(stack) == []
    # WHEN the constraint asks for another value THEN whether it matches cannot be told
    stack.props("Service")["PlacementConstraints"][0]["Expression"] = "attribute:purchase-option == spot"
    assert ids(check(stack)) == {("unverifiable", "Service")}

"""deployment-port-deadlock for blue/green: the new task set starts beside the old one."""

from __future__ import annotations

from typing import Any

import pytest
from portplan_builders import Stack, check, ids, static_app

RULE = "deployment-port-deadlock"


def managed(max_size: int, **service: Any) -> Stack:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2, max_size=max_size, provider="Provider", managed=True)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=2, strategy=["Provider"], **service)
    return stack


@pytest.mark.parametrize(
    ("service", "named"),
    [
        ({"controller": "CODE_DEPLOY"}, "a CodeDeploy blue/green deployment (DeploymentController CODE_DEPLOY)"),
        ({"deployment_strategy": "BLUE_GREEN"}, "an ECS blue/green deployment (deployment strategy BLUE_GREEN)"),
        ({"deployment_strategy": "LINEAR"}, "an ECS linear deployment (deployment strategy LINEAR)"),
        ({"deployment_strategy": "CANARY"}, "an ECS canary deployment (deployment strategy CANARY)"),
    ],
)
def test_blue_green_needs_the_static_port_on_twice_the_instances(service: dict[str, Any], named: str) -> None:
    # GIVEN 2 tasks on tcp/8080 and 2 instances, deployed blue/green
    [finding] = check(static_app(tasks=2, instances=2, **service))
    # THEN the 2 new tasks have nowhere to go, and the message says which deployment
    assert (finding.rule, finding.resource) == (RULE, "Service")
    assert finding.message.startswith(named)
    assert "starts 2 new tasks beside the 2 running before it stops any, and all 4 need tcp/8080" in finding.message
    assert "at most 2 instances" in finding.message
    assert "at least 4 instances free of tcp/8080" in finding.fix
    # WHEN there are 4 instances THEN both task sets fit
    assert check(static_app(tasks=2, instances=4, **service)) == []


def test_managed_scaling_gives_the_new_task_set_its_instances() -> None:
    assert check(managed(4, controller="CODE_DEPLOY")) == []
    assert ids(check(managed(3, controller="CODE_DEPLOY"))) == {(RULE, "Service")}


def test_dynamic_ports_need_no_second_instance() -> None:
    assert check(static_app(tasks=2, instances=2, host_port=0, controller="CODE_DEPLOY")) == []


def test_distinct_instance_needs_twice_the_instances_too() -> None:
    stack = static_app(tasks=2, instances=3, host_port=0, controller="CODE_DEPLOY")
    stack.props("Service")["PlacementConstraints"] = [{"Type": "distinctInstance"}]
    [finding] = check(stack)
    assert finding.rule == RULE and "need an instance of its own (distinctInstance)" in finding.message
    stack.props("Asg")["MinSize"] = stack.props("Asg")["MaxSize"] = "4"
    assert check(stack) == []


def test_services_sharing_the_port_count_too() -> None:
    # GIVEN Blue (1 task, CodeDeploy) and Other (1 task) on 8080: 1 + 1 + 1 tasks need the port
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=3)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Blue", "Task", desired=1, controller="CODE_DEPLOY")
    stack.service("Other", "Task", desired=1)
    assert check(stack) == []
    stack.props("Asg")["MinSize"] = stack.props("Asg")["MaxSize"] = "2"
    [finding] = check(stack)
    assert finding.resource == "Blue" and "(beside the tasks of Stack/Other/Service)" in finding.message


def test_a_deployment_at_the_scaling_maximum() -> None:
    # GIVEN 1 task scaling to 3, CodeDeploy, 4 instances: 2 fit at the desired count, 6 do not at the maximum
    stack = static_app(tasks=1, instances=4, controller="CODE_DEPLOY")
    stack.scaling("Service", 1, 3)
    [finding] = check(stack)
    assert finding.rule == RULE and "at its scaling maximum of 3 tasks starts 3 new tasks" in finding.message
    stack.props("ServiceScaling")["MaxCapacity"] = 2
    assert check(stack) == []


def test_what_cannot_be_known_is_unverifiable() -> None:
    stack = static_app(tasks=2, instances=2, controller="CODE_DEPLOY")
    stack.props("Service")["Cluster"] = {"Fn::ImportValue": "Shared:Cluster"}
    findings = check(stack)
    assert (RULE, "Service") not in ids(findings)
    assert any("CodeDeploy blue/green" in f.message for f in findings if f.rule == "unverifiable")


def test_an_external_controller_is_unverifiable() -> None:
    [finding] = check(static_app(tasks=2, instances=2, controller="EXTERNAL"))
    assert finding.rule == "unverifiable" and "DeploymentController EXTERNAL" in finding.message

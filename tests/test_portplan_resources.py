"""Will it fit: what tasks ask, what instances offer, and the four resource rules (CPU, memory, ENIs).

A t3.micro (the builders' default) has 2 vCPUs and 1024 MiB: it offers 2048 CPU units and, as the
agent registers it in the model, 998 MiB; a t3.small 1996 MiB; awsvpc tasks get the ENIs beyond the
primary one (1 on a t3.micro, 2 on a t3.small or c5.large).
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_lib.portplan.intrinsics import Unknown
from constructs_lib.portplan.model import build_model
from constructs_lib.portplan.plan import build_plan, render_plan_text
from constructs_lib.portplan.rules.resource_facts import resource_fits
from constructs_lib.portplan.rules.unverifiable import undecided
from constructs_lib.portplan.sizing import Ask, registered_memory, size_problems, task_ask
from tests.portplan_builders import Stack, check, ref, rules_of, user_data

CFN_INIT_USER_DATA = {
    "Fn::Base64": {
        "Fn::Sub": "#!/bin/bash\n/opt/aws/bin/cfn-init -v --stack ${AWS::StackName} --resource AsgTemplate "
        "--region ${AWS::Region}\n"
    }
}


def container(name: str = "web", **sizes: Any) -> dict[str, Any]:
    return {"Name": name, "Image": "nginx", "PortMappings": [{"ContainerPort": 80, "HostPort": 0}], **sizes}


def app(
    *containers: dict[str, Any],
    desired: int = 1,
    instances: int = 1,
    instance_type: Any = "t3.micro",
    mode: str = "bridge",
    task: dict[str, Any] | None = None,
    **service: Any,
) -> Stack:
    """One service of `desired` tasks (by default one container of 128 MiB) on `instances` instances."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances, instance_type=instance_type)
    stack.task("Task", containers=list(containers) or [container(Memory=128)], mode=mode)
    stack.props("Task").update(task or {})
    stack.service("Service", "Task", desired=desired, **service)
    return stack


def plan_of(stack: Stack):
    return build_model([stack.loaded()])


def ask_of(stack: Stack) -> Ask | Unknown | None:
    plan = plan_of(stack)
    return task_ask(plan.task_definitions[(stack.loaded().name, "Task")])


def row(stack: Stack, service: str = "Service") -> dict[str, Any]:
    data = build_plan(plan_of(stack))
    return next(s for c in data["clusters"] for s in c["services"] if s["id"] == service)


def found(stack: Stack, rule: str) -> list[str]:
    return [f.message for f in rules_of(check(stack), rule)]


# -- what a task asks -------------------------------------------------------------------------------------


def test_task_level_sizes_win_over_the_containers() -> None:
    stack = app(container(Memory=128, Cpu=128), task={"Cpu": "0.5 vCPU", "Memory": "1 GB"})
    assert ask_of(stack) == Ask(512, 1024, 0)


def test_containers_add_up_their_reservations_else_their_limits() -> None:
    # MemoryReservation (soft) is what ECS reserves when given; Memory (hard) otherwise; Cpu adds up
    stack = app(container("a", Memory=512, MemoryReservation=128, Cpu=256), container("b", Memory=256))
    assert ask_of(stack) == Ask(256, 384, 0)


def test_awsvpc_tasks_ask_an_eni() -> None:
    assert ask_of(app(mode="awsvpc")) == Ask(0, 128, 1)


def test_a_size_set_at_deployment_is_unknown_and_the_service_undecided() -> None:
    stack = app(container(Memory=ref("Mem")))
    stack.parameters["Mem"] = {"Type": "Number"}
    assert isinstance(ask_of(stack), Unknown)
    plan = plan_of(stack)
    assert any("its CPU and memory cannot be checked" in r for r in undecided(plan, plan.services[(stack.loaded().name, "Service")]))
    assert rules_of(check(stack), "unverifiable")


# -- what an instance offers ----------------------------------------------------------------------------------


def test_registered_memory_follows_ecs_published_example() -> None:
    # "an m4.large instance has 8 GiB of installed memory ... 7985 MiB"
    assert registered_memory(8192) == 7985
    assert registered_memory(1024) == 998
    assert registered_memory(1024, 256) == 742


def test_ecs_reserved_memory_in_user_data_is_taken_off() -> None:
    stack = app()
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = user_data(ref("Cluster"), "ECS_RESERVED_MEMORY=256")
    data = build_plan(plan_of(stack))
    assert data["clusters"][0]["offers"][0]["memory_mib"] == 742


def test_ecs_reserved_memory_in_cfn_init_is_taken_off() -> None:
    stack = app()
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = CFN_INIT_USER_DATA
    stack.resources["AsgTemplate"]["Metadata"] = {
        "AWS::CloudFormation::Init": {
            "config": {
                "files": {
                    "/etc/ecs/ecs.config": {
                        "content": {"Fn::Join": ["", ["ECS_CLUSTER=", ref("Cluster"), "\nECS_RESERVED_MEMORY=500\n"]]}
                    }
                }
            }
        }
    }
    data = build_plan(plan_of(stack))
    assert data["clusters"][0]["offers"][0]["memory_mib"] == 498


def test_an_instance_type_the_facts_do_not_know_leaves_the_service_undecided() -> None:
    stack = app(instance_type="x9.imaginary")
    plan = plan_of(stack)
    reasons = undecided(plan, plan.services[(stack.loaded().name, "Service")])
    assert any("x9.imaginary" in r and "not in the instance facts" in r for r in reasons)
    assert not rules_of(check(stack), "resource-overcommit")


def test_an_instance_type_set_at_deployment_leaves_the_service_undecided() -> None:
    stack = app(instance_type=ref("Type"))
    stack.parameters["Type"] = {"Type": "String"}
    plan = plan_of(stack)
    reasons = undecided(plan, plan.services[(stack.loaded().name, "Service")])
    assert any("instance type" in r and "set at deployment" in r for r in reasons)


def test_a_mixed_instances_policy_is_planned_with_its_smallest_type() -> None:
    stack = app(container(Memory=3000), desired=2, instances=2)
    group = stack.props("Asg")
    spec = group.pop("LaunchTemplate")
    group["MixedInstancesPolicy"] = {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": spec,
            "Overrides": [{"InstanceType": "t3.small"}, {"InstanceType": "m5.large"}],
        }
    }
    # an m5.large registers 7985 MiB: the task fits some instance type, so it is not too big for all ...
    assert not found(stack, "task-exceeds-instance")
    # ... but the group may launch only t3.small (1996 MiB), where none fits
    [message] = found(stack, "resource-overcommit")
    assert "instances of the smallest of t3.small, m5.large," in message and "at most 0 fit by memory" in message
    # (the overrides replace the launch template's own t3.micro)
    assert "t3.micro" not in message


# -- task-exceeds-instance, at the edge -------------------------------------------------------------------------


def test_a_task_exactly_the_registered_memory_fits_one_mib_more_fits_nowhere() -> None:
    assert (row(app(container(Memory=998)))["fits"], found(app(container(Memory=998)), "task-exceeds-instance")) == (1, [])
    [message] = found(app(container(Memory=999)), "task-exceeds-instance")
    assert "its memory (999 MiB) is more than any instance type it can land on (t3.micro) offers ECS (at most 998 MiB)" in message
    assert "RESOURCE:MEMORY" in message


def test_a_task_level_size_beyond_the_cpu_of_every_type_is_reported() -> None:
    stack = app(task={"Cpu": "4096", "Memory": "512"})
    [message] = found(stack, "task-exceeds-instance")
    assert "its CPU (4096 CPU units)" in message and "(at most 2048 CPU units)" in message and "RESOURCE:CPU" in message


def test_awsvpc_needs_an_eni_beyond_the_primary_one() -> None:
    # a t2.nano has 2 ENIs: one awsvpc task; it is the ENI, not the memory, that binds
    stack = app(mode="awsvpc", desired=2, instance_type="t2.nano")
    assert (row(stack)["fits"], row(stack)["fits_by"]) == (1, "ENIs")
    [message] = found(stack, "resource-overcommit")
    assert "by ENIs" in message and "RESOURCE:ENI" in message


# -- resource-overcommit -----------------------------------------------------------------------------------


def test_the_issue_example_ten_tasks_of_600_mib_on_two_t3_small() -> None:
    stack = app(container(Memory=600), desired=10, instances=2, instance_type="t3.small")
    assert (row(stack)["fits"], row(stack)["fits_by"]) == (6, "memory")
    [message] = found(stack, "resource-overcommit")
    assert message.startswith("10 tasks at its desired count of 10, each asking 600 MiB, but at most 6 fit by memory")
    assert "OVER" in render_plan_text(build_plan(plan_of(stack)))


def test_cpu_can_bind_before_memory() -> None:
    stack = app(container(Memory=64, Cpu=1024), desired=3)
    assert (row(stack)["fits"], row(stack)["fits_by"]) == (2, "CPU")
    assert found(stack, "resource-overcommit")


def test_services_sharing_instances_add_up() -> None:
    # two services of 400 MiB tasks, 2 each, on one t3.micro (998 MiB): 2 fit in all, not 4
    stack = app(container(Memory=400), desired=2)
    stack.task("Other", containers=[container(Memory=400)])
    stack.service("OtherService", "Other", desired=2)
    assert found(stack, "resource-overcommit")
    assert row(stack)["fits"] == 0 or row(stack).get("fits_range") is not None


def test_a_daemon_takes_its_share_of_every_instance() -> None:
    # a 512 MiB daemon on each t3.micro leaves 486 MiB: one 256 MiB task per instance
    stack = app(container(Memory=256), desired=2, instances=2)
    stack.task("AgentTask", containers=[container("agent", Memory=512)])
    stack.service("Agent", "AgentTask", daemon=True)
    assert (row(stack)["fits"], row(stack)["fits_by"]) == (2, "memory")
    assert not found(stack, "resource-overcommit")


def test_daemons_that_together_outgrow_an_instance() -> None:
    # two DAEMON services of 600 MiB each on t3.micro instances (998 MiB): each fits alone, not both
    stack = app(container(Memory=128), desired=1)
    for index, memory in ((1, 600), (2, 600)):
        stack.task(f"Agent{index}Task", containers=[container(f"agent{index}", Memory=memory)])
        stack.service(f"Agent{index}", f"Agent{index}Task", daemon=True)
    messages = {f.resource: f.message for f in rules_of(check(stack), "resource-overcommit")}
    assert set(messages) == {"Agent1", "Agent2", "Service"}
    assert "together they ask 1200 MiB of an instance of t3.micro, which offers 998" in messages["Agent1"]
    assert "0 MiB each for tasks" in messages["Service"]
    # and two that fit together are fine
    stack.props("Agent2Task")["ContainerDefinitions"][0]["Memory"] = 300
    stack.props("Agent1Task")["ContainerDefinitions"][0]["Memory"] = 300
    assert not found(stack, "resource-overcommit")


def test_at_the_scaling_maximum() -> None:
    stack = app(container(Memory=256), desired=2)
    stack.scaling("Service", 2, 5)
    [message] = found(stack, "resource-overcommit")
    assert message.startswith("5 tasks at its scaling maximum of 5")
    assert row(stack)["over_at_max"] is True and row(stack)["fits_at_max"] == 3


def test_static_ports_and_memory_bind_together_and_the_ports_rule_keeps_its_own() -> None:
    # static 8080 tasks of 600 MiB: one per instance by port; memory would allow one too
    stack = app(
        {"Name": "web", "Image": "nginx", "Memory": 600, "PortMappings": [{"ContainerPort": 80, "HostPort": 8080}]},
        desired=3,
        instances=2,
    )
    assert (row(stack)["fits"], row(stack)["fits_by"]) == (2, "ports")
    assert rules_of(check(stack), "static-port-overcommit") and not found(stack, "resource-overcommit")


# -- deployment-resource-deadlock -----------------------------------------------------------------------------


def test_a_rolling_deployment_that_may_not_stop_a_task_needs_room_for_one_more() -> None:
    full = app(container(Memory=256), desired=3, minimum=100, maximum=200)
    [message] = found(full, "deployment-resource-deadlock")
    assert "a new task must start first" in message and "at most 3 tasks of it by memory" in message
    assert not found(app(container(Memory=256), desired=3, minimum=50, maximum=200), "deployment-resource-deadlock")
    assert not found(app(container(Memory=256), desired=2, minimum=100, maximum=200), "deployment-resource-deadlock")


def test_an_awsvpc_task_on_a_t2_micro_cannot_roll() -> None:
    # aws-cdk-examples' ec2-service-with-task-networking: a t2.micro has 2 ENIs, one its own, so one
    # awsvpc task; at minimumHealthyPercent 50 one task must keep running while its successor starts
    stack = app(mode="awsvpc", instance_type="t2.micro", minimum=50, maximum=200)
    [message] = found(stack, "deployment-resource-deadlock")
    assert "at most 1 task of it by ENIs" in message and "without awsvpc trunking" in message
    assert not found(app(mode="awsvpc", instance_type="t2.micro", minimum=0, maximum=100), "deployment-resource-deadlock")


def test_a_blue_green_deployment_needs_room_for_every_task_twice() -> None:
    assert found(app(container(Memory=256), desired=2, controller="CODE_DEPLOY"), "deployment-resource-deadlock")
    assert not found(app(container(Memory=128), desired=2, controller="CODE_DEPLOY"), "deployment-resource-deadlock")


# -- invalid-task-size ----------------------------------------------------------------------------------------


def test_task_level_memory_covers_containers_without_one() -> None:
    assert not found(app(container(), task={"Memory": "512"}), "invalid-task-size")


def test_sizes_ecs_rejects() -> None:
    cases = {
        "no memory": app(container()),
        "soft above hard": app(container(Memory=128, MemoryReservation=256)),
        "container above task": app(container(Memory=1024), task={"Memory": "512"}),
        "reservations above task": app(
            container("a", MemoryReservation=300), container("b", MemoryReservation=300), task={"Memory": "512"}
        ),
        "cpu above task": app(container(Memory=128, Cpu=1024), task={"Cpu": "512"}),
    }
    for name, stack in cases.items():
        assert found(stack, "invalid-task-size"), name
        assert not found(stack, "resource-overcommit"), name


def test_size_problems_quote_ecs() -> None:
    plan = plan_of(app(container()))
    [(where, problem)] = size_problems(next(iter(plan.task_definitions.values())))
    assert where == "web" and "At least one of 'memory' or 'memoryReservation' must be specified." in problem


# -- a brute-force packing holds the bounds ------------------------------------------------------------------

MEMORY = (100, 250, 400, 600)
CPU = (0, 512, 1024)
T3_MICRO = (2048, 998)


@cache
def most_of(subject: int, tasks: tuple[tuple[int, int, int | None], ...], counts: tuple[int, ...], instances: int) -> int | None:
    """The most tasks of service `subject` that fit beside every other service's `counts` tasks, by trying
    every placement; None when the others do not all fit. A service is (cpu, memory, static port or None)."""
    best = None
    cpu, memory, port = tasks[subject]
    alone = min(T3_MICRO[1] // memory, T3_MICRO[0] // cpu if cpu else 99, 1 if port is not None else 99) * instances
    for extra in range(alone + 1):
        wanted = list(counts)
        wanted[subject] = extra
        if not _packs(tasks, tuple(wanted), instances):
            break
        best = extra
    return best


def _packs(services: tuple[tuple[int, int, int | None], ...], counts: tuple[int, ...], instances: int) -> bool:
    """Whether every task fits: a depth-first search over instance states, kept sorted (identical
    instances are interchangeable) and remembered once explored."""
    items = [index for index, count in enumerate(counts) for _ in range(count)]
    items.sort(key=lambda i: (-services[i][1], i))
    failed: set[tuple[int, tuple[tuple[int, int, tuple[int, ...]], ...]]] = set()

    def place(position: int, states: tuple[tuple[int, int, tuple[int, ...]], ...]) -> bool:
        if position == len(items):
            return True
        if (position, states) in failed:
            return False
        cpu, memory, port = services[items[position]]
        for index, state in enumerate(states):
            if index and state == states[index - 1]:
                continue  # identical instances: one try is enough
            free_cpu, free_memory, ports = state
            if cpu <= free_cpu and memory <= free_memory and (port is None or port not in ports):
                taken = (free_cpu - cpu, free_memory - memory, tuple(sorted({*ports, port})) if port is not None else ports)
                if place(position + 1, tuple(sorted(states[:index] + (taken,) + states[index + 1 :]))):
                    return True
        failed.add((position, states))
        return False

    return place(0, tuple((T3_MICRO[0], T3_MICRO[1], ()) for _ in range(instances)))


service_shapes = st.tuples(st.sampled_from(CPU), st.sampled_from(MEMORY), st.sampled_from((None, None, 8080, 8081)))


@settings(max_examples=60, deadline=None)
@given(
    instances=st.integers(1, 3),
    services=st.lists(st.tuples(service_shapes, st.integers(0, 3)), min_size=1, max_size=3),
)
def test_fits_hold_a_brute_force_packing(instances: int, services: list[tuple[tuple[int, int, int | None], int]]) -> None:
    # GIVEN services of random CPU, memory, static port and count sharing t3.micro instances
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    for index, ((cpu, memory, port), count) in enumerate(services):
        mapping = {"ContainerPort": 80, "HostPort": port if port is not None else 0}
        stack.task(f"Task{index}", containers=[{**container(Memory=memory, Cpu=cpu), "PortMappings": [mapping]}])
        stack.service(f"S{index}", f"Task{index}", desired=count)
    plan = plan_of(stack)
    fits = resource_fits(plan)
    shapes = tuple(shape for shape, _ in services)
    counts = tuple(count for _, count in services)
    everyone = _packs(shapes, counts, instances)
    errors = {f.resource for f in check(stack) if f.rule in ("resource-overcommit", "task-exceeds-instance")}
    for index in range(len(services)):
        fit = fits.get((stack.loaded().name, f"S{index}"))
        assert fit is not None and fit.low <= fit.high
        if everyone:
            # THEN where every task can run, what the brute force places of each lies within the bounds,
            # an exact number is the brute force's, and no resource error is reported
            truth = most_of(index, shapes, counts, instances)
            assert truth is not None and fit.low <= truth <= fit.high, (index, fit, truth)
            if fit.low == fit.high:
                assert fit.high == truth
    if everyone:
        assert errors == set()
    else:
        # THEN where they cannot all run, whatever is reported exceeds even the brute force's best
        for name in errors:
            index = int(name[1:])
            others = tuple(c if i != index else 0 for i, c in enumerate(counts))
            truth = most_of(index, shapes, others, instances) if _packs(shapes, others, instances) else None
            if truth is not None:
                assert counts[index] > truth


def test_a_lone_service_is_exact_against_the_brute_force() -> None:
    for memory, cpu, instances in itertools.product(MEMORY, CPU, (1, 2, 3)):
        stack = app(container(Memory=memory, Cpu=cpu), desired=0, instances=instances)
        fit = resource_fits(plan_of(stack))[(stack.loaded().name, "Service")]
        assert fit.low == fit.high == most_of(0, ((cpu, memory, None),), (0,), instances)


def test_sizes_and_types_from_parameter_defaults_say_so() -> None:
    # a verdict reached on a parameter's default says which default it rests on
    typed = app(container(Memory=600), desired=3, instance_type=ref("Type"))
    typed.parameters["Type"] = {"Type": "String", "Default": "t3.micro"}
    [message] = found(typed, "resource-overcommit")
    assert message.endswith("(this assumes Type=t3.micro, its default)")
    sized = app(container(Memory=ref("Mem")), desired=3)
    sized.parameters["Mem"] = {"Type": "Number", "Default": 600}
    [message] = found(sized, "resource-overcommit")
    assert message.endswith("(this assumes Mem=600, its default)")

"""The plan: per cluster its capacity, per service how many tasks fit, in JSON, text and markdown."""

from __future__ import annotations

import json
import os
from unittest import mock
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from portplan_builders import Stack, balanced_app, check, link, ref, static_app

from constructs_lib.portplan import build_model, run_rules
from constructs_lib.portplan.rules import contention
from constructs_lib.portplan.plan import (
    build_plan,
    compute_fits,
    fits_at_most,
    is_over,
    read_plan,
    render_plan_markdown,
    render_plan_text,
    short_name,
)

FIXTURES = Path(__file__).parent / "fixtures" / "portplan"


def plan_of(*stacks: Stack) -> dict[str, Any]:
    return build_plan(build_model([s.loaded() for s in stacks]))


def rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services by logical id, across clusters."""
    return {s["id"]: s for c in data["clusters"] for s in c["services"]}


def fits(*stacks: Stack) -> dict[str, int | None]:
    return {key: row["fits"] for key, row in rows(plan_of(*stacks)).items()}


def overcommitted(*stacks: Stack) -> set[str]:
    return {f.resource for f in check(*stacks) if f.rule == "static-port-overcommit" and f.severity == "error"}


def over(data: dict[str, Any]) -> set[str]:
    return {k for k, r in rows(data).items() if is_over(r)}


def sharing(instances: int, desired: tuple[int, ...], port: int = 8080) -> Stack:
    """Services Service0.. with `desired` tasks each, all on host port `port`, on one group."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    for index, count in enumerate(desired):
        stack.task(f"Task{index}", [(80, port, "tcp")])
        stack.service(f"Service{index}", f"Task{index}", desired=count)
    return stack


# -- fits ---------------------------------------------------------------------------------------------


def test_static_service_fits_one_task_per_instance() -> None:
    assert fits(static_app(tasks=2, instances=2)) == {"Service": 2}
    assert fits(static_app(tasks=5, instances=3)) == {"Service": 3}


def test_services_sharing_a_port_fit_what_the_others_leave() -> None:
    # GIVEN two services on tcp/8080, desired 1 and 2, on 3 instances
    data = plan_of(sharing(3, (1, 2)))
    # THEN each fits the instances the other does not hold, and neither is over
    assert {k: r["fits"] for k, r in rows(data).items()} == {"Service0": 1, "Service1": 2}
    assert over(data) == set()


def test_services_sharing_a_port_over_capacity_are_both_over_as_the_rule_says() -> None:
    stack = sharing(3, (2, 2))
    data = plan_of(stack)
    assert {k: r["fits"] for k, r in rows(data).items()} == {"Service0": 1, "Service1": 1}
    assert over(data) == overcommitted(stack) == {"Service0", "Service1"}


def test_fits_follows_exact_placement_not_per_port_counts() -> None:
    # GIVEN A{1,2}, B{2,3}, C{1,3} on 2 instances: each port is wanted twice, yet the three tasks
    # conflict pairwise and need 3 instances
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    for name, ports in (("A", (1001, 1002)), ("B", (1002, 1003)), ("C", (1001, 1003))):
        stack.task(f"{name}Task", [(p, p, "tcp") for p in ports])
        stack.service(name, f"{name}Task", desired=1)
    data = plan_of(stack)
    assert {k: r["fits"] for k, r in rows(data).items()} == {"A": 0, "B": 0, "C": 0}
    assert over(data) == overcommitted(stack) == {"A", "B", "C"}


def test_daemon_fits_every_instance_and_leaves_none_to_a_replica_on_its_port() -> None:
    # GIVEN a daemon on tcp/9100 and a replica wanting the same port, on 3 instances
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=3)
    stack.task("Agent", [(9100, 9100, "tcp")])
    stack.service("Daemon", "Agent", daemon=True)
    stack.task("Other", [(9100, 9100, "tcp")])
    stack.service("Replica", "Other", desired=1)
    data = plan_of(stack)
    daemon, replica = rows(data)["Daemon"], rows(data)["Replica"]
    # THEN the daemon wants and fits one task per instance; the replica fits none
    assert (daemon["desired"], daemon["fits"]) == (3, 3)
    assert (replica["desired"], replica["fits"]) == (1, 0)
    assert over(data) == overcommitted(stack) == {"Replica"}


def test_two_daemons_on_one_port_fit_nowhere() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    for name in ("A", "B"):
        stack.task(f"{name}Task", [(9100, 9100, "tcp")])
        stack.service(name, f"{name}Task", daemon=True)
    data = plan_of(stack)
    assert {k: (r["desired"], r["fits"]) for k, r in rows(data).items()} == {"A": (2, 0), "B": (2, 0)}
    assert over(data) == overcommitted(stack) == {"A", "B"}


def test_host_mode_counts_like_a_static_port() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("Task", [(80, None, "tcp")], mode="host")
    stack.service("Service", "Task", desired=3)
    (row,) = rows(plan_of(stack)).values()
    assert row["network_mode"] == "host"
    assert row["ports"] == [{"container": 80, "host": 80, "protocol": "tcp"}]
    assert (row["fits"], row["desired"]) == (2, 3)
    assert overcommitted(stack) == {"Service"}


def managed_app(managed: bool) -> Stack:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, max_size=4, provider="Provider", managed=managed)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=3, strategy=["Provider"])
    return stack


def test_managed_scaling_counts_max_size() -> None:
    data = plan_of(managed_app(True))
    (cluster,) = data["clusters"]
    assert cluster["capacity"] == {
        "instances_min": 1,
        "instances_max": 4,
        "managed_scaling": True,
        "instance_types": ["t3.micro"],
    }
    assert rows(data)["Service"]["fits"] == 4
    assert overcommitted(managed_app(True)) == set()


def test_without_managed_scaling_min_size_counts() -> None:
    data = plan_of(managed_app(False))
    (cluster,) = data["clusters"]
    assert (cluster["capacity"]["instances_max"], cluster["capacity"]["managed_scaling"]) == (1, False)
    assert rows(data)["Service"]["fits"] == 1
    assert over(data) == overcommitted(managed_app(False)) == {"Service"}


def test_desired_capacity_counts_before_min_size() -> None:
    stack = static_app(tasks=3, instances=1)
    stack.props("Asg")["DesiredCapacity"] = "3"
    stack.props("Asg")["MaxSize"] = "5"
    data = plan_of(stack)
    assert data["clusters"][0]["capacity"]["instances_min"] == 3
    assert rows(data)["Service"]["fits"] == 3


def test_dynamic_service_is_bounded_by_memory_alone() -> None:
    # GIVEN dynamic host ports: no port bounds the tasks, the instances' memory does (2 t3.micro,
    # 998 MiB each registered, 128 MiB a task: 7 per instance)
    (row,) = rows(plan_of(balanced_app())).values()
    assert row["ports"] == [{"container": 80, "host": "dynamic", "protocol": "tcp"}]
    assert (row["fits"], row["fits_by"], row["ask"]) == (14, "memory", {"cpu": 0, "memory_mib": 128, "enis": 0})


def test_dynamic_service_of_unknown_size_is_unbounded() -> None:
    # GIVEN a task whose memory is a parameter nobody gave: nothing the plan knows bounds it
    stack = balanced_app()
    stack.parameters["Mem"] = {"Type": "Number"}
    stack.props("Task")["ContainerDefinitions"][0]["Memory"] = ref("Mem")
    (row,) = rows(plan_of(stack)).values()
    assert (row["fits"], row["fits_by"], row["ask"]) == (None, None, None)
    assert " any" in render_plan_text(plan_of(stack)).splitlines()[3]


def test_unknown_capacity_gives_null_and_the_text_says_so() -> None:
    # GIVEN a service whose cluster's instances come from a group outside the templates
    stack = Stack()
    stack.cluster()
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=2)
    data = plan_of(stack)
    (cluster,) = data["clusters"]
    assert cluster["capacity"]["instances_max"] is None
    assert rows(data)["Service"]["fits"] is None
    text = render_plan_text(data)
    assert "capacity unknown" in text
    assert " ? " in text.splitlines()[2] + " "


def test_unknown_desired_count_of_a_sharing_service_gives_null() -> None:
    stack = sharing(3, (1, 1))
    stack.parameters["Count"] = {"Type": "Number"}
    stack.props("Service1")["DesiredCount"] = ref("Count")
    result = fits(stack)
    assert result["Service0"] is None
    assert result["Service1"] == 2  # its own count is unknown, the other's is not


def test_services_of_a_cluster_not_given_are_listed_under_a_null_cluster() -> None:
    stack = static_app(tasks=1, instances=1)
    stack.props("Service")["Cluster"] = {"Fn::ImportValue": "Shared:Cluster"}
    data = plan_of(stack)
    ids = [c["id"] for c in data["clusters"]]
    assert ids == ["Cluster", None]
    assert data["clusters"][1]["services"][0]["fits"] is None
    assert data["clusters"][1]["capacity"]["instances_max"] is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(  # once found: Service1 fits beside anything the others can run, so neither door blames it
    instances=[2],
    services=[({8080}, 0, False, 0), ({8080}, 1, False, 0), ({8080, 8081}, 1, False, 0), ({8081}, 2, False, 0)],
)
@example(  # once found: Service1 alone overcommits its one instance; Service2 fits beside its one task
    instances=[1],
    services=[({8080}, 0, False, 0), ({8081}, 2, False, 0), ({8082}, 1, False, 0), ({8081, 8082}, 0, False, 0)],
)
@given(
    instances=st.lists(st.integers(0, 3), min_size=1, max_size=2),
    services=st.lists(
        st.tuples(
            st.sets(st.sampled_from((8080, 8081, 8082)), min_size=1, max_size=2),
            st.integers(0, 4),
            st.booleans(),
            st.integers(0, 1),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_over_agrees_with_the_overcommit_rule(
    instances: list[int], services: list[tuple[set[int], int, bool, int]]
) -> None:
    # GIVEN random services (replica or daemon, on one group or all) sharing a few static ports
    stack = random_stack(instances, services)
    # THEN the rule reports exactly the services the plan shows over
    assert overcommitted(stack) == over(plan_of(stack))


def random_stack(instances: list[int], services: list[tuple[set[int], int, bool, int]]) -> Stack:
    """Groups of `instances`, and services (ports, desired, daemon, which group) on them."""
    stack = Stack()
    stack.cluster()
    for index, size in enumerate(instances):
        stack.capacity(f"Asg{index}", min_size=size, provider=f"Provider{index}", managed=False)
    for index, (ports, desired, daemon, group) in enumerate(services):
        stack.task(f"Task{index}", [(p, p, "tcp") for p in sorted(ports)])
        placement: dict[str, Any] = {"daemon": True} if daemon else {"desired": desired}
        if not daemon and group < len(instances):
            placement["strategy"] = [f"Provider{group}"]
        stack.service(f"Service{index}", f"Task{index}", **placement)
    return stack


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instances=st.lists(st.integers(0, 3), min_size=1, max_size=2),
    services=st.lists(
        st.tuples(
            st.sets(st.sampled_from((8080, 8081, 8082, 8083)), min_size=1, max_size=3),
            st.integers(0, 3),
            st.sampled_from([False, False, False, True]),
            st.integers(0, 1),
        ),
        min_size=2,
        max_size=6,
    ),
)
def test_without_a_budget_the_doors_still_agree_and_stay_sound(
    instances: list[int], services: list[tuple[set[int], int, bool, int]]
) -> None:
    # GIVEN random services, decided with the whole budget (exactly, at these sizes) and with none
    stack = random_stack(instances, services)
    exact_findings, exact = check(stack), rows(plan_of(stack))
    with mock.patch.object(contention, "PLAN_WORK", 0), mock.patch.object(contention, "GROUP_WORK_FLOOR", 0):
        findings, bounded = check(stack), rows(plan_of(stack))
    blamed = {f.resource for f in findings if f.rule == "static-port-overcommit" and f.severity == "error"}
    # THEN the plan still shows over exactly the services the rule blames
    assert {b for b in blamed if b.startswith("Service")} == over({"clusters": [{"services": list(bounded.values())}]})
    # and what either says holds: a blamed service is over for certain, a range holds the exact number
    assert {b for b in blamed if b.startswith("Service")} <= {
        f.resource for f in exact_findings if f.rule == "static-port-overcommit"
    }
    for key, row in bounded.items():
        if row.get("fits_range"):
            low, high = row["fits_range"]
            assert exact[key]["fits"] is not None and low <= exact[key]["fits"] <= high
        else:
            assert row["fits"] == exact[key]["fits"]
    # and nothing the whole budget finds goes unsaid: an error, or an unverifiable warning, on the service
    # or (when no one service can be singled out) an error on its capacity
    said = {(f.rule, f.resource) for f in findings}
    for finding in exact_findings:
        if finding.rule == "static-port-overcommit" and finding.severity == "error":
            assert (
                ("static-port-overcommit", finding.resource) in said
                or ("unverifiable", finding.resource) in said
                or any(rule == "static-port-overcommit" and not r.startswith("Service") for rule, r in said)
            )


def test_the_plan_reads_the_placement_work_of_the_rules() -> None:
    # GIVEN two services on tcp/8080 wanting 2 + 2 tasks on 3 instances: the rule decides every fit
    plan = build_model([sharing(3, (2, 2)).loaded()])
    with mock.patch.object(contention, "decide", wraps=contention.decide) as placed:
        run_rules(plan)
        by_rules = placed.call_count
        # WHEN the plan is built from the same model THEN it places nothing again
        data = build_plan(plan)
        assert placed.call_count == by_rules > 0
    assert over(data) == {"Service0", "Service1"}
    # and a group that fits, which the rule leaves alone, is placed once, by the first door that asks
    plan = build_model([sharing(5, (2, 2)).loaded()])
    with mock.patch.object(contention, "decide", wraps=contention.decide) as placed:
        build_plan(plan)
        by_plan = placed.call_count
        run_rules(plan)
        build_plan(plan)
        assert placed.call_count == by_plan


def test_out_of_budget_the_plan_shows_sound_bounds() -> None:
    # GIVEN A{1001,1002} x1, B{1002,1003} x1, C{1001,1003} x2 on 3 instances: 4 tasks pairwise in conflict
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=3)
    for name, ports, count in (("A", (1001, 1002), 1), ("B", (1002, 1003), 1), ("C", (1001, 1003), 2)):
        stack.task(f"{name}Task", [(p, p, "tcp") for p in ports])
        stack.service(name, f"{name}Task", desired=count)
    # WHEN decided exactly THEN A and B fit none beside what the others can run, C one
    assert fits(stack) == {"A": 0, "B": 0, "C": 1}
    # WHEN no placement search may run THEN the plan gives the bounds instead, which hold those numbers
    with mock.patch.object(contention, "PLAN_WORK", 0), mock.patch.object(contention, "GROUP_WORK_FLOOR", 0):
        data = plan_of(stack)
    assert {k: (r["fits"], r["fits_range"]) for k, r in rows(data).items()} == {
        "A": (None, [0, 1]),
        "B": (None, [0, 1]),
        "C": (None, [1, 2]),
    }
    # and none is over for certain (the rule blames the capacity: see test_portplan_rules)
    assert over(data) == set()
    lines = render_plan_text(data).splitlines()
    assert lines[3].split()[-2:] == ["0-1", "(ports)"] and lines[5].split()[-2:] == ["1-2", "(ports)"]
    assert lines[-1].strip().startswith("a-b: at least a and at most b fit")
    assert "| 1-2 (ports) |" in render_plan_markdown(data)


def test_out_of_budget_the_plan_bounds_the_fit_at_the_scaling_maximum_too() -> None:
    # GIVEN the same triangle with C at 1 task, which auto scaling takes to 2: 3 tasks fit, 4 do not
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=3)
    for name, ports in (("A", (1001, 1002)), ("B", (1002, 1003)), ("C", (1001, 1003))):
        stack.task(f"{name}Task", [(p, p, "tcp") for p in ports])
        stack.service(name, f"{name}Task", desired=1)
    stack.scaling("C", 1, 2)
    # WHEN decided exactly THEN at the maximum A and B fit none beside what the others can run, C one
    exact = rows(plan_of(stack))
    assert exact["C"]["fits_at_max"] == 1 and "fits_at_max_range" not in exact["C"]
    assert {k for k, r in exact.items() if r["over_at_max"]} == {"C"}
    # WHEN no placement search may run THEN fits_at_max gives way to sound bounds, as fits does
    with mock.patch.object(contention, "PLAN_WORK", 0), mock.patch.object(contention, "GROUP_WORK_FLOOR", 0):
        bounded = rows(plan_of(stack))
        findings = [f for f in check(stack) if f.rule == "scaling-port-overcommit"]
    assert bounded["C"]["fits_at_max"] is None and bounded["C"]["fits_at_max_range"] == [1, 2]
    assert fits_at_most(bounded["C"], at_maximum=True) == 2
    # and, C's bounds straddling its maximum, the scaling rule puts the certain overcommit on the capacity,
    # so no service is OVER AT MAX
    assert [(f.resource, f.severity) for f in findings] == [("Asg", "error")]
    assert {k for k, r in bounded.items() if r["over_at_max"]} == set()


def test_a_range_below_the_desired_count_is_over() -> None:
    service = {"desired": 3, "fits": None, "fits_range": [1, 2], "ports": [{"host": 8080}]}
    assert is_over(service)
    assert not is_over({**service, "fits_range": [1, 3]})
    assert fits_at_most(service) == 2 and fits_at_most({**service, "fits": 4}) == 4


def test_blame_goes_to_the_services_that_do_not_fit() -> None:
    # GIVEN 2 instances; Service1 on 8080, Service2 on 8080 and 8081, Service3 on 8081 twice
    stack = Stack()
    stack.cluster()
    stack.capacity("Asg0", min_size=2, provider="Provider0", managed=False)
    for index, (ports, desired) in enumerate([((8080,), 1), ((8080, 8081), 1), ((8081,), 2)], start=1):
        stack.task(f"Task{index}", [(p, p, "tcp") for p in ports])
        stack.service(f"Service{index}", f"Task{index}", desired=desired, strategy=["Provider0"])
    # THEN tcp/8081 is wanted by 3 tasks on 2 instances: Services 2 and 3 are over; Service1's task fits
    # beside whatever the others can run, so neither the plan nor the rule blames it
    assert fits(stack) == {"Service1": 1, "Service2": 0, "Service3": 1}
    assert over(plan_of(stack)) == overcommitted(stack) == {"Service2", "Service3"}


def test_hypothesis_is_deterministic_in_ci() -> None:
    assert settings.default.derandomize is bool(os.environ.get("CI"))
    assert (settings.default.database is None) is bool(os.environ.get("CI"))


# -- JSON shape and order -------------------------------------------------------------------------------


def test_json_shape() -> None:
    stack = balanced_app()
    stack.task("Static", [(80, 8080, "tcp")])
    stack.service("StaticService", "Static", desired=2, load_balancers=[link("LbTg")])
    data = json.loads(json.dumps(plan_of(stack)))
    assert list(data) == ["clusters"]
    (cluster,) = data["clusters"]
    assert list(cluster) == ["id", "stack", "capacity", "offers", "dynamic_range", "services"]
    assert cluster["offers"] == [{"instance_type": "t3.micro", "cpu": 2048, "memory_mib": 998, "awsvpc_enis": 1}]
    assert (cluster["id"], cluster["stack"]) == ("Cluster", "Stack")
    assert list(cluster["capacity"]) == ["instances_min", "instances_max", "managed_scaling", "instance_types"]
    assert cluster["dynamic_range"] == [32768, 60999]
    assert [s["id"] for s in cluster["services"]] == ["Service", "StaticService"]
    for service in cluster["services"]:
        assert list(service) == [
            "id", "path", "network_mode", "desired", "scaling", "ports", "ask", "fits", "fits_by", "fits_at_max",
            "fits_at_max_by", "over_at_max", "placement_constraints", "stack",
        ]
        for port in service["ports"]:
            assert list(port) == ["container", "host", "protocol"]
    assert cluster["services"][1] == {
        "id": "StaticService",
        "path": "Stack/StaticService/Service",
        "network_mode": "bridge",
        "desired": 2,
        "scaling": None,
        "ports": [{"container": 80, "host": 8080, "protocol": "tcp"}],
        "ask": {"cpu": 0, "memory_mib": 128, "enis": 0},
        "fits": 2,
        "fits_by": "ports",
        "fits_at_max": None,
        "fits_at_max_by": None,
        "over_at_max": False,
        "placement_constraints": [],
        "stack": "Stack",
    }


def test_dynamic_range_comes_from_the_user_data() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, settings=("ECS_DYNAMIC_HOST_PORT_RANGE=40000-50000",))
    assert plan_of(stack)["clusters"][0]["dynamic_range"] == [40000, 50000]


def test_cloud_assembly_gives_stack_names_and_a_stable_order(monkeypatch: Any) -> None:
    monkeypatch.chdir(FIXTURES)
    plan, sources = read_plan(["cdk-out"])
    data = build_plan(plan, sources.stacks)
    assert [(c["stack"], c["id"]) for c in data["clusters"]] == [
        ("Net", "ClusterEB0386A7"),
        ("Prod-Api", "ClusterEB0386A7"),
    ]
    assert build_plan(read_plan(["cdk-out"])[0], sources.stacks) == data
    prod = data["clusters"][1]["services"][0]
    assert (prod["desired"], prod["fits"]) == (2, 1)


def test_fits_by_key_covers_every_service() -> None:
    plan = build_model([balanced_app().loaded()])
    assert compute_fits(plan) == {("Stack.template.json", "Service"): None}


# -- text and markdown --------------------------------------------------------------------------------


def mixed() -> dict[str, Any]:
    stack = balanced_app()
    stack.task("Static", [(80, 8080, "tcp")])
    stack.service("StaticService", "Static", desired=3, load_balancers=[link("LbTg")])
    return plan_of(stack)


def test_text_is_a_table() -> None:
    text = render_plan_text(mixed())
    lines = text.splitlines()
    assert lines[0] == (
        "cluster Cluster (stack Stack): 2 instances, no managed scaling, t3.micro; dynamic range 32768-60999"
    )
    assert lines[1] == "  offers t3.micro: 2048 CPU units, 998 MiB, 1 awsvpc ENI per instance for tasks"
    assert lines[2].split() == ["SERVICE", "MODE", "DESIRED", "PORTS", "CPU/MiB", "FITS"]
    assert lines[3].split() == ["Service", "bridge", "2", "dyn:80/tcp", "0/128", "12", "(memory)"]
    assert lines[4].split() == ["StaticService/Service", "bridge", "3", "8080:80/tcp", "0/128", "2", "(ports)", "OVER"]
    # columns line up
    assert lines[3].index("dyn:80/tcp") == lines[4].index("8080:80/tcp")


def test_markdown_is_a_heading_and_a_pipe_table() -> None:
    text = render_plan_markdown(mixed())
    lines = text.splitlines()
    assert lines[0] == "### Cluster `Cluster` (stack `Stack`)"
    assert lines[2].startswith("Capacity: 2 instances")
    assert lines[4] == "Offers t3.micro: 2048 CPU units, 998 MiB, 1 awsvpc ENI per instance for tasks."
    assert lines[6] == "| service | mode | desired | ports | cpu/MiB | fits | |"
    assert lines[7] == "|---|---|--:|---|--:|--:|---|"
    assert lines[8] == "| `Service` | bridge | 2 | `dyn:80/tcp` | 0/128 | 12 (memory) |  |"
    assert lines[9] == "| `StaticService/Service` | bridge | 3 | `8080:80/tcp` | 0/128 | 2 (ports) | **OVER** |"


def test_empty_plan_says_so() -> None:
    stack = Stack()
    stack.task("Task", [(80, 0, "tcp")])
    data = plan_of(stack)
    assert data == {"clusters": []}
    assert render_plan_text(data).startswith("no ECS services")
    assert render_plan_markdown(data).startswith("_No ECS services")


def test_short_names_drop_stack_resource_and_repeats() -> None:
    assert short_name("Lab/Static/Service/Service/Service", "X", "Lab") == "Static/Service"
    assert short_name("Lab/Cluster/Resource", "X", "Lab") == "Cluster"
    assert short_name(None, "Logical", "Lab") == "Logical"


# -- what the templates leave open, and stacks of other templates -----------------------------------------


def test_unknown_network_mode_or_host_port_is_planned_as_unknown() -> None:
    # GIVEN a network mode and a host port from parameters nobody gave a value for
    stack = static_app(tasks=3, instances=2)
    stack.parameters.update({"Mode": {"Type": "String"}, "Port": {"Type": "Number"}})
    stack.props("Task")["NetworkMode"] = ref("Mode")
    stack.task("Other", [(81, 0, "tcp")])
    stack.props("Other")["ContainerDefinitions"][0]["PortMappings"][0]["HostPort"] = ref("Port")
    stack.service("OtherService", "Other", desired=2)
    data = plan_of(stack)
    for key in ("Service", "OtherService"):
        row = rows(data)[key]
        assert row["ports"][0]["host"] == "unknown" and row["fits"] is None
    text = render_plan_text(data)
    assert "?:80/tcp" in text and "?:81/tcp" in text
    assert " any" not in text  # neither fits any: a static port the templates do not show may bound them
    assert "  ?" in text


def test_services_of_another_stack_carry_their_stack() -> None:
    net = Stack("Net")
    net.cluster()
    net.capacity(min_size=2)
    exported = net.export("RefCluster", ref("Cluster"))
    app = Stack("App")
    app.task("Task", [(80, 8080, "tcp")])
    app.service("Service", "Task", desired=2, cluster={"Fn::ImportValue": exported})
    del app.resources["Service"]["Metadata"]
    data = plan_of(net, app)
    assert rows(data)["Service"]["stack"] == "App"
    assert "  App/Service  bridge" in render_plan_text(data)

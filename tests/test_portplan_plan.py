"""The plan: per cluster its capacity, per service how many tasks fit, in JSON, text and markdown."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from portplan_builders import Stack, balanced_app, check, link, ref, static_app

from constructs_lib.portplan import build_model
from constructs_lib.portplan.plan import (
    build_plan,
    compute_fits,
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
    return {k for k, r in rows(data).items() if r["fits"] is not None and r["desired"] > r["fits"]}


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


def test_dynamic_service_is_unbounded() -> None:
    (row,) = rows(plan_of(balanced_app())).values()
    assert row["ports"] == [{"container": 80, "host": "dynamic", "protocol": "tcp"}]
    assert row["fits"] is None


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
    # THEN the rule reports exactly the services the plan shows over
    assert overcommitted(stack) == over(plan_of(stack))


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
    assert list(cluster) == ["id", "stack", "capacity", "dynamic_range", "services"]
    assert (cluster["id"], cluster["stack"]) == ("Cluster", "Stack")
    assert list(cluster["capacity"]) == ["instances_min", "instances_max", "managed_scaling", "instance_types"]
    assert cluster["dynamic_range"] == [32768, 60999]
    assert [s["id"] for s in cluster["services"]] == ["Service", "StaticService"]
    for service in cluster["services"]:
        assert list(service) == [
            "id", "path", "network_mode", "desired", "scaling", "ports", "fits", "fits_at_max", "over_at_max",
            "placement_constraints", "stack",
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
        "fits": 2,
        "fits_at_max": None,
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
    assert lines[1].split() == ["SERVICE", "MODE", "DESIRED", "PORTS", "FITS"]
    assert lines[2].split() == ["Service", "bridge", "2", "dyn:80/tcp", "any"]
    assert lines[3].split() == ["StaticService/Service", "bridge", "3", "8080:80/tcp", "2", "OVER"]
    # columns line up
    assert lines[2].index("dyn:80/tcp") == lines[3].index("8080:80/tcp")


def test_markdown_is_a_heading_and_a_pipe_table() -> None:
    text = render_plan_markdown(mixed())
    lines = text.splitlines()
    assert lines[0] == "### Cluster `Cluster` (stack `Stack`)"
    assert lines[2].startswith("Capacity: 2 instances")
    assert lines[4] == "| service | mode | desired | ports | fits | |"
    assert lines[5] == "|---|---|--:|---|--:|---|"
    assert lines[6] == "| `Service` | bridge | 2 | `dyn:80/tcp` | any |  |"
    assert lines[7] == "| `StaticService/Service` | bridge | 3 | `8080:80/tcp` | 2 | **OVER** |"


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

"""Rule cases: a compliant and a non-compliant template for every rule, plus the overcommit variants."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from portplan_builders import Stack, att, balanced_app, check, ids, ref, rules_of, static_app
from test_portplan_placement import brute_force_classes

from constructs_lib.portplan import RULES, build_model
from constructs_lib.portplan.placement import Demand
from constructs_lib.portplan.rules import RULES_BY_ID, contention, deployment_port_deadlock
from constructs_lib.portplan.rules.facts import static_port_facts


def test_catalogue_ids_are_the_interface() -> None:
    assert [r.id for r in RULES] == [
        "static-port-overcommit",
        "scaling-port-overcommit",
        "placement-constraint-overcommit",
        "task-exceeds-instance",
        "resource-overcommit",
        "deployment-port-deadlock",
        "deployment-resource-deadlock",
        "reserved-host-port",
        "reserved-port-limit",
        "duplicate-host-port",
        "invalid-port",
        "invalid-task-size",
        "host-port-mismatch",
        "dynamic-port-health-check",
        "dynamic-port-ingress",
        "static-port-in-dynamic-range",
        "unverifiable",
    ]
    assert RULES_BY_ID["static-port-in-dynamic-range"].severity == "warning"
    assert all(r.info and r.why and r.fix for r in RULES)


# -- static-port-overcommit -------------------------------------------------------------------------


def test_overcommit_compliant_one_task_per_instance() -> None:
    # GIVEN two tasks on tcp/8080 and two instances WHEN checked THEN nothing is reported
    assert check(static_app(tasks=2, instances=2)) == []


def test_overcommit_noncompliant_more_tasks_than_instances() -> None:
    findings = check(static_app(tasks=3, instances=2))
    assert ids(findings) == {("static-port-overcommit", "Service")}
    (finding,) = findings
    assert finding.severity == "error"
    assert finding.path == "Stack/Service/Service"
    assert finding.template == "Stack.template.json"
    assert finding.template_path == "/fixtures/Stack.template.json"
    assert "3 tasks need tcp/8080 on capacity Stack/Asg/ASG, which has at most 2 instances" in finding.message
    assert "RESOURCE:PORTS" in finding.message
    assert "Bind for 0.0.0.0:8080 failed: port is already allocated" in finding.message
    assert "hostPort 0" in finding.fix and "at least 3 instances" in finding.fix


def test_overcommit_services_sharing_a_port_add_up() -> None:
    stack = static_app(tasks=2, instances=3)
    stack.task("Other", [(80, 8080, "tcp")])
    stack.service("OtherService", "Other", desired=2)
    findings = rules_of(check(stack), "static-port-overcommit")
    assert ids(findings) == {("static-port-overcommit", "Service"), ("static-port-overcommit", "OtherService")}
    assert "4 tasks need tcp/8080 on capacity Stack/Asg/ASG, which has at most 3 instances" in findings[0].message


def test_overcommit_tcp_and_udp_are_separate() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("Tcp", [(53, 53, "tcp")])
    stack.task("Udp", [(53, 53, "udp")])
    stack.service("TcpService", "Tcp", desired=2)
    stack.service("UdpService", "Udp", desired=2)
    assert check(stack) == []


def test_overcommit_daemon_takes_the_port_on_every_instance() -> None:
    stack = static_app(tasks=1, instances=2, host_port=9100)
    stack.task("Exporter", [(9100, 9100, "tcp")])
    stack.service("Daemon", "Exporter", daemon=True)
    findings = rules_of(check(stack), "static-port-overcommit")
    assert ids(findings) == {("static-port-overcommit", "Service")}
    message = findings[0].message
    assert "3 tasks need tcp/9100 on capacity Stack/Asg/ASG, which has at most 2 instances" in message
    assert "2 of them are tasks of daemon service Stack/Daemon/Service" in message


def test_overcommit_two_daemons_on_one_port() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("A", [(80, 80, "tcp")])
    stack.task("B", [(80, 80, "tcp")])
    stack.service("DaemonA", "A", daemon=True)
    stack.service("DaemonB", "B", daemon=True)
    findings = rules_of(check(stack), "static-port-overcommit")
    assert ids(findings) == {("static-port-overcommit", "DaemonA"), ("static-port-overcommit", "DaemonB")}
    assert "2 daemon services need tcp/80 on every instance" in findings[0].message


def test_overcommit_daemons_on_different_ports_fit() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("A", [(80, 80, "tcp")])
    stack.task("B", [(81, 81, "tcp")])
    stack.service("DaemonA", "A", daemon=True)
    stack.service("DaemonB", "B", daemon=True)
    assert check(stack) == []


def test_overcommit_host_mode_counts_container_ports() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("Task", [(80, None, "tcp")], mode="host")
    stack.service("Service", "Task", desired=3)
    findings = rules_of(check(stack), "static-port-overcommit")
    assert "3 tasks need tcp/80" in findings[0].message


def test_overcommit_dynamic_ports_never_overcommit() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1)
    stack.task("Task", [(80, 0, "tcp"), (81, None, "tcp")])
    stack.service("Service", "Task", desired=5)
    assert check(stack) == []


@pytest.mark.parametrize(
    ("desired", "min_size", "expected"),
    [(3, 1, []), (None, 3, []), (2, 1, ["static-port-overcommit"])],
    ids=["desired-capacity-counts", "min-size-when-no-desired", "desired-too-small"],
)
def test_overcommit_counts_desired_capacity_else_min_size(
    desired: int | None, min_size: int, expected: list[str]
) -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=min_size, max_size=10, desired=desired)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=3)
    assert [f.rule for f in check(stack)] == expected


def test_overcommit_managed_scaling_counts_max_size() -> None:
    # GIVEN a provider with managed scaling, MinSize 1, MaxSize 3 and a service using it
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, max_size=3, provider="Provider", managed=True)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=3, strategy=["Provider"])
    assert check(stack) == []
    # WHEN the service uses launch type EC2 instead, managed scaling does not act for it
    stack.service("Service", "Task", desired=3, launch_type="EC2")
    assert "at most 1 instance:" in rules_of(check(stack), "static-port-overcommit")[0].message


@pytest.mark.parametrize("managed", [False, None], ids=["disabled", "absent"])
def test_overcommit_without_managed_scaling_counts_min_size(managed: bool | None) -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, max_size=3, provider="Provider", managed=managed)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=3, strategy=["Provider"])
    assert ids(check(stack)) == {("static-port-overcommit", "Service")}


def test_overcommit_cluster_default_strategy_applies_without_launch_type() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, max_size=3, provider="Provider")
    stack.add(
        "Associations",
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "Cluster": ref("Cluster"),
            "CapacityProviders": [ref("Provider")],
            "DefaultCapacityProviderStrategy": [{"CapacityProvider": ref("Provider"), "Weight": 1}],
        },
    )
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=3, launch_type=None)
    assert check(stack) == []


def test_overcommit_pairwise_conflicts_need_exact_placement() -> None:
    # GIVEN A{1,2}, B{2,3}, C{1,3}: every port is wanted twice, yet no two tasks can share an instance
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    for name, ports in (("A", (1001, 1002)), ("B", (1002, 1003)), ("C", (1001, 1003))):
        stack.task(name, [(p, p, "tcp") for p in ports])
        stack.service(f"{name}Service", name, desired=1)
    findings = rules_of(check(stack), "static-port-overcommit")
    assert len(findings) == 3
    assert "they need 3 instances, but capacity Stack/Asg/ASG has at most 2 instances" in findings[0].message
    stack.capacity(min_size=3)
    assert check(stack) == []


@contextlib.contextmanager
def without_budget() -> Iterator[None]:
    """No work units for the exact placement searches: only bounds and greedy placements decide."""
    with mock.patch.object(contention, "PLAN_WORK", 0), mock.patch.object(contention, "GROUP_WORK_FLOOR", 0):
        yield


def triangle(counts: tuple[int, int, int], instances: int) -> Stack:
    """A{1,2}, B{2,3}, C{1,3} with `counts` tasks: pairwise sharing a port, one task per instance."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    for (name, ports), count in zip((("A", (1001, 1002)), ("B", (1002, 1003)), ("C", (1001, 1003))), counts):
        stack.task(name, [(p, p, "tcp") for p in ports])
        stack.service(f"{name}Service", name, desired=count)
    return stack


def test_overcommit_out_of_budget_blames_only_for_certain_and_warns_for_the_rest() -> None:
    # GIVEN A (1 task) and B (2 tasks) on ports 8080 and 8082, and C (3 tasks) on 8080 and 8081, where a
    # daemon holds 8081 on each of the 3 instances: C fits nowhere, A and B fit beside each other
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=3)
    for name, ports, count in (("A", (8080, 8082), 1), ("B", (8080, 8082), 2), ("C", (8080, 8081), 3)):
        stack.task(name, [(p, p, "tcp") for p in ports])
        stack.service(f"{name}Service", name, desired=count)
    stack.task("Agent", [(8081, 8081, "tcp"), (8083, 8083, "tcp")])
    stack.service("Daemon", "Agent", daemon=True)
    # WHEN decided exactly THEN only C is blamed
    assert {f.resource for f in rules_of(check(stack), "static-port-overcommit")} == {"CService"}
    # WHEN no search may run THEN C is still blamed (it has no instance at all), and A and B, which the
    # bounds cannot clear, get a warning that names the budget instead of an error
    with without_budget():
        findings = check(stack)
    assert {f.resource for f in rules_of(findings, "static-port-overcommit")} == {"CService"}
    warned = {f.resource: f.message for f in rules_of(findings, "unverifiable")}
    assert set(warned) == {"AService", "BService"}
    assert "between 1 and 2 of its 2 tasks fit" in warned["BService"]
    assert "ran out of its budget" in warned["AService"]


def test_overcommit_out_of_budget_with_no_one_to_blame_reports_the_capacity() -> None:
    # GIVEN the triangle with 1, 1 and 2 tasks on 3 instances: 4 tasks that pairwise conflict
    stack = triangle((1, 1, 2), 3)
    # WHEN decided exactly THEN the services whose tasks do not fit beside the others are blamed
    exact = {f.resource for f in rules_of(check(stack), "static-port-overcommit")}
    assert exact and exact <= {"AService", "BService", "CService"}
    # WHEN no search may run THEN the overcommit is still certain (a clique of 4 tasks on 3 instances)
    # but no one service can be singled out: the capacity carries the error
    with without_budget():
        findings = rules_of(check(stack), "static-port-overcommit")
    assert [(f.resource, f.severity) for f in findings] == [("Asg", "error")]
    assert "they need more than 3 instances, but capacity Stack/Asg/ASG has at most 3 instances" in findings[0].message
    assert "could tell which services' tasks are the ones left over" in findings[0].message


def test_overcommit_separate_clusters_do_not_compete() -> None:
    stack = Stack()
    stack.cluster("Cluster")
    stack.cluster("Other")
    stack.capacity("Asg", min_size=1)
    stack.capacity("OtherAsg", cluster=ref("Other"), min_size=1)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=1)
    stack.service("OtherService", "Task", desired=1, cluster=ref("Other"))
    assert check(stack) == []


def test_overcommit_launch_configuration_capacity_is_found() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, launch_configuration=True)
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=2)
    assert "at most 1 instance" in check(stack)[0].message


# -- deployment-port-deadlock -----------------------------------------------------------------------


def test_deadlock_noncompliant_defaults_without_spare_instance() -> None:
    # GIVEN 2 static tasks on 2 instances and no DeploymentConfiguration (ECS defaults 100/200)
    stack = static_app(tasks=2, instances=2, minimum=None)
    findings = check(stack)
    assert ids(findings) == {("deployment-port-deadlock", "Service")}
    message = findings[0].message
    assert "minimumHealthyPercent 100 keeps all of them running (ceil(2 x 100%) = 2)" in message
    assert "which 2 tasks already hold on capacity Stack/Asg/ASG of at most 2 instances" in message
    assert "lower minimumHealthyPercent to 50" in findings[0].fix


@pytest.mark.parametrize(
    ("tasks", "instances", "minimum", "maximum"),
    [(2, 2, 50, 200), (2, 3, 100, 200), (2, 2, 0, 100), (1, 2, 100, 200)],
    ids=["one-may-stop-first", "spare-instance", "no-minimum", "single-task-spare-instance"],
)
def test_deadlock_compliant(tasks: int, instances: int, minimum: int, maximum: int) -> None:
    assert check(static_app(tasks=tasks, instances=instances, minimum=minimum, maximum=maximum)) == []


def sharing_app(instances: int, own: tuple[int, ...], desired: int, others: list[tuple[tuple[int, ...], int]]) -> Stack:
    """`Service` (host ports `own`, minimumHealthyPercent 100) beside services Other0.. on one group."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    stack.task("Task", [(p, p, "tcp") for p in own])
    stack.service("Service", "Task", desired=desired, minimum=100, maximum=200)
    for index, (ports, count) in enumerate(others):
        stack.task(f"Other{index}", [(p, p, "tcp") for p in ports])
        stack.service(f"OtherService{index}", f"Other{index}", desired=count)
    return stack


def test_deadlock_others_on_different_ports_may_share_an_instance() -> None:
    # GIVEN Service on 8080 and 8081, one task on 3 instances; one task each holds 8080 and 8081
    stack = sharing_app(3, (8080, 8081), 1, [((8080,), 1), ((8081,), 1)])
    # THEN those two can share an instance, so a new task finds the third free: no deadlock
    # (counting every task on its ports as an instance of its own would say 3 of 3 are taken)
    assert rules_of(check(stack), "deployment-port-deadlock") == []
    # AND when they cannot share one (both hold 8080), the deadlock is there
    stuck = sharing_app(3, (8080, 8081), 1, [((8080, 9000), 1), ((8080, 8081), 1)])
    [finding] = rules_of(check(stuck), "deployment-port-deadlock")
    assert "which 3 tasks already hold on capacity Stack/Asg/ASG of at most 3 instances, and at most 1 task of " \
        "it fit beside theirs" in finding.message
    assert "spare instances (at least 4," in finding.fix


@settings(max_examples=300, deadline=None)
@example(instances=3, own={8080, 8081}, desired=1, others=[({8080}, 1), ({8081}, 1)])  # they may share one
@given(
    instances=st.integers(1, 3),
    own=st.sets(st.sampled_from((8080, 8081, 8082)), min_size=1, max_size=2),
    desired=st.integers(1, 2),
    others=st.lists(st.tuples(st.sets(st.sampled_from((8080, 8081, 8082)), min_size=1, max_size=2),
                              st.integers(0, 2)), max_size=3),
)
def test_deadlock_equals_brute_force(instances: int, own: set[int], desired: int,
                                     others: list[tuple[set[int], int]]) -> None:
    # GIVEN a rolling deployment that keeps every task (minimumHealthyPercent 100) beside other services
    def demand(name: str, ports: set[int], tasks: int) -> Demand:
        return Demand(name, tasks, frozenset(("tcp", p) for p in ports), frozenset({"g"}))

    rest = [demand(f"O{i}", ports, count) for i, (ports, count) in enumerate(others)]
    if not brute_force_classes({"g": instances}, [*rest, demand("S", own, desired)]):
        return  # they do not fit even before the deployment: static-port-overcommit's finding
    stack = sharing_app(instances, tuple(sorted(own)), desired, [(tuple(sorted(p)), c) for p, c in others])
    stuck = not brute_force_classes({"g": instances}, [*rest, demand("S", own, desired + 1)])
    # THEN the rule reports a deadlock exactly when no placement holds one more of its tasks
    reported = {f.resource for f in rules_of(check(stack), "deployment-port-deadlock")}
    assert ("Service" in reported) == stuck


def test_deadlock_maximum_percent_forbids_an_extra_task() -> None:
    findings = check(static_app(tasks=2, instances=5, minimum=100, maximum=100))
    assert ids(findings) == {("deployment-port-deadlock", "Service")}
    assert "maximumPercent 100 allows no extra task (floor(2 x 100%) = 2)" in findings[0].message


def test_deadlock_counts_other_services_holding_the_port() -> None:
    stack = static_app(tasks=2, instances=4, minimum=100)
    stack.task("Other", [(80, 8080, "tcp")])
    stack.service("OtherService", "Other", desired=2)
    findings = rules_of(check(stack), "deployment-port-deadlock")
    assert ids(findings) == {("deployment-port-deadlock", "Service")}
    assert "4 tasks already hold" in findings[0].message


@settings(max_examples=100, deadline=None)
@given(
    services=st.lists(
        st.tuples(
            st.sets(st.sampled_from((8080, 8081, 8082, 8083)), min_size=1, max_size=3),
            st.one_of(st.integers(-1, 300), st.none()),
            st.sampled_from([("Asg",), ("Asg", "Asg2"), ("Asg2",)]),
        ),
        min_size=1,
        max_size=8,
    ),
    walked=st.booleans(),
)
def test_deadlock_sums_each_sharing_service_once(
    services: list[tuple[set[int], int | None, tuple[str, ...]]], walked: bool
) -> None:
    # GIVEN services on one or two groups holding static ports, some of unknown count (an import)
    stack = Stack()
    stack.cluster()
    for group in ("Asg", "Asg2"):
        stack.capacity(group, min_size=2, provider=f"{group}Provider")
    for index, (ports, count, groups) in enumerate(services):
        stack.task(f"Task{index}", [(p, p, "tcp") for p in sorted(ports)])
        desired = count if count is not None else {"Fn::ImportValue": f"Count{index}"}
        stack.service(f"Service{index}", f"Task{index}", desired=desired, strategy=[f"{g}Provider" for g in groups])
    placed = [i for i in static_port_facts(build_model([stack.loaded()])).placed if not i.service.daemon]
    sharing = deployment_port_deadlock.Sharing(placed)
    limit = deployment_port_deadlock.SMALL_UNION if walked else -1  # walk the services, or use bit sets
    for item in placed:
        keys = [(m.asg, p) for m in item.pool.members for p in item.ports]
        # WHEN summed THEN each other service on any of the (group, port) pairs counts once, at its count
        others = [o for o in placed if o.key != item.key and any((m.asg, p) in keys for m in o.pool.members for p in o.ports)]
        known = sum(max(o.service.desired_count, 0) for o in others if isinstance(o.service.desired_count, int))
        unknown = any(not isinstance(o.service.desired_count, int) for o in others)
        with mock.patch.object(deployment_port_deadlock, "SMALL_UNION", limit):
            assert sharing.tasks(keys, item.key) == (known, unknown)


def test_deadlock_of_other_deployment_controllers_is_not_the_rolling_one() -> None:
    # CodeDeploy ignores the rolling percentages: its new task set needs the instances twice
    # (tests/test_portplan_blue_green.py), which 4 instances give
    stack = static_app(tasks=2, instances=4, minimum=100, maximum=100)
    stack.props("Service")["DeploymentController"] = {"Type": "CODE_DEPLOY"}
    assert check(stack) == []
    stack.props("Service")["DeploymentController"] = {"Type": "ECS"}
    assert ids(check(stack)) == {("deployment-port-deadlock", "Service")}


def test_deadlock_daemon_with_full_minimum() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("Task", [(9100, 9100, "tcp")])
    stack.service("Daemon", "Task", daemon=True, minimum=100)
    findings = check(stack)
    assert ids(findings) == {("deployment-port-deadlock", "Daemon")}
    assert "2 instances" in findings[0].message and "keeps all 2 running" in findings[0].message
    assert "at most 50" in findings[0].fix


def test_deadlock_daemon_defaults_are_fine() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("Task", [(9100, 9100, "tcp")])
    stack.service("Daemon", "Task", daemon=True, minimum=None)
    assert check(stack) == []


# -- reserved-host-port -----------------------------------------------------------------------------


@pytest.mark.parametrize("port", [22, 2375, 2376, 51678, 51679, 51680])
def test_reserved_host_port_noncompliant_agent_defaults(port: int) -> None:
    findings = check(static_app(tasks=1, instances=1, host_port=port))
    assert ("reserved-host-port", "Task") in ids(findings)
    assert (
        f"maps host port tcp/{port}, which the ECS agent reserves by default"
        in rules_of(findings, "reserved-host-port")[0].message
    )


def test_reserved_host_port_from_user_data() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, settings=["ECS_RESERVED_PORTS=[22, 2375, 2376, 51678, 51679, 8080]"])
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=1)
    findings = check(stack)
    assert ids(findings) == {("reserved-host-port", "Task")}
    assert "ECS_RESERVED_PORTS reserves on capacity Stack/Asg/ASG" in findings[0].message


def test_reserved_host_port_udp_list_is_separate() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, settings=["ECS_RESERVED_PORTS_UDP=[5353]"])
    stack.task("Task", [(5353, 5353, "udp"), (5354, 5353, "tcp")])
    stack.service("Service", "Task", desired=1)
    findings = check(stack)
    assert [f.message.split(",")[0] for f in findings] == ["container web maps host port udp/5353"]


def test_reserved_host_port_compliant() -> None:
    assert check(static_app(tasks=1, instances=1, host_port=8080)) == []


# -- reserved-port-limit ----------------------------------------------------------------------------


def many_ports(count: int, *, settings: tuple[str, ...] = (), daemon_ports: int = 0, instances: int = 1) -> Stack:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances, settings=settings)
    stack.task("Task", [(p, p, "tcp") for p in range(10000, 10000 + count)])
    stack.service("Service", "Task", desired=1)
    if daemon_ports:
        stack.task("Agent", [(p, p, "tcp") for p in range(20000, 20000 + daemon_ports)])
        stack.service("Daemon", "Agent", daemon=True)
    return stack


def test_reserved_port_limit_compliant_at_exactly_100() -> None:
    assert rules_of(check(many_ports(95)), "reserved-port-limit") == []


def test_reserved_port_limit_noncompliant() -> None:
    findings = rules_of(check(many_ports(96)), "reserved-port-limit")
    assert ids(findings) == {("reserved-port-limit", "Task")}
    assert "would hold 101 reserved ports, more than the ECS agent's limit of 100" in findings[0].message
    assert "96 by this task's static host ports" in findings[0].message


def test_reserved_port_limit_counts_user_data_and_daemons() -> None:
    # GIVEN 2 instances: the daemon's ports are on each, the single task's on one only
    stack = many_ports(
        90, settings=("ECS_RESERVED_PORTS=[22, 2375, 2376, 51678, 51679, 7000, 7001]",), daemon_ports=4, instances=2
    )
    findings = rules_of(check(stack), "reserved-port-limit")
    assert ids(findings) == {("reserved-port-limit", "Task")}
    assert "would hold 101 reserved ports" in findings[0].message
    assert (
        "7 reserved by ECS_RESERVED_PORTS(_UDP), which replace the agent's defaults, 4 held by services on every "
        "instance, 90 by this task" in findings[0].message
    )


def test_reserved_port_limit_counts_a_service_that_fills_every_instance() -> None:
    # GIVEN one instance: the single task of Service is certain to sit next to the daemon
    findings = rules_of(check(many_ports(90, daemon_ports=6)), "reserved-port-limit")
    assert ids(findings) == {("reserved-port-limit", "Task"), ("reserved-port-limit", "Agent")}


# -- duplicate-host-port ----------------------------------------------------------------------------


def test_duplicate_host_port_noncompliant_across_containers() -> None:
    stack = Stack()
    stack.task(
        "Task",
        containers=[
            {"Name": "a", "PortMappings": [{"ContainerPort": 80, "HostPort": 8080}]},
            {"Name": "b", "PortMappings": [{"ContainerPort": 81, "HostPort": 8080, "Protocol": "tcp"}]},
        ],
    )
    findings = check(stack)
    assert ids(findings) == {("duplicate-host-port", "Task")}
    assert "host port tcp/8080 is mapped 2 times (containers a, b)" in findings[0].message


def test_duplicate_host_port_compliant() -> None:
    stack = Stack()
    stack.task("Task", [(80, 8080, "tcp"), (80, 8080, "udp"), (81, 0, "tcp"), (82, 0, "tcp")])
    assert check(stack) == []


def test_duplicate_container_port_in_awsvpc() -> None:
    stack = Stack()
    stack.task("Task", [(80, None, "tcp"), (80, None, "tcp")], mode="awsvpc")
    assert ids(check(stack)) == {("duplicate-host-port", "Task")}


# -- invalid-port -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "text"),
    [
        ((70000, 0, "tcp"), "containerPort 70000"),
        ((0, 0, "tcp"), "containerPort 0"),
        ((80, -1, "tcp"), "hostPort -1"),
        ((80, 65536, "tcp"), "hostPort 65536"),
    ],
)
def test_invalid_port_noncompliant(mapping: tuple[int, int, str], text: str) -> None:
    stack = Stack()
    stack.task("Task", [mapping])
    findings = check(stack)
    assert ids(findings) == {("invalid-port", "Task")}
    assert text in findings[0].message


def test_invalid_port_compliant_dynamic_and_edges() -> None:
    stack = Stack()
    stack.task("Task", [(1, 0, "tcp"), (65535, None, "tcp"), (80, 1024, "tcp")])
    assert check(stack) == []


# -- host-port-mismatch -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["awsvpc", "host"])
def test_host_port_mismatch_noncompliant(mode: str) -> None:
    stack = Stack()
    stack.task("Task", [(80, 8080, "tcp")], mode=mode)
    findings = check(stack)
    assert ids(findings) == {("host-port-mismatch", "Task")}
    assert f"maps containerPort 80 to hostPort 8080, but in {mode} network mode" in findings[0].message


@pytest.mark.parametrize("mode", ["awsvpc", "host"])
def test_host_port_mismatch_compliant(mode: str) -> None:
    stack = Stack()
    stack.task("Task", [(80, 80, "tcp"), (81, None, "tcp")], mode=mode)
    assert check(stack) == []


# -- dynamic-port-health-check and dynamic-port-ingress ---------------------------------------------


def test_health_check_compliant_traffic_port() -> None:
    assert check(balanced_app()) == []
    assert check(balanced_app(health_check_port="traffic-port")) == []


def test_health_check_noncompliant_fixed_port() -> None:
    findings = check(balanced_app(health_check_port="8081"))
    assert ids(findings) == {("dynamic-port-health-check", "LbTg")}
    assert findings[0].path == "Stack/Lb/Tg/Resource"
    assert "health checks go to fixed port 8081" in findings[0].message
    assert "container web port 80 on a dynamic host port" in findings[0].message


def test_health_check_fixed_port_is_fine_for_static_mappings() -> None:
    assert check(balanced_app(health_check_port="8080", host_port=8080)) == []


def test_ingress_noncompliant_no_rule() -> None:
    findings = check(balanced_app(open_range=None))
    assert ids(findings) == {("dynamic-port-ingress", "AsgSg")}
    assert (
        "instances' security group Stack/AsgSg allows 0 of 28232 ports 32768-60999 from balancer security group "
        "Stack/LbSg" in findings[0].message
    )
    assert "ec2.Port.tcp_range(32768, 60999)" in findings[0].fix


def test_ingress_noncompliant_partial_rules_are_unioned() -> None:
    stack = balanced_app(open_range=(32768, 40000))
    stack.ingress("AsgSg", "LbSg", 40001, 50000)
    findings = check(stack)
    assert "allows 17233 of 28232 ports 32768-60999" in findings[0].message


def test_ingress_compliant_from_union_of_rules_and_anywhere() -> None:
    stack = balanced_app(open_range=(32768, 50000))
    stack.ingress("AsgSg", None, 50000, 61000, cidr="0.0.0.0/0")
    assert check(stack) == []


def test_ingress_all_protocols_rule_counts() -> None:
    stack = balanced_app(open_range=None)
    stack.ingress("AsgSg", "LbSg", -1, -1, protocol="-1")
    assert check(stack) == []


def test_ingress_pinned_range_in_force() -> None:
    findings = check(balanced_app(open_range=(32768, 60999), settings=("ECS_DYNAMIC_HOST_PORT_RANGE=49153-65535",)))
    assert "allows 11847 of 16383 ports 49153-65535" in findings[0].message


def test_ingress_balancer_egress_must_reach_instances() -> None:
    # GIVEN a balancer whose security group denies all egress (CDK's dummy rule)
    closed = [{"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}]
    findings = check(balanced_app(lb_egress=closed))
    assert ids(findings) == {("dynamic-port-ingress", "LbSg")}
    # the message says it reaches nothing at all, not only the instances (the placeholder is all it has)
    assert "balancer security group Stack/LbSg lets no traffic out on ports 32768-60999 to any destination" in (
        findings[0].message
    )
    assert findings[0].fix.startswith("allow egress from Stack/LbSg to Stack/AsgSg on tcp 32768-60999")
    # WHEN an egress rule to the instances is added THEN it is fine
    stack = balanced_app(lb_egress=closed)
    stack.egress("LbSg", "AsgSg", 32768, 65535)
    assert check(stack) == []


def test_ingress_from_other_cidr_is_unverifiable() -> None:
    stack = balanced_app(open_range=None)
    stack.ingress("AsgSg", None, 0, 65535, cidr="10.0.0.0/16")
    findings = check(stack)
    assert ids(findings) == {("unverifiable", "Asg")}


def test_ingress_from_vpc_cidr_counts() -> None:
    stack = balanced_app(open_range=None)
    stack.add("Vpc", "AWS::EC2::VPC", {"CidrBlock": "10.0.0.0/16"})
    stack.ingress("AsgSg", None, 32768, 60999, cidr=att("Vpc", "CidrBlock"))
    assert check(stack) == []


def test_ingress_ip_target_groups_are_not_checked() -> None:
    stack = balanced_app(open_range=None)
    stack.props("LbTg")["TargetType"] = "ip"
    assert check(stack) == []


def test_ingress_balancer_through_listener_rule() -> None:
    stack = balanced_app(open_range=None)
    listener = stack.props("LbListener")
    listener["DefaultActions"] = [{"Type": "fixed-response"}]
    stack.add(
        "Rule",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {
            "ListenerArn": ref("LbListener"),
            "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": ref("LbTg")}]}}],
        },
    )
    assert ids(check(stack)) == {("dynamic-port-ingress", "AsgSg")}


# -- static-port-in-dynamic-range -------------------------------------------------------------------


def test_static_port_in_dynamic_range_warning() -> None:
    findings = check(static_app(tasks=1, instances=1, host_port=40000))
    assert ids(findings) == {("static-port-in-dynamic-range", "Task")}
    assert findings[0].severity == "warning"
    assert (
        "host port tcp/40000, inside the dynamic host port range 32768-60999 in force on capacity Stack/Asg/ASG"
        in findings[0].message
    )


def test_static_port_outside_pinned_range_is_fine() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1, settings=["ECS_DYNAMIC_HOST_PORT_RANGE=50000-60000"])
    stack.task("Task", [(80, 40000, "tcp")])
    stack.service("Service", "Task", desired=1)
    assert check(stack) == []


def test_static_port_in_range_without_service_uses_linux_default() -> None:
    stack = Stack()
    stack.task("Task", [(80, 33000, "tcp")])
    assert "(the Linux default)" in check(stack)[0].message


# -- unverifiable -----------------------------------------------------------------------------------


def test_unverifiable_parameter_capacity() -> None:
    stack = static_app(tasks=2, instances=1)
    stack.parameters["Size"] = {"Type": "Number"}
    stack.props("Asg")["MinSize"] = ref("Size")
    stack.props("Asg")["MaxSize"] = ref("Size")
    findings = check(stack)
    assert ids(findings) == {("unverifiable", "Service")}
    assert "parameter Size of Stack.template.json has no default and no value was given" in findings[0].message
    assert "pass --parameter Size=VALUE" in findings[0].fix


def test_unverifiable_parameter_desired_count_still_finds_certain_errors() -> None:
    # GIVEN one service with an unknown count, and another that alone overcommits the port
    stack = static_app(tasks=3, instances=2)
    stack.parameters["Count"] = {"Type": "Number"}
    stack.task("Other", [(80, 8080, "tcp")])
    stack.service("OtherService", "Other", desired=ref("Count"))
    assert ("static-port-overcommit", "Service") in ids(check(stack))


def test_unverifiable_unknown_cluster_and_task_definition() -> None:
    stack = Stack()
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", cluster={"Fn::ImportValue": "Elsewhere:Cluster"})
    stack.service("Orphan", "Task")
    stack.props("Orphan")["TaskDefinition"] = "arn:aws:ecs:eu-west-1:111111111111:task-definition/web:3"
    stack.props("Orphan")["Cluster"] = ref("Task")
    findings = check(stack)
    messages = {f.resource: f.message for f in findings}
    assert {f.rule for f in findings} == {"unverifiable"}
    assert "import 'Elsewhere:Cluster' is not exported by any template given" in messages["Service"]
    assert "task-definition/web:3" in messages["Orphan"]


def test_unverifiable_cluster_without_capacity() -> None:
    stack = Stack()
    stack.cluster()
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=2)
    findings = check(stack)
    assert ids(findings) == {("unverifiable", "Service")}
    assert (
        "no Auto Scaling group of the templates given registers instances with cluster Stack/Cluster"
        in findings[0].message
    )


def test_unverifiable_host_port_parameter() -> None:
    stack = Stack()
    stack.parameters["Port"] = {"Type": "Number"}
    stack.task("Task", [(80, ref("Port"), "tcp")])  # type: ignore[list-item]
    findings = check(stack)
    assert ids(findings) == {("unverifiable", "Task")}
    assert "a host port of container web is unknown (parameter Port" in findings[0].message


def test_findings_are_sorted_and_deduplicated() -> None:
    stack = static_app(tasks=3, instances=2, host_port=22)
    first = check(stack)
    assert first == check(stack)
    keys = [(f.template, f.resource, f.rule, f.message) for f in first]
    assert len(keys) == len(set(keys))
    assert [f.rule for f in first] == ["static-port-overcommit", "reserved-host-port"]


# -- issue 10: what real templates write -------------------------------------------------------------


def test_reserved_ports_in_user_data_replace_the_defaults() -> None:
    # GIVEN ECS_RESERVED_PORTS without 22: the agent no longer reserves it
    stack = static_app(tasks=1, instances=1, host_port=22)
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = {
        "Fn::Base64": {
            "Fn::Join": [
                "",
                ["#!/bin/bash\necho ECS_CLUSTER=", ref("Cluster"), " >> /etc/ecs/ecs.config\n"
                 "echo 'ECS_RESERVED_PORTS=[2375, 2376, 51678, 51679]' >> /etc/ecs/ecs.config\n"],
            ]
        }
    }
    assert rules_of(check(stack), "reserved-host-port") == []
    # WHEN the list keeps 22 THEN it is reserved there, by the setting
    listed = stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    listed[2] = listed[2].replace("[2375", "[22, 2375")
    (finding,) = rules_of(check(stack), "reserved-host-port")
    assert "ECS_RESERVED_PORTS reserves on capacity Stack/Asg/ASG" in finding.message
    assert "by default" not in finding.message


@pytest.mark.parametrize(("value", "shown"), [(True, "True"), ("80a", "'80a'"), (float("nan"), "nan"), (80.5, "80.5")])
def test_invalid_port_literal_values_that_are_no_numbers(value: object, shown: str) -> None:
    stack = Stack()
    stack.task("Task", [(80, 8080, "tcp")])
    stack.props("Task")["ContainerDefinitions"][0]["PortMappings"][0]["ContainerPort"] = value
    (finding,) = rules_of(check(stack), "invalid-port")
    assert f"containerPort {shown}, which is not a port number" in finding.message


def test_fn_if_around_a_port_mapping_is_no_invalid_port() -> None:
    stack = static_app(tasks=1, instances=1)
    stack.conditions = {"Debug": {"Fn::Equals": ["on", "off"]}}
    stack.props("Task")["ContainerDefinitions"][0]["PortMappings"].append(
        {"Fn::If": ["Debug", {"ContainerPort": 9229, "HostPort": 9229}, {"Ref": "AWS::NoValue"}]}
    )
    assert check(stack) == []
    stack.conditions["Debug"] = {"Fn::Equals": ["on", "on"]}
    plan_ports = [(m.container_port, m.host_port) for m in build_model([stack.loaded()]).task_definitions[("Stack.template.json", "Task")].mappings]
    assert plan_ports == [(80, 8080), (9229, 9229)]


def test_parameter_defaults_decide_and_say_so() -> None:
    stack = static_app(tasks=3, instances=2)
    stack.parameters["DesiredCount"] = {"Type": "Number", "Default": 3}
    stack.props("Service")["DesiredCount"] = ref("DesiredCount")
    (finding,) = check(stack)
    assert finding.rule == "static-port-overcommit"
    assert finding.message.endswith("(this assumes DesiredCount=3, its default)")
    stack.parameters["DesiredCount"]["Default"] = 2
    assert check(stack) == []


def test_an_undecided_service_is_never_silent() -> None:
    # GIVEN a dynamic service (no rule has anything to say about its ports) whose count nobody gave
    stack = balanced_app()
    stack.parameters["Count"] = {"Type": "Number"}
    stack.props("Service")["DesiredCount"] = ref("Count")
    (finding,) = check(stack)
    assert (finding.rule, finding.resource) == ("unverifiable", "Service")
    assert finding.message.startswith("not decided: its desired count is unknown (parameter Count of")
    assert finding.fix == "pass --parameter Count=VALUE (the port-plan CLI), or acknowledge this finding"


def test_a_missing_template_is_the_only_case_that_asks_for_templates() -> None:
    stack = static_app(tasks=1, instances=1)
    stack.props("Service")["Cluster"] = "shared-cluster"
    (finding,) = check(stack)
    assert "cluster 'shared-cluster' is not defined in the templates given" in finding.message
    assert finding.fix.startswith("pass the template that defines what is missing too")


def test_load_balancer_entries_naming_an_unknown_container_are_reported() -> None:
    stack = balanced_app()
    stack.parameters["Port"] = {"Type": "Number"}
    stack.props("Service")["LoadBalancers"][0]["ContainerPort"] = ref("Port")
    findings = check(stack)
    assert ids(findings) == {("unverifiable", "Service")}
    assert any("the container port of a load balancer entry is unknown" in f.message for f in findings)
    # WITH a default THEN the entry is read and the path checked as usual
    stack.parameters["Port"]["Default"] = 80
    assert check(stack) == []


def test_balancer_that_reaches_nowhere_is_an_error_even_beside_the_default_security_group() -> None:
    # GIVEN instances without a security group of their own (the VPC's default one, not shown)
    closed = [{"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic", "IpProtocol": "icmp",
               "FromPort": 252, "ToPort": 86}]
    stack = balanced_app(lb_egress=closed, open_range=None)
    del stack.props("AsgTemplate")["LaunchTemplateData"]["SecurityGroupIds"]
    (finding,) = check(stack)
    assert (finding.rule, finding.resource) == ("dynamic-port-ingress", "LbSg")
    assert "lets no traffic out on ports 32768-60999 to any destination" in finding.message
    # WHEN the balancer may send anywhere THEN the default group keeps it an unknown
    stack = balanced_app(open_range=None)
    del stack.props("AsgTemplate")["LaunchTemplateData"]["SecurityGroupIds"]
    assert [f.rule for f in check(stack)] == ["unverifiable"]


def test_deadlock_fix_for_a_single_task_names_0_once() -> None:
    (finding,) = check(static_app(tasks=1, instances=1, minimum=100, maximum=200))
    assert finding.rule == "deployment-port-deadlock"
    assert "which 1 task already holds on capacity" in finding.message
    assert finding.fix.startswith("lower minimumHealthyPercent to 0 (one task stops first), or give capacity")
    assert "or 0" not in finding.fix


def test_health_check_consequence_is_ecs_refusing_the_service() -> None:
    (finding,) = check(balanced_app(health_check_port="8081"))
    assert "ECS refuses to create such a service (InvalidParameterException)" in finding.message


def test_static_port_in_dynamic_range_consequence_is_a_failed_start() -> None:
    (finding,) = check(static_app(tasks=1, instances=1, host_port=40000))
    assert "the scheduler, which tracks static ports only, still places this task there" in finding.message
    assert 'Bind for 0.0.0.0:40000 failed: port is already allocated' in finding.message

"""The model: intrinsic functions, user data, cross-stack references, pools, unknowns, odd values."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portplan_builders import Stack, att, check, cross_stack_files, link, ref, static_app

from constructs_lib.portplan import (
    LoadedTemplate,
    TemplatesOutOfOrder,
    Unknown,
    build_model,
    check_paths,
    check_templates,
    iter_templates,
    load_templates,
    plan_paths,
    run_rules,
)
from constructs_lib.portplan.intrinsics import Assumption, ExportTable, Notes, Resolver, ResourceRef, as_int
from constructs_lib.portplan.model import DEFAULT_DYNAMIC_RANGE, Peer
from constructs_lib.portplan.model import AutoScalingGroup as AutoScalingGroupEntity
from constructs_lib.portplan.parameters import ParameterValues


def resolver(body: dict[str, Any], name: str = "T", stack_name: str = "Stack") -> Resolver:
    found = Resolver(name, body, stack_name)
    ExportTable().add(found, body.get("Outputs", {}))
    return found


BODY = {
    "Parameters": {"Size": {"Type": "Number"}},
    "Mappings": {"Sizes": {"Stack": {"Max": "4"}}},
    "Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}, "Sg": {"Type": "AWS::EC2::SecurityGroup"}},
}


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Ref": "Cluster"}, ResourceRef("T", "Cluster")),
        ({"Fn::GetAtt": ["Sg", "GroupId"]}, ResourceRef("T", "Sg", "GroupId")),
        ({"Fn::GetAtt": "Sg.GroupId"}, ResourceRef("T", "Sg", "GroupId")),
        ({"Ref": "AWS::StackName"}, "Stack"),
        ({"Fn::Sub": "${AWS::StackName}-x-${!Literal}"}, "Stack-x-${Literal}"),
        ({"Fn::Sub": ["${A}:${B}", {"A": "a", "B": {"Ref": "AWS::StackName"}}]}, "a:Stack"),
        ({"Fn::Join": [":", [{"Ref": "AWS::StackName"}, "Cluster", 3]]}, "Stack:Cluster:3"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::StackName"}, "Max"]}, "4"),
        ({"Fn::Base64": "plain"}, "plain"),
        ({"Ref": "AWS::NoValue"}, None),
        ("literal", "literal"),
        ({"Not": "intrinsic", "Two": "keys"}, {"Not": "intrinsic", "Two": "keys"}),
    ],
)
def test_resolver_values(node: Any, expected: Any) -> None:
    assert resolver(BODY).value(node) == expected


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        ({"Ref": "Size"}, "parameter Size of T has no default and no value was given"),
        ({"Ref": "AWS::Region"}, "pseudo parameter AWS::Region is set at deployment"),
        ({"Ref": "Nowhere"}, "Ref to Nowhere, which T does not define"),
        ({"Fn::GetAtt": ["Nowhere", "Arn"]}, "Fn::GetAtt of Nowhere, which T does not define"),
        ({"Fn::If": ["C", 1, 2]}, "condition C is not defined in T"),
        ({"Fn::ImportValue": "Other:Thing"}, "import 'Other:Thing' is not exported by any template given"),
        ({"Fn::Join": [":", [{"Ref": "Size"}, "x"]]}, "parameter Size of T has no default and no value was given"),
        ({"Fn::Select": [5, ["a"]]}, "Fn::Select out of range"),
        ({"Fn::GetAZs": ""}, "Fn::GetAZs is not evaluated"),
        ({"Fn::Join": "oops"}, "malformed Fn::Join"),
    ],
)
def test_resolver_unknowns(node: Any, reason: str) -> None:
    assert resolver(BODY).value(node) == Unknown(reason)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8080, 8080), ("8080", 8080), (" 80 ", 80), (80.0, 80), (None, None)],
)
def test_as_int_reads_numbers(value: Any, expected: int | None) -> None:
    assert as_int(value) == expected


@pytest.mark.parametrize("value", ["abc", True, 80.5, [80], {"a": 1}, ResourceRef("T", "X")])
def test_as_int_unknown_for_non_numbers(value: Any) -> None:
    assert isinstance(as_int(value), Unknown)


def test_import_cycle_is_unknown_not_a_crash() -> None:
    body = {
        "Resources": {},
        "Outputs": {
            "A": {"Value": {"Fn::ImportValue": "b"}, "Export": {"Name": "a"}},
            "B": {"Value": {"Fn::ImportValue": "a"}, "Export": {"Name": "b"}},
        },
    }
    assert isinstance(resolver(body).value({"Fn::ImportValue": "a"}), Unknown)


def test_ambiguous_export_is_unknown() -> None:
    one = Stack("One")
    one.cluster()
    two = Stack("Two")
    two.cluster()
    for stack in (one, two):
        stack.outputs["C"] = {"Value": ref("Cluster"), "Export": {"Name": "shared"}}
    consumer = Stack("App")
    consumer.task("Task", [(80, 8080, "tcp")])
    consumer.service("Service", "Task", cluster={"Fn::ImportValue": "shared"})
    plan = build_model([one.loaded(), two.loaded(), consumer.loaded()])
    assert plan.services[("App.template.json", "Service")].cluster == Unknown(
        "export 'shared' is defined by several templates"
    )


# -- user data and capacity -------------------------------------------------------------------------


def test_user_data_settings_are_read() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(
        settings=[
            "ECS_DYNAMIC_HOST_PORT_RANGE=40000-50000",
            "'ECS_RESERVED_PORTS=[22, 2375, 2376, 51678, 51679, 9000]'",
            "ECS_RESERVED_PORTS_UDP=[53]",
        ]
    )
    group = build_model([stack.loaded()]).auto_scaling_groups[("Stack.template.json", "Asg")]
    assert group.cluster == ("Stack.template.json", "Cluster")
    assert group.dynamic_range == (40000, 50000)
    assert group.reserved_tcp == (22, 2375, 2376, 51678, 51679, 9000)
    assert group.reserved_udp == (53,)
    assert group.security_groups == (("Stack.template.json", "AsgSg"),)
    assert group.instance_types == ("t3.micro",)
    assert group.origin.path == "Stack/Asg/ASG"


@pytest.mark.parametrize(
    "data",
    [
        {"Fn::Base64": {"Fn::Sub": "#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"}},
        {
            "Fn::Base64": {
                "Fn::Sub": ['#!/bin/bash\necho "ECS_CLUSTER=${Name}" >> /etc/ecs/ecs.config', {"Name": {"Ref": "Cluster"}}]
            }
        },
        {"Fn::Base64": "#!/bin/bash\ncat <<'EOF' >> /etc/ecs/ecs.config\nECS_CLUSTER=named\nEOF\n"},
        base64.b64encode(b"#!/bin/bash\necho ECS_CLUSTER=named >> /etc/ecs/ecs.config\n").decode(),
    ],
    ids=["sub", "sub-variables", "literal-name", "pre-encoded"],
)
def test_user_data_forms_name_the_cluster(data: Any) -> None:
    stack = Stack()
    stack.cluster()
    stack.props("Cluster")["ClusterName"] = "named"
    stack.capacity()
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = data
    group = build_model([stack.loaded()]).auto_scaling_groups[("Stack.template.json", "Asg")]
    assert group.cluster == ("Stack.template.json", "Cluster")
    assert group.dynamic_range == DEFAULT_DYNAMIC_RANGE


def test_user_data_naming_another_cluster_or_none() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity("Elsewhere", cluster="someone-elses")
    stack.capacity("Plain")
    del stack.props("PlainTemplate")["LaunchTemplateData"]["UserData"]
    plan = build_model([stack.loaded()])
    assert plan.auto_scaling_groups[("Stack.template.json", "Elsewhere")].cluster is None
    assert plan.auto_scaling_groups[("Stack.template.json", "Plain")].cluster is None


def test_unknown_user_data_makes_pools_doubtful() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=5)
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = {"Fn::If": ["C", "a", "b"]}
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=2)
    plan = build_model([stack.loaded()])
    group = plan.auto_scaling_groups[("Stack.template.json", "Asg")]
    assert isinstance(group.cluster, Unknown) and isinstance(group.dynamic_range, Unknown)
    pool = plan.pools[("Stack.template.json", "Service")]
    assert pool.members == () and pool.high is None
    assert (
        "Auto Scaling group Stack/Asg/ASG may add instances: the cluster it registers with is unknown" in pool.doubts[0]
    )
    assert [f.rule for f in check(stack)] == ["unverifiable"]


def test_mixed_instances_policy_launch_template() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=3)
    props = stack.props("Asg")
    spec = props.pop("LaunchTemplate")
    props["MixedInstancesPolicy"] = {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": spec,
            "Overrides": [{"InstanceType": "m5.large"}, {"InstanceType": "m6i.large"}],
        }
    }
    group = build_model([stack.loaded()]).auto_scaling_groups[("Stack.template.json", "Asg")]
    assert group.cluster == ("Stack.template.json", "Cluster")
    # the overrides replace the launch template's own instance type (t3.micro): it is never launched
    assert group.instance_types == ("m5.large", "m6i.large")


def test_cross_stack_cluster_provider_and_security_groups() -> None:
    # GIVEN the cluster, its capacity and the instance group in Net, the service and balancer in App
    net = Stack("Net")
    net.cluster()
    net.capacity(min_size=1, max_size=3, provider="Provider")
    cluster_export = net.export("RefCluster", ref("Cluster"))
    provider_export = net.export("RefProvider", ref("Provider"))
    sg_export = net.export("AsgSgGroupId", att("AsgSg", "GroupId"))
    app = Stack("App")
    group = app.balancer()
    app.add(
        "FromLb",
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": {"Fn::ImportValue": sg_export},
            "IpProtocol": "tcp",
            "FromPort": 32768,
            "ToPort": 65535,
            "SourceSecurityGroupId": att("LbSg", "GroupId"),
        },
    )
    app.task("Task", [(80, 0, "tcp")])
    app.service(
        "Service",
        "Task",
        desired=3,
        cluster={"Fn::ImportValue": cluster_export},
        launch_type=None,
        load_balancers=[link(group)],
    )
    app.props("Service")["CapacityProviderStrategy"] = [{"CapacityProvider": {"Fn::ImportValue": provider_export}}]
    plan = build_model([net.loaded(), app.loaded()])
    service = plan.services[("App.template.json", "Service")]
    assert service.cluster == ("Net.template.json", "Cluster")
    (member,) = plan.pools[("App.template.json", "Service")].members
    assert (member.asg, member.instances, member.scaled) == (("Net.template.json", "Asg"), 3, True)
    instance_sg = plan.security_groups[("Net.template.json", "AsgSg")]
    assert [r.peer for r in instance_sg.ingress] == [Peer(group=("App.template.json", "LbSg"))]
    assert check(net, app) == []


def test_fargate_services_have_no_pool() -> None:
    stack = Stack()
    stack.cluster()
    stack.task("Task", [(80, None, "tcp")], mode="awsvpc")
    stack.service("Service", "Task", launch_type="FARGATE")
    stack.service("Spot", "Task", launch_type=None)
    stack.props("Spot")["CapacityProviderStrategy"] = [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    plan = build_model([stack.loaded()])
    assert plan.pools == {}


def test_security_group_egress_semantics() -> None:
    stack = Stack()
    stack.security_group("Open")
    stack.security_group(
        "Closed", egress=[{"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}]
    )
    plan = build_model([stack.loaded()])
    assert plan.security_groups[("Stack.template.json", "Open")].allows_all_egress is True
    assert plan.security_groups[("Stack.template.json", "Closed")].allows_all_egress is False


def test_origins_keep_template_logical_id_and_path() -> None:
    stack = Stack()
    stack.cluster()
    stack.add("Bare", "AWS::ECS::Cluster")
    plan = build_model([stack.loaded()])
    assert plan.clusters[("Stack.template.json", "Cluster")].origin.path == "Stack/Cluster/Resource"
    bare = plan.clusters[("Stack.template.json", "Bare")].origin
    assert (bare.template, bare.template_path, bare.logical_id, bare.path) == (
        "Stack.template.json",
        "/fixtures/Stack.template.json",
        "Bare",
        None,
    )


def test_service_defaults() -> None:
    stack = Stack()
    stack.task("Task")
    stack.add("Replica", "AWS::ECS::Service", {"TaskDefinition": ref("Task")})
    stack.add("Daemon", "AWS::ECS::Service", {"TaskDefinition": ref("Task"), "SchedulingStrategy": "DAEMON"})
    plan = build_model([stack.loaded()])
    replica = plan.services[("Stack.template.json", "Replica")]
    daemon = plan.services[("Stack.template.json", "Daemon")]
    assert (replica.desired_count, replica.minimum_healthy_percent, replica.maximum_percent, replica.rolling) == (
        1,
        100,
        200,
        True,
    )
    assert (daemon.minimum_healthy_percent, daemon.maximum_percent) == (0, 100)
    assert isinstance(replica.cluster, Unknown) and "default cluster" in replica.cluster.reason
    assert plan.task_definitions[("Stack.template.json", "Task")].network_mode == "bridge"


# -- odd values never crash -------------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None,
    "",
    "abc",
    "8080",
    -1,
    0,
    1.5,
    True,
    [],
    [1, 2],
    {},
    {"a": 1},
    {"Ref": "Param"},
    {"Ref": "AWS::NoValue"},
    {"Fn::If": ["C", 1, 2]},
    {"Fn::GetAtt": 5},
    {"Fn::ImportValue": {"Ref": "Param"}},
    {"Fn::Join": [1, 2]},
    {"Fn::Sub": ["${X}", "not-a-map"]},
    {"Fn::Select": ["x", "y"]},
    {"Fn::Unknown": 1},
]


def full_app() -> Stack:
    """An app touching every property the model reads."""
    stack = Stack()
    stack.parameters["Param"] = {"Type": "String"}
    stack.cluster()
    stack.props("Cluster").update(
        {"ClusterName": "c", "DefaultCapacityProviderStrategy": [{"CapacityProvider": ref("Provider")}]}
    )
    stack.capacity(min_size=1, max_size=3, desired=2, provider="Provider", settings=["ECS_RESERVED_PORTS=[9]"])
    stack.capacity("Legacy", min_size=1, launch_configuration=True)
    stack.add(
        "Assoc",
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {
            "Cluster": ref("Cluster"),
            "CapacityProviders": [ref("Provider")],
            "DefaultCapacityProviderStrategy": [{"CapacityProvider": ref("Provider"), "Base": 0, "Weight": 1}],
        },
    )
    group = stack.balancer(health_check_port="8081")
    stack.ingress("AsgSg", "LbSg", 32768, 65535)
    stack.egress("LbSg", "AsgSg", 32768, 65535)
    stack.props("AsgSg")["SecurityGroupIngress"] = [
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "CidrIp": "0.0.0.0/0"}
    ]
    stack.add(
        "Rule",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {
            "ListenerArn": ref("LbListener"),
            "Actions": [{"ForwardConfig": {"TargetGroups": [{"TargetGroupArn": ref(group)}]}}],
        },
    )
    stack.task("Task", [(80, 0, "tcp"), (81, 8081, "udp")])
    stack.task("Host", [(80, 80, "tcp")], mode="host")
    stack.service(
        "Service", "Task", desired=2, strategy=["Provider"], minimum=50, maximum=200, load_balancers=[link(group)]
    )
    stack.props("Service")["DeploymentController"] = {"Type": "ECS"}
    stack.props("Service")["PlacementConstraints"] = [
        {"Type": "memberOf", "Expression": "attribute:ecs.instance-type == t3.micro"},
        {"Type": "distinctInstance"},
    ]
    stack.props("Task")["PlacementConstraints"] = [{"Type": "memberOf", "Expression": "attribute:tier exists"}]
    stack.props("Task")["ContainerDefinitions"][0]["PortMappings"].append({"ContainerPortRange": "9000-9009"})
    stack.props(group)["TargetGroupAttributes"] = [{"Key": "preserve_client_ip.enabled", "Value": "true"}]
    stack.props("Lb")["Scheme"] = "internal"
    stack.add("Subnet", "AWS::EC2::Subnet", {"AvailabilityZone": "us-east-1a"})
    stack.props("Asg")["VPCZoneIdentifier"] = [ref("Subnet")]
    stack.scaling("Service", 1, 4)
    stack.props("ServiceScaling")["ScheduledActions"] = [{"ScalableTargetAction": {"MaxCapacity": 6}}]
    stack.service("Daemon", "Host", daemon=True)
    return stack


def property_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path under each resource's Properties (and the Properties themselves)."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from property_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from property_paths(value, (*path, index))


def replaced(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = copy.deepcopy(value)
    return body


def test_odd_values_in_every_property_never_raise() -> None:
    stack = full_app()
    body = stack.body()
    assert {f.rule for f in check(stack)} >= {"dynamic-port-health-check"}
    paths = [
        ("Resources", logical_id, *path)
        for logical_id, resource in body["Resources"].items()
        for path in property_paths(resource)
        if path and path[0] in ("Properties", "Metadata")
    ]
    assert len(paths) > 150
    for path in paths:
        for value in ODD_VALUES:
            template = LoadedTemplate("Stack.template.json", "/x", replaced(body, path, value), "Stack")
            check_templates([template])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-70000, 70000)
    | st.text(max_size=8)
    | st.sampled_from(["tcp", "-1", "8080"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Ref",
                    "Fn::GetAtt",
                    "Fn::Join",
                    "Fn::Sub",
                    "Fn::ImportValue",
                    "Fn::Select",
                    "Fn::Split",
                    "Fn::Base64",
                    "Fn::If",
                    "x",
                ]
            ),
            children,
            max_size=2,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_values_never_raise(data: st.DataObject) -> None:
    body = full_app().body()
    paths = [
        ("Resources", logical_id, *path)
        for logical_id, resource in body["Resources"].items()
        for path in property_paths(resource)
        if path and path[0] == "Properties"
    ]
    for _ in range(data.draw(st.integers(1, 6))):
        path = data.draw(st.sampled_from(paths))
        try:
            body = replaced(body, path, data.draw(json_values))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed the parent
    check_templates([LoadedTemplate("Stack.template.json", "/x", body, "Stack")])


# -- reading templates one at a time --------------------------------------------------------------


def test_streaming_a_directory_in_the_wrong_order_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cross_stack_files(tmp_path)
    with pytest.raises(TemplatesOutOfOrder):
        build_model(iter_templates(["."]))
    # plan_paths falls back to reading all templates at once
    plan = plan_paths(["."])
    assert plan.services[("App.template.json", "Service")].cluster == ("Net.template.json", "Cluster")
    assert [f.rule for f in check_paths(["."])] == ["static-port-overcommit"]


def test_streaming_an_assembly_follows_its_dependencies(tmp_path: Path) -> None:
    # GIVEN an assembly where App (sorted first) depends on Net
    cross_stack_files(tmp_path)
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "App": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "App.template.json"},
                "dependencies": ["Net", "App.assets"],
            },
            "Net": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Net.template.json"}},
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    # WHEN streamed THEN Net comes first and nothing needs a second reading
    assert [t.stack_name for t in iter_templates([str(tmp_path)])] == ["Net", "App"]
    streamed = build_model(iter_templates([str(tmp_path)]))
    whole = build_model(load_templates([str(tmp_path)]))
    assert streamed.services.keys() == whole.services.keys()
    assert [s.cluster for s in streamed.services.values()] == [s.cluster for s in whole.services.values()]
    assert run_rules(streamed) == run_rules(whole)


def test_streaming_detects_a_literal_name_defined_later(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # GIVEN instances registering with cluster "shared" by name, the cluster defined in a later file
    capacity = Stack("A")
    capacity.capacity(cluster="shared", min_size=1)
    capacity.task("Task", [(80, 8080, "tcp")])
    clusters = Stack("B")
    clusters.cluster()
    clusters.props("Cluster")["ClusterName"] = "shared"
    capacity.write(tmp_path)
    clusters.write(tmp_path)
    with pytest.raises(TemplatesOutOfOrder):
        build_model(iter_templates(["."]))
    (group,) = plan_paths(["."]).auto_scaling_groups.values()
    assert group.cluster == ("B.template.json", "Cluster")


def test_streaming_lets_each_template_go(tmp_path: Path) -> None:
    for index in range(4):
        stack = Stack(f"S{index}")
        stack.cluster()
        stack.capacity(min_size=1)
        stack.task("Task", [(80, 8080, "tcp")])
        stack.service("Service", "Task", desired=1)
        stack.write(tmp_path)
    alive: list[weakref.ref[LoadedTemplate]] = []

    def templates() -> Iterator[LoadedTemplate]:
        for template in iter_templates([str(tmp_path)]):
            assert all(ref() is None for ref in alive[:-1]), "an earlier template is still held"
            alive.append(weakref.ref(template))
            yield template

    plan = build_model(templates())
    assert len(plan.services) == 4 and len(alive) == 4


def test_streamed_and_whole_fixture_assembly_agree() -> None:
    assembly = str(Path(__file__).parent / "fixtures" / "portplan" / "cdk-out")
    whole = check_templates(load_templates([assembly]))
    assert check_paths([assembly]) == whole
    assert run_rules(build_model(iter_templates([assembly]))) == whole


# -- parameters and conditions ---------------------------------------------------------------------

PARAMETERS_BODY = {
    "Parameters": {
        "Count": {"Type": "Number", "Default": 2},
        "Env": {"Type": "String", "Default": "prod", "AllowedValues": ["dev", "prod"]},
        "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "a,b"},
        "Ami": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", "Default": "/aws/ami"},
        "Open": {"Type": "String"},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Two": {"Fn::Equals": [2, {"Ref": "Count"}]},
        "OpenIsX": {"Fn::Equals": [{"Ref": "Open"}, "x"]},
        "ProdOrOpen": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "OpenIsX"}]},
        "DevAndOpen": {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "OpenIsX"}]},
        "ProdAndOpen": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "OpenIsX"}]},
        "Loop": {"Condition": "Loop"},
    },
    "Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}},
}


def test_parameters_take_their_default_and_note_it() -> None:
    found = resolver(PARAMETERS_BODY)
    assert found.tracked({"Ref": "Count"}) == ("2", frozenset({Assumption("T", "Count", "2")}))
    assert found.value({"Ref": "Subnets"}) == ["a", "b"]
    assert found.value({"Fn::Select": [1, {"Ref": "Subnets"}]}) == "b"
    assert Assumption("T", "Count", "2").describe("T") == "Count=2, its default"
    assert Assumption("T", "Count", "2").describe("U") == "Count=2, its default in T"


def test_given_values_win_and_rest_on_no_default() -> None:
    found = Resolver("T", PARAMETERS_BODY, "Stack", given={"Count": "5", "Open": "x"})
    assert found.tracked({"Ref": "Count"}) == ("5", frozenset())
    assert found.value({"Ref": "Open"}) == "x"


def test_parameters_without_a_value_say_how_to_give_one() -> None:
    found = resolver(PARAMETERS_BODY)
    unknown = found.value({"Ref": "Open"})
    assert unknown == Unknown("parameter Open of T has no default and no value was given")
    assert found.notes.remedies[unknown.reason] == "pass --parameter Open=VALUE (the port-plan CLI)"
    ssm = found.value({"Ref": "Ami"})
    assert isinstance(ssm, Unknown) and "read from SSM parameter '/aws/ami' at deployment" in ssm.reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IsProd", True),
        ("IsDev", False),
        ("Two", True),  # Fn::Equals compares 2 and the string "2" as CloudFormation does
        ("ProdOrOpen", True),  # one true operand decides Fn::Or, the unknown one does not matter
        ("DevAndOpen", False),  # one false operand decides Fn::And
    ],
)
def test_conditions_evaluate_from_parameter_values(name: str, expected: bool) -> None:
    assert resolver(PARAMETERS_BODY).condition(name) is expected


def test_conditions_stay_unknown_when_a_value_is_missing() -> None:
    found = resolver(PARAMETERS_BODY)
    unknown = found.condition("ProdAndOpen")
    assert isinstance(unknown, Unknown)
    assert "parameter Open of T has no default and no value was given" in unknown.reason
    assert isinstance(found.condition("Loop"), Unknown)
    assert found.value({"Fn::If": ["ProdAndOpen", 1, 2]}) == unknown


def test_each_condition_is_evaluated_once_per_template(monkeypatch: pytest.MonkeyPatch) -> None:
    found = resolver(PARAMETERS_BODY)
    calls: list[Any] = []
    original = Resolver._truth

    def counted(self: Resolver, node: Any, depth: int) -> Any:
        calls.append(node)
        return original(self, node, depth)

    monkeypatch.setattr(Resolver, "_truth", counted)
    for _ in range(5):
        assert found.condition("IsDev") is False
        assert found.value({"Fn::If": ["IsProd", "a", "b"]}) == "a"
    assert calls.count(PARAMETERS_BODY["Conditions"]["IsProd"]) == 1


def test_fn_if_takes_its_branch_and_no_value_reads_as_absent() -> None:
    found = resolver(PARAMETERS_BODY)
    assert found.value({"Fn::If": ["IsDev", 1, {"Ref": "AWS::NoValue"}]}) is None
    items = [1, {"Fn::If": ["IsDev", 2, {"Ref": "AWS::NoValue"}]}, {"Fn::If": ["IsProd", {"A": 3}, 4]}]
    assert found.list_of(items) == [1, {"A": 3}]
    assert found.mapping({"Fn::If": ["IsProd", {"A": 1}, {"B": 2}]}) == {"A": 1}


def test_resources_whose_condition_is_false_are_left_out() -> None:
    stack = static_ports_by_condition()
    plan = build_model([stack.loaded()])
    assert ("Stack.template.json", "Prod") in plan.services
    assert ("Stack.template.json", "Dev") not in plan.services
    dev = build_model([stack.loaded()], ParameterValues.parse(["Env=dev"]))
    assert set(dev.services) == {("Stack.template.json", "Dev")}


def test_a_resource_whose_condition_is_unknown_is_not_counted_as_certain() -> None:
    stack = static_ports_by_condition()
    stack.resources["Prod"]["Condition"] = "OpenIsX"
    plan = build_model([stack.loaded()])
    desired = plan.services[("Stack.template.json", "Prod")].desired_count
    assert isinstance(desired, Unknown) and "whether Prod is created depends on condition OpenIsX" in desired.reason


def static_ports_by_condition() -> Stack:
    """Two services on 8080 that exclude each other by condition, on 2 instances."""
    stack = static_app(tasks=2, instances=2)
    stack.parameters.update(copy.deepcopy(PARAMETERS_BODY["Parameters"]))
    stack.conditions = copy.deepcopy(PARAMETERS_BODY["Conditions"])
    stack.resources["Prod"] = stack.resources.pop("Service")
    stack.resources["Prod"]["Condition"] = "IsProd"
    stack.service("Dev", "Task", desired=2)
    stack.resources["Dev"]["Condition"] = "IsDev"
    return stack


def test_mutually_exclusive_services_are_not_both_counted() -> None:
    assert check(static_ports_by_condition()) == []


# -- cross-stack references and nested stacks --------------------------------------------------------


def test_weak_cross_stack_references_resolve_through_stack_outputs() -> None:
    # GIVEN what CDK writes with @aws-cdk/core:defaultCrossStackReferences=weak
    net = Stack("Net")
    net.cluster()
    net.capacity(min_size=2)
    net.outputs["PublishOutputRefCluster"] = {"Value": ref("Cluster")}
    app = Stack("App")
    app.task("Task", [(80, 8080, "tcp")])
    cluster = {
        "Fn::GetStackOutput": {"StackName": "Net", "Region": {"Ref": "AWS::Region"}, "OutputName": "PublishOutputRefCluster"}
    }
    app.service("Service", "Task", desired=5, cluster=cluster)
    plan = build_model([app.loaded(), net.loaded()])
    assert plan.services[("App.template.json", "Service")].cluster == ("Net.template.json", "Cluster")
    assert [f.rule for f in check(app, net)] == ["static-port-overcommit"]
    alone = build_model([app.loaded()]).services[("App.template.json", "Service")].cluster
    assert alone == Unknown("stack 'Net' is not among the templates given")


def test_streaming_detects_a_stack_output_read_before_its_stack(tmp_path: Path) -> None:
    net = Stack("Net")
    net.cluster()
    net.outputs["C"] = {"Value": ref("Cluster")}
    app = Stack("App")  # App sorts first in the directory
    app.task("Task", [(80, 8080, "tcp")])
    app.service("Service", "Task", cluster={"Fn::GetStackOutput": {"StackName": "Net", "OutputName": "C"}})
    net.write(tmp_path)
    app.write(tmp_path)
    with pytest.raises(TemplatesOutOfOrder):
        build_model(iter_templates([str(tmp_path)]))
    service = plan_paths([str(tmp_path)]).services[(str(tmp_path / "App.template.json"), "Service")]
    assert service.cluster == (str(tmp_path / "Net.template.json"), "Cluster")


def nested(parent: Stack, child: Stack, resource: str = "Child", parameters: Any = None) -> list[LoadedTemplate]:
    """A parent naming `child` through stack resource `resource`, as the reader links them."""
    properties: dict[str, Any] = {"TemplateURL": f"https://s3.amazonaws.com/b/{child.name}.template.json"}
    if parameters is not None:
        properties["Parameters"] = parameters
    parent.add(resource, "AWS::CloudFormation::Stack", properties)
    loaded = child.loaded()
    return [
        parent.loaded(),
        LoadedTemplate(loaded.name, loaded.path, loaded.body, f"{parent.name}/{resource}", parent.loaded().name, resource),
    ]


def test_nested_stack_parameters_and_outputs_flow_both_ways() -> None:
    # GIVEN the cluster in the parent, the service in the child; the child's count from the parent
    parent = Stack("Parent")
    parent.cluster()
    parent.capacity(min_size=2)
    child = Stack("Child")
    child.parameters.update({"Cluster": {"Type": "String"}, "Count": {"Type": "Number", "Default": 1}})
    child.task("Task", [(80, 8080, "tcp")])
    child.service("Service", "Task", desired=ref("Count"), cluster=ref("Cluster"))
    child.outputs["ServiceName"] = {"Value": att("Service", "Name")}
    templates = nested(parent, child, parameters={"Cluster": ref("Cluster"), "Count": "3"})
    plan = build_model(templates)
    service = plan.services[("Child.template.json", "Service")]
    assert (service.cluster, service.desired_count) == (("Parent.template.json", "Cluster"), 3)
    assert [f.rule for f in run_rules(plan)] == ["static-port-overcommit"]
    parent_resolver = Resolver("Parent.template.json", parent.body(), "Parent")
    assert isinstance(parent_resolver.value({"Fn::GetAtt": ["Child", "Outputs.ServiceName"]}), Unknown)


def test_nested_stack_defaults_are_noted_against_the_child() -> None:
    parent = Stack("Parent")
    parent.parameters["Count"] = {"Type": "Number", "Default": 3}
    parent.cluster()
    parent.capacity(min_size=2)
    child = Stack("Child")
    child.parameters.update({"Cluster": {"Type": "String"}, "Count": {"Type": "Number"}})
    child.task("Task", [(80, 8080, "tcp")])
    child.service("Service", "Task", desired=ref("Count"), cluster=ref("Cluster"))
    (finding,) = run_rules(build_model(nested(parent, child, parameters={"Cluster": ref("Cluster"), "Count": ref("Count")})))
    assert finding.message.endswith("(this assumes Count=3, its default in Parent.template.json)")


def test_a_nested_stack_whose_condition_is_false_is_not_read() -> None:
    parent = Stack("Parent")
    parent.conditions = {"Never": {"Fn::Equals": ["a", "b"]}}
    child = Stack("Child")
    child.cluster()
    templates = nested(parent, child)
    templates[0].body["Resources"]["Child"]["Condition"] = "Never"
    assert build_model(templates).clusters == {}


# -- ECS agent settings: where ECS_CLUSTER comes from -------------------------------------------------


def asg_with(user_data: Any, metadata: Any = None) -> AutoScalingGroupEntity:
    stack = Stack()
    stack.cluster()
    stack.capacity()
    template = stack.resources["AsgTemplate"]
    template["Properties"]["LaunchTemplateData"]["UserData"] = user_data
    if metadata is not None:
        template["Metadata"] = {"AWS::CloudFormation::Init": metadata}
    return build_model([stack.loaded()]).auto_scaling_groups[("Stack.template.json", "Asg")]


CLUSTER = ("Stack.template.json", "Cluster")


def test_a_heredoc_into_another_file_does_not_override_ecs_config() -> None:
    # what ecs-refarch-mixed-mode writes: the agent's cluster read back into an upstart job's variable
    text = (
        "#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"
        "cat <<EOF > /etc/init/spot-handler.conf\nscript\n"
        "ECS_CLUSTER=\\$(curl -s http://localhost:51678/v1/metadata | jq .Cluster)\nend script\nEOF\n"
    )
    assert asg_with({"Fn::Base64": {"Fn::Sub": text}}).cluster == CLUSTER


def test_a_later_write_into_ecs_config_wins_and_a_truncating_one_starts_afresh() -> None:
    text = (
        "#!/bin/bash\necho ECS_CLUSTER=other >> /etc/ecs/ecs.config\n"
        "echo ECS_RESERVED_PORTS=[22] >> /etc/ecs/ecs.config\n"
        "echo ECS_CLUSTER=${Cluster} > /etc/ecs/ecs.config\n"
    )
    group = asg_with({"Fn::Base64": {"Fn::Sub": text}})
    assert (group.cluster, group.reserved_tcp) == (CLUSTER, None)


def test_a_shell_variable_as_cluster_is_unknown() -> None:
    group = asg_with({"Fn::Base64": '#!/bin/bash\necho "ECS_CLUSTER=$NAME" >> /etc/ecs/ecs.config\n'})
    assert isinstance(group.cluster, Unknown) and "computes when it boots" in group.cluster.reason


def test_user_data_cloud_init_does_not_run_sets_nothing() -> None:
    group = asg_with({"Fn::Base64": {"Fn::Sub": "echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"}})
    assert group.cluster is None and group.meant_for == CLUSTER
    assert group.skipped is not None and "cloud-init" in group.skipped and "cluster named default" in group.skipped
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = {
        "Fn::Base64": {"Fn::Sub": "echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"}
    }
    stack.task("Task", [(80, 8080, "tcp")])
    stack.service("Service", "Task", desired=1)
    (finding,) = check(stack)
    assert finding.rule == "unverifiable"
    assert "Auto Scaling group Stack/Asg/ASG names cluster Stack/Cluster, but its user data does not start with #!" in (
        finding.message
    )


@pytest.mark.parametrize(
    "user_data",
    [
        {"Fn::Base64": {"Fn::Sub": "#cloud-config\nwrite_files:\n  - path: /etc/ecs/ecs.config\n    content: |\n      ECS_CLUSTER=${Cluster}\n"}},
        {
            "Fn::Base64": {
                "Fn::Sub": "Content-Type: multipart/mixed; boundary=\"B\"\nMIME-Version: 1.0\n\n--B\n"
                "Content-Type: text/x-shellscript\n\n#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n--B--\n"
            }
        },
    ],
    ids=["cloud-config", "mime"],
)
def test_cloud_init_formats_are_read(user_data: Any) -> None:
    assert asg_with(user_data).cluster == CLUSTER


CFN_INIT_USER_DATA = {
    "Fn::Base64": {
        "Fn::Sub": "#!/bin/bash\n/opt/aws/bin/cfn-init -v --stack ${AWS::StackName} --resource AsgTemplate "
        "--region ${AWS::Region}\n"
    }
}


@pytest.mark.parametrize(
    "metadata",
    [
        {"config": {"commands": {"01_join": {"command": {"Fn::Sub": "echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config"}}}}},
        {"config": {"files": {"/etc/ecs/ecs.config": {"content": {"Fn::Join": ["", ["ECS_CLUSTER=", ref("Cluster")]]}}}}},
        {
            "configSets": {"full": ["base", {"ConfigSet": "more"}], "more": ["join"]},
            "base": {"commands": {"a": {"command": "echo hello"}}},
            "join": {"commands": {"b": {"command": {"Fn::Sub": "echo ECS_CLUSTER=${Cluster} > /etc/ecs/ecs.config"}}}},
        },
    ],
    ids=["command", "file", "configsets"],
)
def test_cfn_init_metadata_names_the_cluster(metadata: Any) -> None:
    user_data = CFN_INIT_USER_DATA
    if "configSets" in metadata:
        user_data = copy.deepcopy(user_data)
        user_data["Fn::Base64"]["Fn::Sub"] = user_data["Fn::Base64"]["Fn::Sub"].replace("--region", "-c full --region")
    assert asg_with(user_data, metadata).cluster == CLUSTER


def test_cfn_init_metadata_the_user_data_does_not_run_sets_nothing() -> None:
    metadata = {"config": {"commands": {"01_join": {"command": {"Fn::Sub": "echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config"}}}}}
    assert asg_with({"Fn::Base64": "#!/bin/bash\necho hello\n"}, metadata).cluster is None


def test_reserved_ports_replace_the_agents_defaults() -> None:
    group = asg_with({"Fn::Base64": {"Fn::Sub": "#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\necho 'ECS_RESERVED_PORTS=[2375, 2376, 51678, 51679]' >> /etc/ecs/ecs.config\n"}})
    assert group.reserved_tcp == (2375, 2376, 51678, 51679)
    assert asg_with({"Fn::Base64": "#!/bin/bash\n"}).reserved_tcp is None


def test_a_code_deploy_service_finds_its_task_definition_by_family() -> None:
    stack = static_app(tasks=2, instances=2)
    stack.props("Task")["Family"] = "web-family"
    stack.props("Service")["TaskDefinition"] = "web-family"
    stack.props("Service")["DeploymentController"] = {"Type": "CODE_DEPLOY"}
    plan = build_model([stack.loaded()])
    assert plan.services[("Stack.template.json", "Service")].task_definition == ("Stack.template.json", "Task")
    stack.props("Service")["TaskDefinition"] = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web-family:7"
    plan = build_model([stack.loaded()])
    assert plan.services[("Stack.template.json", "Service")].task_definition == ("Stack.template.json", "Task")


# -- any JSON value anywhere ------------------------------------------------------------------------------

any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-70000, 70000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(["AWS::ECS::Service", "AWS::CloudFormation::Stack", "IsProd", "Count", "tcp"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["Ref", "Fn::GetAtt", "Fn::If", "Fn::Sub", "Fn::Join", "Fn::Equals", "Fn::GetStackOutput",
                 "Fn::ImportValue", "Condition", "Type", "Properties", "x"]
            ),
            children,
            max_size=2,
        )
    ),
    max_leaves=6,
)


def rich_templates() -> list[LoadedTemplate]:
    """A parent with parameters, conditions, cfn-init and a nested child: every place a value is read."""
    parent = full_app()
    parent.name = "Parent"
    parent.parameters.update(copy.deepcopy(PARAMETERS_BODY["Parameters"]))
    parent.conditions = copy.deepcopy(PARAMETERS_BODY["Conditions"])
    parent.resources["Daemon"]["Condition"] = "IsProd"
    parent.props("Service")["DesiredCount"] = {"Fn::If": ["IsProd", ref("Count"), 1]}
    parent.resources["AsgTemplate"]["Metadata"] = {
        "AWS::CloudFormation::Init": {"config": {"commands": {"a": {"command": "echo ECS_CLUSTER=c >> /etc/ecs/ecs.config"}}}}
    }
    parent.outputs["Out"] = {"Value": ref("Cluster"), "Export": {"Name": "Parent:Cluster"}}
    child = Stack("Child")
    child.parameters.update({"Cluster": {"Type": "String"}, "Count": {"Type": "Number", "Default": 1}})
    child.task("Task", [(80, 8080, "tcp")])
    child.service("Service", "Task", desired=ref("Count"), cluster=ref("Cluster"))
    child.outputs["Name"] = {"Value": att("Service", "Name")}
    return nested(parent, child, parameters={"Cluster": ref("Cluster"), "Count": ref("Count")})


def any_paths(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every key of every resource (Type, Condition, Metadata, Properties and below), and of the
    Parameters, Conditions and Outputs sections."""
    return [
        (section, *path)
        for section in ("Resources", "Parameters", "Conditions", "Outputs")
        for path in property_paths(body.get(section, {}))
        if path
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_json_value_at_any_key_never_raises(data: st.DataObject) -> None:
    from constructs_lib.portplan.diagram import build_diagram
    from constructs_lib.portplan.plan import Sources, build_plan

    templates = rich_templates()
    index = data.draw(st.integers(0, len(templates) - 1))
    body = copy.deepcopy(templates[index].body)
    paths = any_paths(body)
    for _ in range(data.draw(st.integers(1, 4))):
        try:
            body = replaced(body, data.draw(st.sampled_from(paths)), data.draw(any_json))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed the parent
    templates[index] = dataclasses.replace(templates[index], body=body)
    plan = build_model(templates)
    findings = run_rules(plan)
    build_plan(plan, {t.name: t.stack_name for t in templates})
    build_diagram(plan, Sources({t.name: t.stack_name for t in templates}), findings)


def test_a_resource_type_that_is_no_string_is_skipped() -> None:
    stack = static_app(tasks=3, instances=2)
    stack.resources["Odd"] = {"Type": {"Ref": "X"}, "Properties": {}}
    stack.resources["Odder"] = {"Type": ["AWS::ECS::Service"]}
    assert [f.rule for f in check(stack)] == ["static-port-overcommit"]


def test_bottlerocket_settings_name_the_cluster() -> None:
    user_data = {"Fn::Base64": {"Fn::Sub": '[settings.ecs]\ncluster = "${Cluster}"\n\n[settings.host-containers.admin]\nenabled = false\n'}}
    assert asg_with(user_data).cluster == CLUSTER
# -- what ECS schedules beyond the desired count ---------------------------------------------------------


def test_scalable_target_links_to_its_service() -> None:
    # GIVEN CDK's ResourceId (Fn::Join of the cluster Ref and the service's Name) and a literal one
    stack = Stack()
    stack.cluster()
    stack.props("Cluster")["ClusterName"] = "shop"
    stack.task("Task")
    stack.service("Web", "Task", desired=2)
    stack.service("Api", "Task", desired=1)
    stack.props("Api")["ServiceName"] = "api"
    stack.scaling("Web", 2, 10)
    literal = stack.scaling("Api", 1, 3)
    stack.props(literal)["ResourceId"] = "service/shop/api"
    stack.props(literal)["ScheduledActions"] = [
        {"ScheduledActionName": "peak", "Schedule": "cron(0 8 * * ? *)", "ScalableTargetAction": {"MaxCapacity": 6}}
    ]
    stack.add("Other", "AWS::ApplicationAutoScaling::ScalableTarget", {"ServiceNamespace": "dynamodb"})
    plan = build_model([stack.loaded()])
    web, api = ("Stack.template.json", "Web"), ("Stack.template.json", "Api")
    # THEN each service has its range, a scheduled action raising the maximum counts, other namespaces do not
    assert (plan.scaling[web].min_capacity, plan.scaling[web].max_capacity) == (2, 10)
    assert plan.scaling[api].max_capacity == 6
    assert len(plan.scalable_targets) == 2


@pytest.mark.parametrize(
    ("resource_id", "reason"),
    [
        ({"Ref": "Param"}, "parameter Param"),
        ("service/shop/missing", "service 'missing' of its ResourceId is not defined"),
        ("table/shop", "is not service/<cluster>/<service>"),
        ({"Fn::Join": ["", ["service/", {"Ref": "Cluster"}, "/", {"Ref": "Cluster"}]]}, "not an ECS service"),
    ],
)
def test_scalable_target_whose_service_is_unknown(resource_id: Any, reason: str) -> None:
    stack = Stack()
    stack.parameters["Param"] = {"Type": "String"}
    stack.cluster()
    target = stack.scaling("Web", 1, 2)
    stack.props(target)["ResourceId"] = resource_id
    plan = build_model([stack.loaded()])
    service = plan.scalable_targets[("Stack.template.json", target)].service
    assert isinstance(service, Unknown) and reason in service.reason
    assert plan.scaling == {}


def test_placement_constraints_and_deployments_are_read() -> None:
    stack = Stack()
    stack.task("Task")
    stack.props("Task")["PlacementConstraints"] = [{"Type": "memberOf", "Expression": "attribute:ecs.os-type == linux"}]
    stack.service("Spread", "Task", constraints=[{"Type": "distinctInstance"}], controller="CODE_DEPLOY")
    stack.service(
        "Picky",
        "Task",
        constraints=[{"Type": "memberOf", "Expression": {"Fn::Sub": "attribute:tier == ${AWS::StackName}"}}],
        deployment_strategy="linear",
    )
    plan = build_model([stack.loaded()])
    spread = plan.services[("Stack.template.json", "Spread")]
    picky = plan.services[("Stack.template.json", "Picky")]
    assert (spread.distinct_instance, spread.deployment, spread.blue_green, spread.rolling) == (
        True,
        "CODE_DEPLOY",
        True,
        False,
    )
    assert (picky.member_of, picky.deployment, picky.blue_green) == (("attribute:tier == Stack",), "LINEAR", True)
    assert plan.task_definitions[("Stack.template.json", "Task")].member_of == ("attribute:ecs.os-type == linux",)


def test_member_of_narrows_the_pool() -> None:
    # GIVEN a t3 group and a Graviton group in one cluster, and services asking for one architecture
    stack = Stack()
    stack.cluster()
    stack.capacity("Intel", min_size=2)
    stack.capacity("Graviton", min_size=3)
    stack.props("GravitonTemplate")["LaunchTemplateData"]["InstanceType"] = "t4g.small"
    stack.task("Task", [(80, 8080, "tcp")])
    stack.props("Task")["PlacementConstraints"] = [
        {"Type": "memberOf", "Expression": "attribute:ecs.cpu-architecture == arm64"}
    ]
    stack.service("Arm", "Task")
    stack.task("Any", [(80, 8081, "tcp")])
    stack.service("Run", "Any", constraints=[{"Type": "memberOf", "Expression": "agentVersion >= 1.70.0"}])
    plan = build_model([stack.loaded()])
    arm = plan.pools[("Stack.template.json", "Arm")]
    run = plan.pools[("Stack.template.json", "Run")]
    # THEN the task definition's constraint keeps the Graviton group only; an undecidable one opens the pool
    assert [m.asg[1] for m in arm.members] == ["Graviton"] and arm.excluded == (("Stack.template.json", "Intel"),)
    assert (arm.low, arm.high) == (3, 3)
    assert run.members == () and run.high is None
    assert any("agentVersion >= 1.70.0" in doubt for doubt in run.doubts)
    assert plan.landing[("Stack.template.json", "Task")] == frozenset({("Stack.template.json", "Graviton")})


def test_instance_attributes_and_zones_are_read() -> None:
    stack = Stack()
    stack.cluster()
    stack.capacity(settings=["ECS_INSTANCE_ATTRIBUTES={\\\"tier\\\":\\\"web\\\"}"])
    stack.add("SubnetA", "AWS::EC2::Subnet", {"AvailabilityZone": "eu-west-1a"})
    stack.add("SubnetB", "AWS::EC2::Subnet", {"AvailabilityZone": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}})
    stack.props("Asg")["VPCZoneIdentifier"] = [ref("SubnetA")]
    stack.capacity("Other")
    stack.props("Other")["VPCZoneIdentifier"] = [ref("SubnetA"), ref("SubnetB")]
    plan = build_model([stack.loaded()])
    group = plan.auto_scaling_groups[("Stack.template.json", "Asg")]
    assert group.attributes == {"tier": "web"}
    assert group.availability_zones == ("eu-west-1a",)
    assert isinstance(plan.auto_scaling_groups[("Stack.template.json", "Other")].availability_zones, Unknown)


WINDOWS_USER_DATA = (
    '<powershell>Import-Module ECSTools\n[Environment]::SetEnvironmentVariable("ECS_CLUSTER", "'
)


def test_windows_powershell_user_data() -> None:
    # GIVEN user data as CDK writes it for EcsOptimizedImage.windows(): PowerShell environment variables
    stack = Stack()
    stack.cluster()
    stack.capacity()
    stack.props("AsgTemplate")["LaunchTemplateData"]["UserData"] = {
        "Fn::Base64": {
            "Fn::Join": [
                "",
                [
                    WINDOWS_USER_DATA,
                    ref("Cluster"),
                    "\", \"Machine\")\n[Environment]::SetEnvironmentVariable('ECS_RESERVED_PORTS', '[8081]', 'Machine')"
                    "\nInitialize-ECSAgent -Cluster '",
                    ref("Cluster"),
                    "' -EnableTaskIAMRole</powershell>",
                ],
            ]
        }
    }
    group = build_model([stack.loaded()]).auto_scaling_groups[("Stack.template.json", "Asg")]
    # THEN the settings read like Linux ones, with Windows' dynamic range and reserved ports (80 for task roles)
    assert group.cluster == ("Stack.template.json", "Cluster")
    assert (group.os_type, group.dynamic_range, group.reserved_tcp) == ("windows", (49152, 65535), (8081,))
    assert 3389 in group.agent_reserved and 80 in group.agent_reserved and 22 not in group.agent_reserved


def test_windows_ami_from_its_ssm_parameter_and_initialize_agent() -> None:
    stack = Stack()
    stack.parameters["Ami"] = {
        "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
        "Default": "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-ECS_Optimized/image_id",
    }
    stack.cluster()
    stack.capacity()
    data = stack.props("AsgTemplate")["LaunchTemplateData"]
    data["ImageId"] = ref("Ami")
    data["UserData"] = {"Fn::Base64": {"Fn::Join": ["", ["Initialize-ECSAgent -Cluster ", ref("Cluster")]]}}
    group = build_model([stack.loaded()]).auto_scaling_groups[("Stack.template.json", "Asg")]
    assert (group.os_type, group.cluster, group.dynamic_range) == (
        "windows",
        ("Stack.template.json", "Cluster"),
        (49152, 65535),
    )
    assert 80 not in group.agent_reserved  # no task IAM roles


def test_listeners_scheme_and_client_ip_preservation() -> None:
    stack = Stack()
    target = stack.balancer("Nlb", kind="network", security_group=False, scheme="internal")
    stack.props(target)["TargetGroupAttributes"] = [{"Key": "preserve_client_ip.enabled", "Value": "false"}]
    stack.props(target)["HealthCheckProtocol"] = "http"
    plan = build_model([stack.loaded()])
    group = plan.target_groups[("Stack.template.json", target)]
    balancer = plan.load_balancers[("Stack.template.json", "Nlb")]
    assert (balancer.kind, balancer.scheme, balancer.security_groups) == ("network", "internal", None)
    assert [(l.port, l.protocol, l.load_balancer) for l in group.listeners] == [(80, "TCP", balancer.origin.key)]
    assert (group.preserve_client_ip, group.health_check_protocol) == (False, "HTTP")


def test_container_port_ranges() -> None:
    stack = Stack()
    ranged = {"Name": "web", "Image": "x", "PortMappings": [{"ContainerPortRange": "8000-8099"}]}
    odd = {"Name": "odd", "Image": "x", "PortMappings": [{"ContainerPortRange": "many"}]}
    stack.task("Bridge", containers=[ranged, odd])
    definition = build_model([stack.loaded()]).task_definitions[("Stack.template.json", "Bridge")]
    assert [m.port_range for m in definition.mappings] == [(8000, 8099), Unknown("containerPortRange 'many' is not a range of port numbers")]
    assert [definition.host_port(m) for m in definition.mappings] == [0, 0]  # contiguous dynamic host ports
    assert definition.doubts == () and definition.static_ports == frozenset()


# -- bounded resolution ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", 42), (" 42 ", 42), ("-3", -3), ("+3", 3), ("٣", None), ("1_000", None), ("4e2", None), ("7" * 4301, None)],
)
def test_numbers_are_read_as_cloudformation_reads_them(text: str, expected: int | None) -> None:
    value = as_int(text)
    if expected is None:
        assert isinstance(value, Unknown) and "is not a number" in value.reason
    else:
        assert value == expected


def test_a_mapping_entry_used_twice_notes_its_defaults_each_time() -> None:
    # GIVEN an entry resting on a parameter default, read for two resources
    body = {
        "Parameters": {"Count": {"Type": "Number", "Default": "3"}},
        "Mappings": {"M": {"K": {"V": {"Fn::Join": ["", [{"Ref": "Count"}]]}}}},
    }
    found = resolver(body)
    found.notes = Notes()
    lookup = {"Fn::FindInMap": ["M", "K", "V"]}
    for logical_id in ("A", "B"):
        found.notes.focus = ("T", logical_id)
        assert found.value(lookup) == "3"
    # THEN both are known to rest on it, though the entry was resolved once
    assumption = Assumption("T", "Count", "3")
    assert found.notes.assumed == {("T", "A"): {assumption}, ("T", "B"): {assumption}}
    assert list(found._mapped) == [("M", "K", "V")]


def test_a_mapping_entry_that_reads_itself_is_unknown() -> None:
    found = resolver({"Mappings": {"M": {"K": {"V": {"Fn::Join": ["", [{"Fn::FindInMap": ["M", "K", "V"]}]]}}}}})
    value = found.value({"Fn::FindInMap": ["M", "K", "V"]})
    assert value == Unknown("Fn::FindInMap M/K/V refers to itself")


def test_a_condition_chain_within_the_depth_is_decided_and_beyond_it_unknown() -> None:
    def chain(length: int) -> Resolver:
        conditions: dict[str, Any] = {"C0": {"Fn::Equals": ["a", "a"]}}
        for index in range(1, length):
            conditions[f"C{index}"] = {"Fn::Not": [{"Condition": f"C{index - 1}"}]}
        return resolver({"Conditions": conditions})

    assert chain(10).condition("C9") is False
    deep = chain(5000).condition("C4999")
    assert isinstance(deep, Unknown)
    assert deep.reason.endswith("is unknown: conditions nest too deeply")


def test_text_is_built_up_to_its_bound() -> None:
    from constructs_lib.portplan.intrinsics import MAX_TEXT

    found = resolver({})
    assert found.value({"Fn::Join": ["", ["x" * (MAX_TEXT - 1), "y"]]}) == "x" * (MAX_TEXT - 1) + "y"
    too_long = found.value({"Fn::Join": ["", ["x" * MAX_TEXT, "y"]]})
    assert too_long == Unknown("Fn::Join builds a text longer than 1,000,000 characters")
    assert found.value({"Fn::Sub": ["${A}${A}", {"A": "x" * (MAX_TEXT // 2 + 1)}]}) == Unknown(
        "Fn::Sub builds a text longer than 1,000,000 characters"
    )


def test_a_sub_variable_named_often_is_rendered_once() -> None:
    node: Any = "x"
    for _ in range(30):  # 4**30 pieces if each use were rendered again
        node = {"Fn::Sub": ["${V}${V}${V}${V}", {"V": node}]}
    assert resolver({}).value(node) == Unknown("Fn::Sub builds a text longer than 1,000,000 characters")
    small = {"Fn::Sub": ["${V}-${V}", {"V": {"Fn::Sub": ["${W}${W}", {"W": "ab"}]}}]}
    assert resolver({}).value(small) == "abab-abab"


def test_an_export_defined_twice_too_deep_to_compare_is_ambiguous() -> None:
    def deep(levels: int) -> Any:
        value: Any = "x"
        for _ in range(levels):
            value = [value]
        return value

    def exported(levels: int) -> ExportTable:
        table = ExportTable()
        outputs = {name: {"Value": deep(levels), "Export": {"Name": "Shared"}} for name in ("One", "Two")}
        table.add(Resolver("T", {}, "T"), outputs)  # one template exporting the same name twice
        return table

    assert exported(5).resolve("Shared", Notes())[0] == deep(5)  # equal values: one export
    assert exported(5000).resolve("Shared", Notes())[0] == Unknown("export 'Shared' is defined by several templates")


def test_conditions_chained_through_joined_branches_stay_within_the_depth() -> None:
    # GIVEN 5,000 conditions, each comparing a Fn::Join of a Fn::If on the one before
    conditions: dict[str, Any] = {"C0": {"Fn::Equals": ["a", "a"]}}
    for index in range(1, 5000):
        joined = {"Fn::Join": ["", [{"Fn::If": [f"C{index - 1}", "a", "b"]}]]}
        conditions[f"C{index}"] = {"Fn::Equals": [joined, "a"]}
    found = resolver({"Conditions": conditions})
    # THEN the last is unknown (too deep), without a RecursionError; a short chain is decided
    assert isinstance(found.condition("C4999"), Unknown)
    assert found.condition("C5") is True

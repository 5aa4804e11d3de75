"""BridgeService: capacity provider placement, ECS Exec, circuit breaker, deployment percentages."""

import math

import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match, Template
from hypothesis import given, strategies as st

from constructs_lib import BridgeCluster, BridgeService, BridgeTaskDefinition, BridgeVpc, PortMapping
from constructs_lib.service import deployment_deadlocks, rolling_percentages
from tests.conftest import make_app

IMAGE = ecs.ContainerImage.from_registry("nginx:alpine")


def build(mapping, *, instances=2, app=None, **service_props):
    import aws_cdk as cdk

    app = app or make_app()
    stack = cdk.Stack(app, "Test")
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc, min_capacity=instances, max_capacity=instances)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[mapping])
    service = BridgeService(stack, "Service", cluster=capacity, task_definition=web, **service_props)
    return app, stack, service


@pytest.fixture(scope="module")
def static_template():
    _, stack, _ = build(PortMapping(80, host_port=8080), desired_count=2)
    return Template.from_stack(stack)


def test_placed_through_the_capacity_provider_with_exec_and_rollback(static_template):
    static_template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "CapacityProviderStrategy": [Match.object_like({"Weight": 1})],
            "EnableExecuteCommand": True,
            "DesiredCount": 2,
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}}
            ),
        },
    )
    service = next(iter(static_template.find_resources("AWS::ECS::Service").values()))
    assert "LaunchType" not in service["Properties"]


def test_static_port_service_can_deploy_without_a_spare_instance(static_template):
    # 2 tasks on 2 instances: the rollout must stop one old task before it starts a new one
    static_template.has_resource_properties(
        "AWS::ECS::Service",
        {"DeploymentConfiguration": Match.object_like({"MinimumHealthyPercent": 50, "MaximumPercent": 100})},
    )


def test_task_role_gets_ecs_exec_channels(static_template):
    static_template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["ssmmessages:CreateControlChannel"])})]
                )
            }
        },
    )


def test_dynamic_port_service_keeps_ecs_defaults():
    _, stack, _ = build(PortMapping(80), desired_count=4)
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECS::Service",
        {"DeploymentConfiguration": Match.object_like({"MinimumHealthyPercent": 100, "MaximumPercent": 200})},
    )


@pytest.mark.parametrize("desired, expected", [(1, (0, 100)), (2, (50, 100)), (3, (66, 100)), (4, (75, 100))])
def test_rolling_percentages_for_static_ports(desired, expected):
    assert rolling_percentages(desired, static_ports=True) == expected


@given(desired=st.integers(min_value=1, max_value=500))
def test_static_percentages_always_let_one_task_stop_first(desired):
    minimum, maximum = rolling_percentages(desired, static_ports=True)
    # the largest whole percentage whose rounded-up healthy count still lets one task stop
    assert math.ceil(desired * minimum / 100) < desired <= math.ceil(desired * (minimum + 1) / 100)
    assert not deployment_deadlocks(desired, minimum, maximum, spare_instances=0)


def test_ecs_defaults_deadlock_without_a_spare_instance():
    assert deployment_deadlocks(2, 100, 200, spare_instances=0)
    assert not deployment_deadlocks(2, 100, 200, spare_instances=1)
    assert deployment_deadlocks(1, 50, 100, spare_instances=5)  # 1 task at 50 % still needs 1


def test_deadlocking_percentages_are_rejected():
    with pytest.raises(ValueError, match="would hang. Use min_healthy_percent=50, max_percent=100"):
        build(PortMapping(80, host_port=8080), desired_count=2, min_healthy_percent=100, max_percent=200)


def test_ecs_defaults_are_fine_with_a_spare_instance():
    build(PortMapping(80, host_port=8080), instances=3, desired_count=2, min_healthy_percent=100, max_percent=200)


@pytest.mark.parametrize(
    "props, message",
    [
        ({"desired_count": -1}, "desired_count must be >= 0"),
        ({"min_healthy_percent": 120}, "need 0 <= min_healthy_percent <= 100 <= max_percent"),
        ({"max_percent": 90}, "need 0 <= min_healthy_percent <= 100 <= max_percent"),
    ],
)
def test_bad_props_are_rejected(props, message):
    with pytest.raises(ValueError, match=message):
        build(PortMapping(80), **props)


def test_more_static_tasks_than_instances_fail_synth():
    app, _, _ = build(PortMapping(80, host_port=8080), instances=2, desired_count=3, min_healthy_percent=0)
    with pytest.raises(Exception, match=r"3 tasks need host port tcp/8080, but capacity .* has at most 2"):
        app.synth()


def test_static_mapping_added_after_the_service_fails_synth():
    app, _, service = build(PortMapping(80), desired_count=1)
    service.task_definition.add_port_mappings(PortMapping(443, host_port=8443))
    with pytest.raises(Exception, match="was mapped after the service was created"):
        app.synth()


# Tokens: a deploy-time desired count is carried as it is and its checks are left to the port
# plan; deploy-time percentages are refused.


def desired_parameter(app):
    """A stack whose desired count is a CloudFormation parameter, and that parameter's token."""
    import aws_cdk as cdk

    stack = cdk.Stack(app, "Test")
    return stack, cdk.CfnParameter(stack, "DesiredCount", type="Number", default=2).value_as_number


def build_in(stack, mapping, *, instances=2, **service_props):
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc, min_capacity=instances, max_capacity=instances)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[mapping])
    return BridgeService(stack, "Service", cluster=capacity, task_definition=web, **service_props)


def test_token_desired_count_with_dynamic_ports_keeps_ecs_defaults():
    app = make_app()
    stack, count = desired_parameter(app)
    build_in(stack, PortMapping(80), desired_count=count)
    app.synth()
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECS::Service",
        {
            "DesiredCount": {"Ref": "DesiredCount"},
            "DeploymentConfiguration": Match.object_like({"MinimumHealthyPercent": 100, "MaximumPercent": 200}),
        },
    )


def test_token_desired_count_with_static_ports_needs_explicit_percentages():
    app = make_app()
    stack, count = desired_parameter(app)
    with pytest.raises(ValueError) as error:
        build_in(stack, PortMapping(80, host_port=8080), desired_count=count)
    message = str(error.value)
    assert "desired_count is a deploy-time value (a token)" in message
    assert "static host port tcp/8080" in message and "pass min_healthy_percent and max_percent" in message
    assert "e+289" not in message


def test_token_desired_count_with_static_ports_leaves_the_fit_to_the_port_plan():
    # GIVEN one instance, static ports and a deploy-time count (which could be more than one)
    app = make_app()
    stack, count = desired_parameter(app)
    build_in(stack, PortMapping(80, host_port=8080), instances=1, desired_count=count,
             min_healthy_percent=0, max_percent=100)
    # WHEN the app synthesizes THEN the construct's own fit check does not guess: synth passes
    app.synth()
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECS::Service",
        {
            "DesiredCount": {"Ref": "DesiredCount"},
            "DeploymentConfiguration": Match.object_like({"MinimumHealthyPercent": 0, "MaximumPercent": 100}),
        },
    )


@pytest.mark.parametrize("prop", ["min_healthy_percent", "max_percent"])
def test_token_percentages_are_refused_as_deploy_time_values(prop):
    import aws_cdk as cdk

    app = make_app()
    stack = cdk.Stack(app, "Test")
    percent = cdk.CfnParameter(stack, "Percent", type="Number", default=100).value_as_number
    with pytest.raises(ValueError, match=f"{prop} is a deploy-time value \\(a token\\).*pass a number"):
        build_in(stack, PortMapping(80), **{prop: percent})


@pytest.mark.parametrize(
    "props, message",
    [({"desired_count": 2.5}, "desired_count must be a whole number, got 2.5"),
     ({"desired_count": True}, "desired_count must be a whole number, got True"),
     ({"max_percent": 150.0}, "max_percent must be a whole number, got 150.0")],
)
def test_counts_and_percentages_must_be_whole_numbers(props, message):
    with pytest.raises(ValueError, match=message):
        build(PortMapping(80), **props)

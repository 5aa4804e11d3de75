"""CDK apps for the port-plan rules: one stack per case, built with plain aws-ecs, aws-ecs-patterns
and L1 escape hatches (not this library), so the checks are shown to work on any CDK app.

Every rule has a ``<rule>-bad`` stack that must raise it and a ``<rule>-good`` stack that must not.
All cases live in one app so one synth (seconds of jsii) serves every test.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import aws_cdk as cdk
from aws_cdk import (
    aws_autoscaling as autoscaling,
    aws_ec2 as ec2,
    aws_ecs as ecs,
    aws_ecs_patterns as patterns,
    aws_elasticloadbalancingv2 as elbv2,
    aws_iam as iam,
)

IMAGE = ecs.ContainerImage.from_registry("nginx:alpine")
BREAKER = ecs.DeploymentCircuitBreaker(rollback=True)


def cluster_with_capacity(stack: cdk.Stack, *, instances: int = 2, managed_scaling: bool = False):
    """A plain aws-ecs cluster whose capacity is an AsgCapacityProvider of ``instances``."""
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1, restrict_default_security_group=False)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    group = autoscaling.AutoScalingGroup(
        stack,
        "Asg",
        vpc=vpc,
        instance_type=ec2.InstanceType("t3.small"),
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(),
        min_capacity=instances,
        max_capacity=instances + 2,
    )
    provider = ecs.AsgCapacityProvider(
        stack,
        "Provider",
        auto_scaling_group=group,
        enable_managed_scaling=managed_scaling,
        enable_managed_termination_protection=False,
    )
    cluster.add_asg_capacity_provider(provider)
    return cluster, provider, group


def service(stack, cluster, provider, task_definition, *, desired=1, min_healthy=0, max_percent=100, id="Service"):
    return ecs.Ec2Service(
        stack,
        id,
        cluster=cluster,
        task_definition=task_definition,
        desired_count=desired,
        min_healthy_percent=min_healthy,
        max_healthy_percent=max_percent,
        circuit_breaker=BREAKER,
        capacity_provider_strategies=[
            ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)
        ],
    )


def task(stack, *mappings, id="Task", network_mode=ecs.NetworkMode.BRIDGE, memory=128):
    definition = ecs.Ec2TaskDefinition(stack, id, network_mode=network_mode)
    container = definition.add_container("web", image=IMAGE, memory_limit_mib=memory)
    for container_port, host_port in mappings:
        container.add_port_mappings(ecs.PortMapping(container_port=container_port, host_port=host_port))
    return definition


def static_service(stack, *, instances=2, desired=2, host_port=8080, min_healthy=0, max_percent=100):
    cluster, provider, _ = cluster_with_capacity(stack, instances=instances)
    return service(stack, cluster, provider, task(stack, (80, host_port)), desired=desired,
                   min_healthy=min_healthy, max_percent=max_percent)


def overcommit(stack, bad):
    static_service(stack, desired=3 if bad else 2)


def scaling(stack, bad):
    # aws-ecs-patterns with service auto scaling: 2 tasks on 2 instances, up to 10 (bad) or 2 (good)
    cluster, provider, _ = cluster_with_capacity(stack)
    definition = task(stack, (80, 8080))
    web = patterns.ApplicationLoadBalancedEc2Service(
        stack,
        "Web",
        cluster=cluster,
        task_definition=definition,
        desired_count=2,
        min_healthy_percent=50,
        max_healthy_percent=100,
        circuit_breaker=BREAKER,
        capacity_provider_strategies=[
            ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)
        ],
    )
    web.service.auto_scale_task_count(min_capacity=2, max_capacity=10 if bad else 2).scale_on_cpu_utilization(
        "Cpu", target_utilization_percent=60
    )


def distinct_instances(stack, bad):
    # aws-ecs-patterns, dynamic port, distinctInstance: 4 tasks (bad) or 2 (good) on 2 instances
    cluster, provider, group = cluster_with_capacity(stack)
    web = patterns.ApplicationLoadBalancedEc2Service(
        stack,
        "Web",
        cluster=cluster,
        memory_limit_mib=128,
        desired_count=4 if bad else 2,
        min_healthy_percent=50,
        max_healthy_percent=200,
        circuit_breaker=BREAKER,
        placement_constraints=[ecs.PlacementConstraint.distinct_instances()],
        task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(image=IMAGE),
        capacity_provider_strategies=[
            ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)
        ],
    )
    group.connections.allow_from(web.load_balancer, ec2.Port.tcp_range(32768, 65535))


def deadlock(stack, bad):
    # ECS's defaults (100 / 200) with one static task per instance leave no way forward
    static_service(stack, desired=2, min_healthy=100 if bad else 50, max_percent=200 if bad else 100)


def reserved_host_port(stack, bad):
    static_service(stack, desired=1, host_port=2375 if bad else 8080)


def reserved_port_limit(stack, bad):
    cluster, provider, _ = cluster_with_capacity(stack)
    count = 96 if bad else 95  # plus the agent's 5 defaults: 101 > 100, or exactly 100
    mappings = [(10000 + i, 10000 + i) for i in range(count)]
    service(stack, cluster, provider, task(stack, *mappings))


def duplicate_host_port(stack, bad):
    cluster, provider, _ = cluster_with_capacity(stack)
    definition = task(stack, (80, 8080))
    sidecar = definition.add_container("sidecar", image=IMAGE, memory_limit_mib=64)
    sidecar.add_port_mappings(ecs.PortMapping(container_port=81, host_port=8080 if bad else 8081))
    service(stack, cluster, provider, definition)


def invalid_port(stack, bad):
    cluster, provider, _ = cluster_with_capacity(stack)
    definition = task(stack, (80, 8080))
    if bad:  # only reachable through an escape hatch: the L2 would refuse it
        definition.node.default_child.add_property_override(
            "ContainerDefinitions.0.PortMappings.0.HostPort", 70000
        )
    service(stack, cluster, provider, definition)


def host_port_mismatch(stack, bad):
    cluster, provider, _ = cluster_with_capacity(stack)
    definition = task(stack, (80, 80), network_mode=ecs.NetworkMode.HOST)
    if bad:
        definition.node.default_child.add_property_override(
            "ContainerDefinitions.0.PortMappings.0.HostPort", 8080
        )
    service(stack, cluster, provider, definition)


def balanced(stack, *, health_check_port="traffic-port", open_range=True):
    """aws-ecs-patterns on an AsgCapacityProvider: the pattern writes no ingress to the instances."""
    cluster, provider, group = cluster_with_capacity(stack)
    web = patterns.ApplicationLoadBalancedEc2Service(
        stack,
        "Web",
        cluster=cluster,
        memory_limit_mib=128,
        desired_count=2,
        min_healthy_percent=100,
        max_healthy_percent=200,
        circuit_breaker=BREAKER,
        task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(image=IMAGE),
        capacity_provider_strategies=[
            ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)
        ],
    )
    web.target_group.configure_health_check(port=health_check_port, path="/")
    if open_range:
        group.connections.allow_from(web.load_balancer, ec2.Port.tcp_range(32768, 65535))
    return web


def dynamic_port_health_check(stack, bad):
    balanced(stack, health_check_port="8080" if bad else "traffic-port")


def dynamic_port_ingress(stack, bad):
    balanced(stack, open_range=not bad)


def static_port_in_dynamic_range(stack, bad):
    static_service(stack, desired=1, host_port=40000 if bad else 8080)


def unverifiable(stack, bad):
    if bad:  # a cluster from elsewhere: nothing in the app says what capacity it has
        vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1, restrict_default_security_group=False)
        cluster = ecs.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="shared", vpc=vpc)
        ecs.Ec2Service(stack, "Service", cluster=cluster, task_definition=task(stack, (80, 8080)),
                       desired_count=1, min_healthy_percent=0, max_healthy_percent=100, circuit_breaker=BREAKER)
    else:
        static_service(stack, desired=1)


def sized_service(stack, *, memory, desired, min_healthy=0, max_percent=100):
    """Dynamic ports on 2 t3.small (1996 MiB registered each), tasks of `memory` MiB."""
    cluster, provider, _ = cluster_with_capacity(stack)
    return service(stack, cluster, provider, task(stack, (80, 0), memory=memory), desired=desired,
                   min_healthy=min_healthy, max_percent=max_percent)


def task_exceeds_instance(stack, bad):
    # at the edge: a t3.small registers 1996 MiB for tasks (of its 2048); one MiB more fits nowhere
    sized_service(stack, memory=1997 if bad else 1996, desired=1)


def resource_overcommit(stack, bad):
    # 600 MiB tasks: 3 fit in a t3.small's 1996 MiB, 6 on the two; 10 do not
    sized_service(stack, memory=600, desired=10 if bad else 6)


def deployment_resource_deadlock(stack, bad):
    # 900 MiB tasks: 2 per t3.small, 4 in all; ECS's rolling defaults (100 / 200) need room for a 5th
    sized_service(stack, memory=900, desired=4 if bad else 3, min_healthy=100, max_percent=200)


def invalid_task_size(stack, bad):
    cluster, provider, _ = cluster_with_capacity(stack)
    definition = task(stack, (80, 0))
    if bad:  # the L2 insists on a memory size: only an escape hatch removes it, as a hand template may
        definition.node.default_child.add_property_deletion_override("ContainerDefinitions.0.Memory")
    service(stack, cluster, provider, definition)


CASES: Dict[str, Callable[[cdk.Stack, bool], None]] = {
    "static-port-overcommit": overcommit,
    "scaling-port-overcommit": scaling,
    "placement-constraint-overcommit": distinct_instances,
    "task-exceeds-instance": task_exceeds_instance,
    "resource-overcommit": resource_overcommit,
    "deployment-port-deadlock": deadlock,
    "deployment-resource-deadlock": deployment_resource_deadlock,
    "reserved-host-port": reserved_host_port,
    "reserved-port-limit": reserved_port_limit,
    "duplicate-host-port": duplicate_host_port,
    "invalid-port": invalid_port,
    "invalid-task-size": invalid_task_size,
    "host-port-mismatch": host_port_mismatch,
    "dynamic-port-health-check": dynamic_port_health_check,
    "dynamic-port-ingress": dynamic_port_ingress,
    "static-port-in-dynamic-range": static_port_in_dynamic_range,
    "unverifiable": unverifiable,
}


# -- more ways to the same rules: what ECS schedules beyond the desired count ---------------------------


def blue_green(stack, bad):
    # ECS's native blue/green strategy, static 8080, 2 tasks: the new set needs 2 more instances
    cluster, provider, _ = cluster_with_capacity(stack, instances=2 if bad else 4)
    ecs.Ec2Service(
        stack,
        "Service",
        cluster=cluster,
        task_definition=task(stack, (80, 8080)),
        desired_count=2,
        deployment_strategy=ecs.DeploymentStrategy.BLUE_GREEN,
        capacity_provider_strategies=[
            ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)
        ],
    )


NLB_SECURITY_GROUP_FLAG = "@aws-cdk/aws-elasticloadbalancingv2:networkLoadBalancerWithSecurityGroupByDefault"


def network_load_balanced(stack, bad):
    # aws-ecs-patterns' NLB without security groups (the app's flags give it one; this stack turns the
    # flag off, as apps without it are): the instances must admit clients and health checks themselves
    stack.node.set_context(NLB_SECURITY_GROUP_FLAG, False)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1, restrict_default_security_group=False)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    group = cluster.add_capacity(
        "Fixed",
        instance_type=ec2.InstanceType("t3.small"),
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(),
        min_capacity=2,
        max_capacity=2,
    )
    patterns.NetworkLoadBalancedEc2Service(
        stack,
        "Web",
        cluster=cluster,
        memory_limit_mib=128,
        desired_count=2,
        min_healthy_percent=50,
        circuit_breaker=BREAKER,
        task_image_options=patterns.NetworkLoadBalancedTaskImageOptions(image=IMAGE),
    )
    if not bad:
        group.connections.allow_from(ec2.Peer.any_ipv4(), ec2.Port.tcp_range(32768, 65535))


def member_of(stack, bad):
    # memberOf on a Linux cluster asking for Windows instances: no task can be placed
    cluster, provider, _ = cluster_with_capacity(stack)
    web = service(stack, cluster, provider, task(stack, (80, 0)))
    web.add_placement_constraints(ecs.PlacementConstraint.member_of(
        f"attribute:ecs.os-type == {'windows' if bad else 'linux'}"
    ))


def port_range(stack, bad):
    # a containerPortRange wider than the dynamic range in force (32768-60999 holds 28232 ports)
    cluster, provider, _ = cluster_with_capacity(stack)
    definition = ecs.Ec2TaskDefinition(stack, "Task")
    container = definition.add_container("web", image=IMAGE, memory_limit_mib=128)
    container.add_port_mappings(ecs.PortMapping(
        container_port=ecs.ContainerDefinition.CONTAINER_PORT_USE_RANGE,
        container_port_range="1000-30999" if bad else "8000-8099",
    ))
    service(stack, cluster, provider, definition)


def windows(stack, bad):
    # ECS-optimized Windows instances: 3389 (Remote Desktop) is the agent's there, 40000 below its range
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1, restrict_default_security_group=False)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    group = autoscaling.AutoScalingGroup(
        stack,
        "Asg",
        vpc=vpc,
        instance_type=ec2.InstanceType("t3.large"),
        machine_image=ecs.EcsOptimizedImage.windows(ecs.WindowsOptimizedVersion.SERVER_2022),
        min_capacity=1,
        max_capacity=1,
    )
    provider = ecs.AsgCapacityProvider(
        stack, "Provider", auto_scaling_group=group, enable_managed_termination_protection=False
    )
    cluster.add_asg_capacity_provider(provider)
    service(stack, cluster, provider, task(stack, (80, 3389 if bad else 40000)))


def awsvpc_enis(stack, bad):
    # awsvpc on EC2: a t3.small has 3 ENIs, one its own, so 2 tasks each and 4 on the two (memory would take 31)
    cluster, provider, _ = cluster_with_capacity(stack)
    definition = task(stack, (80, 80), network_mode=ecs.NetworkMode.AWS_VPC)
    service(stack, cluster, provider, definition, desired=5 if bad else 4)


def blue_green_resources(stack, bad):
    # ECS's native blue/green on dynamic ports, 900 MiB tasks: 4 fit on the 2 t3.small; the new set
    # starts beside the old one, so 3 tasks need room for 6
    cluster, provider, _ = cluster_with_capacity(stack)
    ecs.Ec2Service(
        stack,
        "Service",
        cluster=cluster,
        task_definition=task(stack, (80, 0), memory=900),
        desired_count=3 if bad else 2,
        deployment_strategy=ecs.DeploymentStrategy.BLUE_GREEN,
        capacity_provider_strategies=[
            ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)
        ],
    )


def mixed_instances(stack, bad):
    # A mixed instances policy of t3.small and m5.large: planned with the smallest it may get, so
    # tasks of 1500 MiB fit 1 per instance, 2 on the 2 instances
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1, restrict_default_security_group=False)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    template = ec2.LaunchTemplate(
        stack,
        "Template",
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(),
        user_data=ec2.UserData.for_linux(),
        role=iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")),
    )
    group = autoscaling.AutoScalingGroup(
        stack,
        "Asg",
        vpc=vpc,
        min_capacity=2,
        max_capacity=2,
        mixed_instances_policy=autoscaling.MixedInstancesPolicy(
            launch_template=template,
            launch_template_overrides=[
                autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType("t3.small")),
                autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType("m5.large")),
            ],
        ),
    )
    provider = ecs.AsgCapacityProvider(
        stack, "Provider", auto_scaling_group=group, enable_managed_scaling=False,
        enable_managed_termination_protection=False,
    )
    cluster.add_asg_capacity_provider(provider)
    service(stack, cluster, provider, task(stack, (80, 0), memory=1500), desired=4 if bad else 2)


def daemons(stack, bad):
    # two DAEMON services on 2 t3.small (1996 MiB each for tasks): 1100 MiB each do not fit together
    cluster, _, _ = cluster_with_capacity(stack)
    for name in ("Logs", "Metrics"):
        ecs.Ec2Service(
            stack,
            name,
            cluster=cluster,
            task_definition=task(stack, (80, 0), id=f"{name}Task", memory=1100 if bad else 900),
            daemon=True,
            min_healthy_percent=0,
            max_healthy_percent=100,
            circuit_breaker=BREAKER,
        )


VARIANTS: Dict[str, Tuple[str, Callable[[cdk.Stack, bool], None]]] = {
    "blue-green": ("deployment-port-deadlock", blue_green),
    "network-load-balanced": ("dynamic-port-ingress", network_load_balanced),
    "member-of": ("placement-constraint-overcommit", member_of),
    "port-range": ("invalid-port", port_range),
    "windows": ("reserved-host-port", windows),
    "awsvpc-enis": ("resource-overcommit", awsvpc_enis),
    "blue-green-resources": ("deployment-resource-deadlock", blue_green_resources),
    "mixed-instances": ("resource-overcommit", mixed_instances),
    "daemons": ("resource-overcommit", daemons),
}
"""More cases for rules CASES already has, by name: (the rule, the builder)."""


def stack_name(rule: str, bad: bool) -> str:
    return f"{rule}-{'bad' if bad else 'good'}"


def build_app(app: cdk.App) -> None:
    """Every case and variant, compliant and not, as its own stack."""
    for name, build in [*CASES.items(), *((n, b) for n, (_, b) in VARIANTS.items())]:
        for bad in (True, False):
            build(cdk.Stack(app, stack_name(name, bad)), bad)


# -- apps shaped like real ones: nested stacks, stacks sharing a cluster, stages ----------------------------


class NestedServices(cdk.NestedStack):
    """A service in a nested stack, on the parent's cluster and capacity provider."""

    def __init__(self, scope, construct_id, *, cluster, provider, desired):
        super().__init__(scope, construct_id)
        self.service = service(self, cluster, provider, task(self, (80, 8080)), desired=desired)


def nested_service(stack: cdk.Stack, bad: bool) -> NestedServices:
    """Cluster in the parent (2 instances), service of 3 (bad) or 2 tasks on static 8080 in the nested stack."""
    cluster, provider, _ = cluster_with_capacity(stack)
    return NestedServices(stack, "Services", cluster=cluster, provider=provider, desired=3 if bad else 2)


def shared_cluster(app: cdk.App, name: str, bad: bool) -> None:
    """The cluster in one stack, 5 (bad) or 2 static tasks on its 2 instances in another: with
    @aws-cdk/core:defaultCrossStackReferences=weak (cdk.json) CDK writes Fn::GetStackOutput."""
    network = cdk.Stack(app, f"{name}-cluster")
    cluster, provider, _ = cluster_with_capacity(network)
    service(cdk.Stack(app, f"{name}-service"), cluster, provider, task(network, (80, 8080)), desired=5 if bad else 2)


def staged(scope: cdk.Stage, bad: bool) -> None:
    """Stacks inside a Stage: a static service of 3 (bad) or 2 tasks on 2 instances."""
    static_service(cdk.Stack(scope, "Api"), desired=3 if bad else 2)


def included(stack: cdk.Stack, bad: bool) -> None:
    """The hand-written template with parameters and conditions (tests/fixtures/portplan/real), as
    CfnInclude brings such a template into a CDK app: its defaults overcommit tcp/8080 (bad); with
    InstanceCount given as 3 (good) all 3 tasks fit."""
    from pathlib import Path

    from aws_cdk import cloudformation_include as cfn_include

    template = Path(__file__).parent / "fixtures" / "portplan" / "real" / "params-conditions.yaml"
    cfn_include.CfnInclude(
        stack, "Template", template_file=str(template), parameters=None if bad else {"InstanceCount": 3}
    )

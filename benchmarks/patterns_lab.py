"""The same lab with aws-ecs-patterns: a VPC, a cluster with an AsgCapacityProvider of two t3.small
instances, and two ApplicationLoadBalancedEc2Service for nginx:alpine, static 8080:80 and dynamic 0:80.

    python benchmarks/patterns_lab.py --outdir /tmp/out [--plugins portplan]
"""

from __future__ import annotations

import sys

from _app import add_plugins, make_app, parse_args


def build(app) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_autoscaling as autoscaling, aws_ec2 as ec2, aws_ecs as ecs, aws_ecs_patterns as patterns

    stack = cdk.Stack(app, "PatternsLab")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    group = autoscaling.AutoScalingGroup(
        stack,
        "Asg",
        vpc=vpc,
        instance_type=ec2.InstanceType("t3.small"),
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(),
        min_capacity=2,
        max_capacity=2,
    )
    provider = ecs.AsgCapacityProvider(stack, "Provider", auto_scaling_group=group)
    cluster.add_asg_capacity_provider(provider)
    for name, host_port in (("Static", 8080), ("Dynamic", 0)):
        task_definition = ecs.Ec2TaskDefinition(stack, f"{name}TaskDefinition", network_mode=ecs.NetworkMode.BRIDGE)
        container = task_definition.add_container(
            "nginx", image=ecs.ContainerImage.from_registry("nginx:alpine"), memory_limit_mib=256
        )
        container.add_port_mappings(ecs.PortMapping(container_port=80, host_port=host_port))
        patterns.ApplicationLoadBalancedEc2Service(
            stack,
            f"{name}Service",
            cluster=cluster,
            task_definition=task_definition,
            desired_count=2 if host_port else 4,
            min_healthy_percent=50 if host_port else 100,
            max_healthy_percent=100 if host_port else 200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)
            ],
        )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    app = make_app(args.outdir)
    build(app)
    add_plugins(app, args.plugins)
    app.synth()


if __name__ == "__main__":
    sys.exit(main())

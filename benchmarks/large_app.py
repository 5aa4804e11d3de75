"""A large app in plain aws-ecs L2: 20 clusters x 10 services (200) in a network stack and four
service stacks, for the cost of the port-plan plugin on a big synth.

Per cluster: an Auto Scaling group of t3.small behind an AsgCapacityProvider, an ALB whose listener
forwards to five dynamic-port services (bridge 0:80), two static-port services (8080+, bridge), a
host-mode service and a DAEMON, each with its own task definition. The plans are valid: synth with
the plugin passes.

    python benchmarks/large_app.py --outdir /tmp/out [--plugins portplan] [--clusters 20]
"""

from __future__ import annotations

import argparse
import sys

from _app import add_plugins, make_app, parse_args

CLUSTERS_PER_STACK = 5
DYNAMIC_RANGE = (32768, 60999)


def build(app, clusters: int = 20) -> int:
    """Add the stacks to ``app``; returns the number of services."""
    import aws_cdk as cdk
    from aws_cdk import (
        aws_autoscaling as autoscaling,
        aws_ec2 as ec2,
        aws_ecs as ecs,
        aws_elasticloadbalancingv2 as elbv2,
    )

    network = cdk.Stack(app, "LargeNetwork")
    vpc = ec2.Vpc(network, "Vpc", max_azs=2, nat_gateways=1)
    image = ecs.ContainerImage.from_registry("nginx:alpine")
    breaker = ecs.DeploymentCircuitBreaker(rollback=True)
    services = 0
    stack = None
    for index in range(clusters):
        if index % CLUSTERS_PER_STACK == 0:
            stack = cdk.Stack(app, f"LargeServices{index // CLUSTERS_PER_STACK + 1}")
        scope = stack
        prefix = f"C{index + 1:02d}"
        cluster = ecs.Cluster(scope, f"{prefix}Cluster", vpc=vpc)
        group = autoscaling.AutoScalingGroup(
            scope, f"{prefix}Asg", vpc=vpc, instance_type=ec2.InstanceType("t3.small"),
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(), min_capacity=2, max_capacity=4,
        )
        provider = ecs.AsgCapacityProvider(
            scope, f"{prefix}Provider", auto_scaling_group=group, enable_managed_termination_protection=False,
        )
        cluster.add_asg_capacity_provider(provider)
        strategy = [ecs.CapacityProviderStrategy(capacity_provider=provider.capacity_provider_name, weight=1)]
        balancer = elbv2.ApplicationLoadBalancer(scope, f"{prefix}Alb", vpc=vpc, internet_facing=True)
        listener = balancer.add_listener(f"{prefix}Http", port=80, open=True)
        group.connections.allow_from(balancer, ec2.Port.tcp_range(*DYNAMIC_RANGE), "ALB to dynamic host ports")

        def task(name, container_port, host_port, mode=ecs.NetworkMode.BRIDGE):
            definition = ecs.Ec2TaskDefinition(scope, f"{name}Task", network_mode=mode)
            container = definition.add_container("web", image=image, memory_limit_mib=128)
            container.add_port_mappings(ecs.PortMapping(container_port=container_port, host_port=host_port))
            return definition

        for number in range(1, 11):
            name = f"{prefix}S{number:02d}"
            if number <= 5:  # dynamic, behind the ALB
                service = ecs.Ec2Service(
                    scope, name, cluster=cluster, task_definition=task(name, 80, 0), desired_count=3,
                    min_healthy_percent=100, max_healthy_percent=200, circuit_breaker=breaker,
                    capacity_provider_strategies=strategy,
                )
                target = service.load_balancer_target(container_name="web", container_port=80)
                if number == 1:
                    listener.add_targets(f"{name}Targets", port=80, targets=[target])
                else:
                    listener.add_targets(
                        f"{name}Targets", port=80, targets=[target], priority=number,
                        conditions=[elbv2.ListenerCondition.path_patterns([f"/s{number:02d}/*"])],
                    )
            elif number <= 7:  # static bridge ports
                ecs.Ec2Service(
                    scope, name, cluster=cluster, task_definition=task(name, 80, 8080 + number), desired_count=2,
                    min_healthy_percent=50, max_healthy_percent=100, circuit_breaker=breaker,
                    capacity_provider_strategies=strategy,
                )
            elif number <= 9:  # host mode
                ecs.Ec2Service(
                    scope, name, cluster=cluster,
                    task_definition=task(name, 9000 + number, 9000 + number, ecs.NetworkMode.HOST),
                    desired_count=1, min_healthy_percent=0, max_healthy_percent=100, circuit_breaker=breaker,
                    capacity_provider_strategies=strategy,
                )
            else:  # one per instance
                ecs.Ec2Service(
                    scope, name, cluster=cluster, task_definition=task(name, 9100, 9100), daemon=True,
                    min_healthy_percent=0, max_healthy_percent=100, circuit_breaker=breaker,
                )
            services += 1
    return services


def main() -> None:
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--clusters", type=int, default=20)
    known, rest = extra.parse_known_args()
    args = parse_args(__doc__.splitlines()[0], rest)
    app = make_app(args.outdir)
    build(app, known.clusters)
    add_plugins(app, args.plugins)
    app.synth()


if __name__ == "__main__":
    sys.exit(main())

"""The port plan's model: what the templates say about ECS capacity, tasks, services and networks.

`entities` holds the model's objects; one builder module per resource family reads them from the
templates (`ecs`, `autoscaling` with `agent_settings` for user data, `elbv2`, `ec2`,
`application_autoscaling`), `builder` runs the families over the templates, `pools` works out the EC2
capacity each service lands on, narrowed by memberOf placement constraints (`cluster_query`).
"""

from __future__ import annotations

from .builder import FAMILIES, ModelBuilder, TemplatesOutOfOrder, build_model
from .entities import (
    BLUE_GREEN_DEPLOYMENTS,
    DEFAULT_DYNAMIC_RANGE,
    FARGATE_PROVIDERS,
    AutoScalingGroup,
    CapacityProvider,
    Cluster,
    ContainerSize,
    Count,
    Listener,
    LoadBalancer,
    LoadBalancerLink,
    Origin,
    Peer,
    Pool,
    PoolMember,
    Port,
    PortMapping,
    PortPlan,
    ScalableTarget,
    SecurityGroup,
    SecurityGroupRule,
    Service,
    StrategyItem,
    TargetGroup,
    TaskDefinition,
)

__all__ = [
    "BLUE_GREEN_DEPLOYMENTS",
    "DEFAULT_DYNAMIC_RANGE",
    "FAMILIES",
    "FARGATE_PROVIDERS",
    "AutoScalingGroup",
    "CapacityProvider",
    "Cluster",
    "ContainerSize",
    "Count",
    "Listener",
    "LoadBalancer",
    "LoadBalancerLink",
    "ModelBuilder",
    "Origin",
    "Peer",
    "Pool",
    "PoolMember",
    "Port",
    "PortMapping",
    "PortPlan",
    "ScalableTarget",
    "SecurityGroup",
    "SecurityGroupRule",
    "Service",
    "StrategyItem",
    "TargetGroup",
    "TaskDefinition",
    "TemplatesOutOfOrder",
    "build_model",
]

"""The port plan's model: what the templates say about ECS capacity, tasks, services and networks.

`entities` holds the model's objects; one builder module per resource family reads them from the
templates (`ecs`, `autoscaling` with `agent_settings` for user data, `elbv2`, `ec2`), `builder` runs
the families over the templates, and `pools` works out the EC2 capacity each service lands on.
"""

from __future__ import annotations

from .builder import FAMILIES, ModelBuilder, TemplatesOutOfOrder, build_model
from .entities import (
    DEFAULT_DYNAMIC_RANGE,
    FARGATE_PROVIDERS,
    AutoScalingGroup,
    CapacityProvider,
    Cluster,
    Count,
    LoadBalancer,
    LoadBalancerLink,
    Origin,
    Peer,
    Pool,
    PoolMember,
    Port,
    PortMapping,
    PortPlan,
    SecurityGroup,
    SecurityGroupRule,
    Service,
    StrategyItem,
    TargetGroup,
    TaskDefinition,
)

__all__ = [
    "DEFAULT_DYNAMIC_RANGE",
    "FAMILIES",
    "FARGATE_PROVIDERS",
    "AutoScalingGroup",
    "CapacityProvider",
    "Cluster",
    "Count",
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
    "SecurityGroup",
    "SecurityGroupRule",
    "Service",
    "StrategyItem",
    "TargetGroup",
    "TaskDefinition",
    "TemplatesOutOfOrder",
    "build_model",
]

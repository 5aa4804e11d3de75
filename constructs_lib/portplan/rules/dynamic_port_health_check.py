"""dynamic-port-health-check: a dynamic port behind a target group that health-checks a fixed port."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Unknown
from ..model import PortPlan
from .facts import static_port_facts
from .rule import Rule
from .unverifiable import unverifiable

RULE = Rule(
    id="dynamic-port-health-check",
    severity=ERROR,
    reported_on="target group",
    info="A dynamically mapped container port sits behind a target group that health-checks a fixed port.",
    why="ECS refuses to create such a service (InvalidParameterException): the deployment fails.",
    fix="Set the target group's HealthCheckPort to traffic-port (the default).",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """A dynamically mapped port behind a target group that health-checks a fixed port."""
    for service, mapping, target in static_port_facts(plan).links:
        if isinstance(target, Unknown):
            yield unverifiable(
                service.origin,
                f"the target group of container {mapping.container} port {mapping.container_port} is not in the "
                f"templates given ({target.reason}): its health check port and balancer cannot be checked",
            )
            continue
        group = plan.target_groups[target]
        port = group.health_check_port
        if isinstance(port, Unknown):
            yield unverifiable(group.origin, f"its HealthCheckPort is unknown ({port.reason})")
        elif port.lower() != "traffic-port":
            yield RULE.finding(
                group.origin,
                f"health checks go to fixed port {port}, but service {service.origin.label} registers container "
                f"{mapping.container} port {mapping.container_port} on a dynamic host port: ECS refuses to create "
                "such a service (InvalidParameterException), so the deployment fails (cfn-lint's E3049 catches this "
                "only when hostPort 0 is written out)",
                "set HealthCheckPort to traffic-port, the default (CDK: leave health_check port out, or "
                'port="traffic-port")',
            )

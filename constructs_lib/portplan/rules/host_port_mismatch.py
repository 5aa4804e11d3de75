"""host-port-mismatch: a hostPort other than the containerPort in awsvpc or host mode."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..model import PortPlan
from .rule import Rule

RULE = Rule(
    id="host-port-mismatch",
    severity=ERROR,
    reported_on="task definition",
    info="In awsvpc or host network mode a hostPort differs from its containerPort.",
    why="ECS rejects the task definition and the deployment fails.",
    fix="Leave hostPort out, or set it equal to containerPort.",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """awsvpc or host mode with a hostPort other than the containerPort."""
    for definition in plan.task_definitions.values():
        mode = definition.network_mode
        if mode not in ("awsvpc", "host"):
            continue
        for mapping in definition.mappings:
            host, port = mapping.host_port, mapping.container_port
            if isinstance(host, int) and isinstance(port, int) and host != port:
                yield RULE.finding(
                    definition.origin,
                    f"container {mapping.container} maps containerPort {port} to hostPort {host}, but in {mode} "
                    "network mode the host port must be left out or equal the container port: ECS rejects the "
                    "task definition",
                    f"leave hostPort out (or set it to {port})",
                )

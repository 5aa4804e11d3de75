"""invalid-port: a containerPort or hostPort outside 1-65535."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..model import PortPlan
from .rule import Rule

RULE = Rule(
    id="invalid-port",
    severity=ERROR,
    info="A containerPort or hostPort lies outside 1-65535 (hostPort 0 means dynamic).",
    why="ECS rejects the task definition and the deployment fails.",
    fix="Use a port number between 1 and 65535 (hostPort 0 for a dynamic mapping in bridge mode).",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """A containerPort or hostPort outside 1-65535 (hostPort 0 means dynamic), or no port number at all."""
    for definition in plan.task_definitions.values():
        for mapping in definition.mappings:
            problems = []
            port = mapping.container_port
            if port is None and not mapping.port_range:
                problems.append("has a port mapping without containerPort")
            elif isinstance(port, int) and not 1 <= port <= 65535:
                problems.append(f"maps containerPort {port}, outside 1-65535")
            host = mapping.host_port
            if isinstance(host, int) and not 0 <= host <= 65535:
                problems.append(f"maps hostPort {host}, outside 1-65535 (0 means dynamic)")
            problems.extend(f"maps {value}" for value in mapping.invalid)  # true, "80a", NaN
            for problem in problems:
                yield RULE.finding(
                    definition.origin,
                    f"container {mapping.container} {problem}: ECS rejects the task definition",
                    "use a port between 1 and 65535 (hostPort 0, or no hostPort, for a dynamic mapping in bridge mode)",
                )

"""duplicate-host-port: one task definition binding the same host port twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..model import Port, PortPlan
from .facts import static_mappings
from .rule import Rule
from .wording import describe_port

RULE = Rule(
    id="duplicate-host-port",
    severity=ERROR,
    reported_on="task definition",
    info="One task definition maps the same host port and protocol twice.",
    why="The task cannot start: the second bind fails (port is already allocated).",
    fix="Give each mapping its own host port, or map one of them dynamically (hostPort 0).",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """One task definition binds the same host port and protocol twice."""
    for definition in plan.task_definitions.values():
        if len(definition.mappings) < 2:
            continue
        bound: dict[Port, list[str]] = defaultdict(list)
        if definition.network_mode == "awsvpc":
            for mapping in definition.mappings:
                number = mapping.container_port
                if isinstance(number, int) and isinstance(mapping.protocol, str) and not mapping.port_range:
                    bound[(mapping.protocol, number)].append(mapping.container)
        else:
            for mapping, static in static_mappings(definition):
                bound[static].append(mapping.container)
        for port, containers in sorted(bound.items()):
            if len(containers) > 1:
                where = "the task's network interface" if definition.network_mode == "awsvpc" else "an instance"
                yield RULE.finding(
                    definition.origin,
                    f"host port {describe_port(port)} is mapped {len(containers)} times (containers "
                    f"{', '.join(containers)}), but {where} can bind it once: the task cannot start "
                    f'(Docker: "Bind for 0.0.0.0:{port[1]} failed: port is already allocated")',
                    "give each mapping its own host port, or map all but one dynamically (hostPort 0)",
                )

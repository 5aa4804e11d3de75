"""static-port-in-dynamic-range: a static host port inside the dynamic range in force."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..model import DEFAULT_DYNAMIC_RANGE, PortPlan
from .facts import static_mappings
from .rule import Rule
from .wording import describe_port, list_names

RULE = Rule(
    id="static-port-in-dynamic-range",
    severity=WARNING,
    reported_on="task definition",
    info="A static host port lies inside the dynamic host port range in force on its instances.",
    why="The scheduler places the task (it tracks static ports only), then it fails to start: port is already allocated.",
    fix="Pick a static port outside the dynamic range, or pin ECS_DYNAMIC_HOST_PORT_RANGE to exclude it.",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """A static host port inside the dynamic range in force where its tasks run."""
    in_force = {g.dynamic_range for g in plan.auto_scaling_groups.values() if isinstance(g.dynamic_range, tuple)}
    in_force.add(DEFAULT_DYNAMIC_RANGE)
    lowest = min(low for low, _ in in_force)
    highest = max(high for _, high in in_force)
    for key, definition in plan.task_definitions.items():
        if all(not lowest <= port <= highest for _, port in definition.static_ports):
            continue
        ranges: dict[tuple[int, int], list[str]] = defaultdict(list)
        groups = sorted(plan.landing.get(key, ()))
        for asg in groups:
            group = plan.auto_scaling_groups[asg]
            if isinstance(group.dynamic_range, tuple):
                ranges[group.dynamic_range].append(group.origin.label)
        if not groups:
            ranges[DEFAULT_DYNAMIC_RANGE] = []
        for mapping, port in static_mappings(definition):
            for (low, high), labels in sorted(ranges.items()):
                if low <= port[1] <= high:
                    where = f" on capacity {list_names(labels)}" if labels else " (the Linux default)"
                    yield RULE.finding(
                        definition.origin,
                        f"container {mapping.container} maps host port {describe_port(port)}, inside the dynamic host port "
                        f"range {low}-{high} in force{where}: the agent may hand it to another task's dynamic "
                        "mapping first, and the scheduler, which tracks static ports only, still places this task "
                        "there; it then fails to start (Docker: \"Bind for 0.0.0.0:"
                        f"{port[1]} failed: port is already allocated\")",
                        f"pick a static port below {low} (or above {high}), or pin ECS_DYNAMIC_HOST_PORT_RANGE to a "
                        "range that excludes it",
                    )

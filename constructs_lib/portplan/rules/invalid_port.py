"""invalid-port: a port ECS rejects: outside 1-65535, or a containerPortRange it cannot honour.

containerPortRange (Amazon ECS, PortMapping): only in bridge or awsvpc network mode; at most 100 port
ranges per container; the first port below the last, all within 1-65535; no port in two mappings of a
container; no hostPort beside it. In bridge mode the agent binds the range to as many contiguous
host ports of the dynamic range in force (amazon-ecs-agent, agent/utils/ephemeral_ports.go:
"%v contiguous host ports are unavailable" when it cannot).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Unknown
from ..model import DEFAULT_DYNAMIC_RANGE, PortMapping, PortPlan, TaskDefinition
from .rule import Rule
from .wording import list_names

RULE = Rule(
    id="invalid-port",
    severity=ERROR,
    reported_on="task definition",
    info="A port ECS rejects: a containerPort or hostPort outside 1-65535 (hostPort 0 means dynamic), or a containerPortRange it cannot honour.",
    why="ECS rejects the task definition (or the agent the task) and the deployment fails.",
    fix="Use ports between 1 and 65535 (hostPort 0 for a dynamic mapping in bridge mode), and port ranges only as ECS allows them.",
)

MAX_PORT_RANGES = 100
"""The most containerPortRange mappings one container may have."""


def check(plan: PortPlan) -> Iterator[Finding]:
    """Ports outside 1-65535 (or no port number at all), and port ranges ECS or the agent refuses."""
    for key, definition in plan.task_definitions.items():
        for mapping in definition.mappings:
            problems = []
            port = mapping.container_port
            if port is None and mapping.port_range is None:
                problems.append("has a port mapping without containerPort")
            elif isinstance(port, int) and not 1 <= port <= 65535 and mapping.port_range is None:
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
        yield from _ranges(plan, key, definition)


def _ranges(plan: PortPlan, key: tuple[str, str], definition: TaskDefinition) -> Iterator[Finding]:
    by_container: dict[str, list[PortMapping]] = defaultdict(list)
    for mapping in definition.mappings:
        by_container[mapping.container].append(mapping)
    mode = definition.network_mode
    total = 0  # contiguous dynamic host ports one bridge task asks for
    for container, mappings in by_container.items():
        ranged = [m for m in mappings if m.port_range is not None]
        if not ranged:
            continue
        problems: list[str] = []
        if mode in ("host", "none"):
            problems.append(f"maps a containerPortRange in {mode} network mode, which only bridge and awsvpc allow")
        if len(ranged) > MAX_PORT_RANGES:
            problems.append(f"maps {len(ranged)} containerPortRanges, more than the {MAX_PORT_RANGES} ECS allows per container")
        spans: list[tuple[int, int]] = []
        for mapping in ranged:
            span = mapping.port_range
            if isinstance(span, Unknown):
                if span.reason.endswith(" is not a range of port numbers"):
                    problems.append("maps " + span.reason.replace(" is not", ", which is not"))
                continue
            assert span is not None
            low, high = span
            if not (1 <= low < high <= 65535):
                problems.append(
                    f"maps containerPortRange {low}-{high}: the first port must be below the last, both within 1-65535"
                )
                continue
            if isinstance(mapping.host_port, int):
                problems.append(f"maps containerPortRange {low}-{high} with a hostPort, which ECS sets itself")
            spans.append((low, high))
        singles = [(m.container_port, m.container_port) for m in mappings if m.port_range is None and isinstance(m.container_port, int)]
        overlapping = _overlaps(spans + singles)  # type: ignore[arg-type]
        if overlapping:
            problems.append(f"maps port {overlapping} in more than one of its mappings (ranges may not overlap)")
        for problem in problems:
            yield RULE.finding(
                definition.origin,
                f"container {container} {problem}: ECS rejects the task definition",
                "use containerPortRange only in bridge or awsvpc network mode, without hostPort, at most "
                f"{MAX_PORT_RANGES} non-overlapping ranges per container, each first-last with first < last",
            )
        if mode == "bridge":
            total += sum(high - low + 1 for low, high in spans)
    if total:
        yield from _contiguous(plan, key, definition, total)


def _overlaps(spans: list[tuple[int, int]]) -> int | None:
    """A port two spans share, if any."""
    reach = 0
    for low, high in sorted(spans):
        if low <= reach:
            return low
        reach = max(reach, high)
    return None


def _contiguous(plan: PortPlan, key: tuple[str, str], definition: TaskDefinition, total: int) -> Iterator[Finding]:
    """A bridge task's ranges take that many contiguous host ports of the dynamic range in force."""
    ranges: dict[tuple[int, int], list[str]] = defaultdict(list)
    for asg in sorted(plan.landing.get(key, ())):
        group = plan.auto_scaling_groups[asg]
        if isinstance(group.dynamic_range, tuple):
            ranges[group.dynamic_range].append(group.origin.label)
    if not plan.landing.get(key):
        ranges[DEFAULT_DYNAMIC_RANGE] = []
    for (low, high), labels in sorted(ranges.items()):
        size = high - low + 1
        if total > size:
            where = f" on capacity {list_names(labels)}" if labels else " (the Linux default)"
            yield RULE.finding(
                definition.origin,
                f"its containerPortRanges need {total} host ports, bound to contiguous ports of the dynamic range "
                f"{low}-{high} in force{where}, which has {size}: the agent cannot start the task "
                f'("{total} contiguous host ports are unavailable")',
                f"map smaller ranges (at most {size} ports in all per task), or widen ECS_DYNAMIC_HOST_PORT_RANGE",
            )

"""reserved-host-port: a static host port the container instance reserves."""

from __future__ import annotations

from collections.abc import Iterator

from ...ports import AGENT_RESERVED_PORTS, WINDOWS_AGENT_RESERVED_PORTS, WINDOWS_TASK_IAM_ROLE_PORT
from ..findings import ERROR, Finding
from ..intrinsics import Unknown
from ..model import DEFAULT_DYNAMIC_RANGE, AutoScalingGroup, PortPlan
from .facts import static_mappings
from .rule import Rule
from .unverifiable import unverifiable
from .wording import describe_port, describe_ports, list_names

_RESERVED_TCP = frozenset(
    ("tcp", port) for port in (*AGENT_RESERVED_PORTS, *WINDOWS_AGENT_RESERVED_PORTS, WINDOWS_TASK_IAM_ROLE_PORT)
)

RULE = Rule(
    id="reserved-host-port",
    severity=ERROR,
    reported_on="task definition",
    info="A static host port is one the container instance reserves.",
    why="No instance offers a reserved port: the tasks stay PENDING (RESOURCE:PORTS).",
    fix="Map the port dynamically (hostPort 0) or pick a host port no instance reserves.",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """A static host port the agent reserves (by default, or by ECS_RESERVED_PORTS in user data)."""
    configured = any(g.reserved_tcp is not None or g.reserved_udp is not None for g in plan.auto_scaling_groups.values())
    for key, definition in plan.task_definitions.items():
        if not definition.static_ports or (not configured and definition.static_ports.isdisjoint(_RESERVED_TCP)):
            continue
        groups = [plan.auto_scaling_groups[a] for a in sorted(plan.landing.get(key, ()))]
        for group in groups:
            for extra in (group.reserved_tcp, group.reserved_udp):
                if isinstance(extra, Unknown):
                    yield unverifiable(
                        definition.origin,
                        f"the reserved ports of capacity {group.origin.label} are unknown ({extra.reason}): "
                        f"its host ports {describe_ports(definition.static_ports)} may be reserved",
                    )
        for mapping, port in static_mappings(definition):
            reasons = []
            if port[0] == "tcp":
                # ECS_RESERVED_PORTS replaces the agent's default list on the groups that set it.
                defaulted = [g for g in groups if g.reserved_tcp is None]
                if defaulted or not groups:
                    reasons.extend(_agent_defaults(port[1], defaulted, partial=len(defaulted) < len(groups)))
            for group in groups:
                listed = group.reserved_tcp if port[0] == "tcp" else group.reserved_udp
                if isinstance(listed, tuple) and port[1] in listed:
                    setting = "ECS_RESERVED_PORTS" if port[0] == "tcp" else "ECS_RESERVED_PORTS_UDP"
                    reasons.append(f"{setting} reserves on capacity {group.origin.label}")
            if reasons:
                yield RULE.finding(
                    definition.origin,
                    f"container {mapping.container} maps host port {describe_port(port)}, which "
                    + " and ".join(reasons)
                    + ": no container instance offers it, so the tasks stay PENDING (reason RESOURCE:PORTS)",
                    f"map the container port dynamically (hostPort 0) or pick a free host port below "
                    f"{DEFAULT_DYNAMIC_RANGE[0]} that no instance reserves",
                )


def _agent_defaults(port: int, groups: list[AutoScalingGroup], partial: bool = False) -> list[str]:
    """Why the agent reserves `port` by default where the tasks land (`groups`: those whose default
    list is in force, all of them unless `partial`): Linux's list, or Windows' on Windows capacity
    (with 80 for the task IAM role credential proxy when that is on)."""
    windows = [g for g in groups if g.os_type == "windows"]
    linux = [g for g in groups if g.os_type != "windows"]
    reasons = []
    if (linux or not groups) and port in AGENT_RESERVED_PORTS:
        where = f" on capacity {list_names(g.origin.label for g in linux)}" if partial and linux else ""
        reasons.append(f"the ECS agent reserves by default ({AGENT_RESERVED_PORTS[port]}){where}")
    holding = [g for g in windows if port in g.agent_reserved]
    if holding:
        what = WINDOWS_AGENT_RESERVED_PORTS.get(port, "the credential proxy of task IAM roles")
        reasons.append(
            f"the ECS agent reserves by default on Windows capacity {list_names(g.origin.label for g in holding)} ({what})"
        )
    return reasons

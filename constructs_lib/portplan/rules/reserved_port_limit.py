"""reserved-port-limit: more than 100 reserved ports on one container instance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ...ports import AGENT_DEFAULT_RESERVED_PORTS
from ..findings import ERROR, Finding
from ..intrinsics import Key
from ..model import AutoScalingGroup, Port, PortPlan
from .facts import static_port_facts
from .rule import Rule

RESERVED_PORT_LIMIT = 100
"""The most reserved ports the ECS agent lets one container instance hold."""

RULE = Rule(
    id="reserved-port-limit",
    severity=ERROR,
    reported_on="task definition",
    info="One container instance would hold more than 100 reserved ports, the agent's defaults included.",
    why="ECS cannot place the task on that instance.",
    fix="Map most ports dynamically (hostPort 0): dynamic ports do not count toward the limit.",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """More than 100 reserved ports on one instance: agent defaults, user data, certain co-residents, a task."""
    everywhere: dict[Key, set[Port]] = defaultdict(set)
    for item in static_port_facts(plan).placed:
        high = item.pool.high
        count = item.service.desired_count
        certain = item.service.daemon or (high is not None and high > 0 and isinstance(count, int) and count >= high)
        if certain:
            for member in item.pool.members:
                everywhere[member.asg].update(item.ports)
    base: dict[Key | None, int] = {}  # an upper bound of the reserved ports besides a task's
    for asg in {a for groups in plan.landing.values() for a in groups}:
        base[asg] = len(_reserved(plan.auto_scaling_groups[asg])) + len(everywhere.get(asg, ()))
    most = max(base.values(), default=len(AGENT_DEFAULT_RESERVED_PORTS))
    for key, definition in plan.task_definitions.items():
        ports = len(definition.static_ports)
        if not ports or ports + most <= RESERVED_PORT_LIMIT:
            continue
        asgs: list[Key | None] = [*sorted(plan.landing.get(key, ()))] or [None]
        if all(ports + base.get(a, len(AGENT_DEFAULT_RESERVED_PORTS)) <= RESERVED_PORT_LIMIT for a in asgs):
            continue
        worst: tuple[int, str, str] | None = None
        for landing in asgs:
            where = "a container instance"
            if landing is None:
                reserved = {("tcp", p) for p in AGENT_DEFAULT_RESERVED_PORTS}
                detail = f"{len(reserved)} reserved by the agent by default"
            else:
                group = plan.auto_scaling_groups[landing]
                where = f"a container instance of capacity {group.origin.label}"
                reserved = _reserved(group)
                if group.reserved_tcp is None:
                    detail = f"{len(group.agent_reserved)} reserved by the agent by default"
                    if len(reserved) > len(group.agent_reserved):
                        detail += f", {len(reserved) - len(group.agent_reserved)} by ECS_RESERVED_PORTS_UDP"
                else:
                    detail = f"{len(reserved)} reserved by ECS_RESERVED_PORTS(_UDP), which replace the agent's defaults"
            own = definition.static_ports - reserved
            shared = everywhere.get(landing, set()) - reserved - own if landing is not None else set()
            total = len(reserved) + len(shared) + len(own)
            if total > RESERVED_PORT_LIMIT and (worst is None or total > worst[0]):
                detail += f", {len(shared)} held by services on every instance, {len(own)} by this task's static host ports"
                worst = (total, where, detail)
        if worst is not None:
            total, where, detail = worst
            yield RULE.finding(
                definition.origin,
                f"{where} would hold {total} reserved ports, more than the ECS agent's limit of "
                f"{RESERVED_PORT_LIMIT} ({detail}): ECS cannot place the task there",
                "map most container ports dynamically (hostPort 0), which does not count toward the limit, or "
                "split the containers across task definitions",
            )


def _reserved(group: AutoScalingGroup) -> set[Port]:
    """The ports an instance of the group reserves: ECS_RESERVED_PORTS(_UDP) when set (they replace
    the agent's defaults), else the defaults."""
    tcp = group.reserved_tcp if isinstance(group.reserved_tcp, tuple) else group.agent_reserved
    udp = group.reserved_udp if isinstance(group.reserved_udp, tuple) else ()
    return {("tcp", p) for p in tcp} | {("udp", p) for p in udp}

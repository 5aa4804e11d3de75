"""How findings word ports, counts, names and capacity: one phrasing for every rule."""

from __future__ import annotations

from collections.abc import Iterable

from ..intrinsics import Key
from ..model import Port, PortPlan

#: What happens to tasks that do not fit (format with `port=`), in ECS's and Docker's words.
PENDING = (
    'the tasks that do not fit stay PENDING (ECS: "unable to place a task because no container instance met '
    'all of its requirements ... already using a port required by your task", reason RESOURCE:PORTS; '
    'started by hand, Docker says "Bind for 0.0.0.0:{port} failed: port is already allocated")'
)


def describe_port(port: Port) -> str:
    """`tcp/8080`; the private port of a distinctInstance constraint (see facts.DISTINCT_INSTANCE) reads
    as what it stands for."""
    if port[0] == "distinctInstance":
        return "an instance of its own (distinctInstance)"
    return f"{port[0]}/{port[1]}"


def describe_ports(ports: Iterable[Port]) -> str:
    """`tcp/8080, tcp/8081`, sorted."""
    return ", ".join(describe_port(p) for p in sorted(ports))


def plural(count: int, word: str) -> str:
    """`1 task`, `2 tasks`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def list_names(labels: Iterable[str], limit: int = 3) -> str:
    """Up to `limit` names, sorted, then `and N more`."""
    labels = sorted(set(labels))
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def describe_capacity(plan: PortPlan, groups: Iterable[Key]) -> str:
    """How messages name a set of Auto Scaling groups."""
    labels = {plan.auto_scaling_groups[key].origin.label for key in groups}
    return " + ".join(sorted(labels)) or "(none found)"

"""scaling-port-overcommit: service auto scaling that asks for more static-port tasks than the capacity holds."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from weakref import WeakKeyDictionary

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import PortPlan
from .contention import contention_of, desired_counts
from .facts import PlacedService, scaling_maximum, static_port_facts
from .rule import Rule
from .static_port_overcommit import Scenario, contending_groups, judge, room_beside
from .unverifiable import unverifiable
from .wording import describe_ports, list_names, plural

RULE = Rule(
    id="scaling-port-overcommit",
    severity=ERROR,
    reported_on="service (or Auto Scaling group)",
    info="Service auto scaling can ask for more tasks with static host ports than their capacity can hold.",
    why="Scale-out stops at the instance count: the extra tasks stay PENDING (RESOURCE:PORTS) when load is highest.",
    fix="Lower MaxCapacity, map the port dynamically (hostPort 0), or let the capacity scale (managed scaling, a larger MaxSize).",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """Static host ports checked with every scaling service at its maximum (the others at their
    desired counts), blamed as static-port-overcommit blames; groups that already fail at their
    desired counts are that rule's."""
    facts = static_port_facts(plan)
    desired = desired_counts(plan)
    peaks: dict[Hashable, int | Unknown] = dict(desired)
    scaling: dict[Hashable, int] = {}
    for item in facts.placed:
        most = scaling_maximum(plan, item.service)
        if item.service.daemon or most is None:
            continue
        if isinstance(most, Unknown):
            yield unverifiable(
                item.service.origin,
                f"its scaling maximum is unknown ({most.reason}): whether its static host ports "
                f"{describe_ports(item.ports)} fit when it scales out cannot be checked",
            )
            continue
        count = desired[item.key]
        if isinstance(count, int) and most > count:
            peaks[item.key] = scaling[item.key] = most
    for target in plan.scalable_targets.values():
        if isinstance(target.service, Unknown):
            yield unverifiable(
                target.origin,
                f"the service it scales is unknown ({target.service.reason}): whether that service's static host "
                "ports fit at its maximum cannot be checked",
            )
    if not scaling:
        return
    scenario = Scenario(
        RULE,
        peaks,
        lead=lambda group: _lead(plan, group, scaling),
        fix=lambda group, label, needed: _fix(plan, group, scaling, label, needed, desired),
        chosen=lambda group, blamed: (blamed & scaling.keys()) or blamed,
    )
    for group in contending_groups(plan, peaks):
        if not any(item.key in scaling for item in group.items):
            continue
        at_desired = contention_of(plan, group.items[0].key, desired)
        if at_desired is None or not at_desired.fits_for_certain:
            continue  # already too many at the desired counts: static-port-overcommit reports the group
        yield from judge(plan, group, scenario)


def _scaling(group: list[PlacedService], scaling: dict[Hashable, int]) -> list[PlacedService]:
    return sorted((i for i in group if i.key in scaling), key=lambda i: i.service.origin.label)


def _lead(plan: PortPlan, group: list[PlacedService], scaling: dict[Hashable, int]) -> str:
    steps = [
        f"{item.service.origin.label} from {plural(item.service.desired_count, 'task')} to {scaling[item.key]} "  # type: ignore[arg-type]
        f"(MaxCapacity of scalable target {plan.scaling[item.key].origin.label})"
        for item in _scaling(group, scaling)
    ]
    return "when service auto scaling takes " + " and ".join(steps) + ", "


def _fix(
    plan: PortPlan,
    group: list[PlacedService],
    scaling: dict[Hashable, int],
    label: str,
    needed: int | None,
    desired: dict[Hashable, int | Unknown],
) -> str:
    scaled = _scaling(group, scaling)
    targets = list_names(plan.scaling[i.key].origin.label for i in scaled)
    most = "what the capacity holds (the plan command shows how many fit)"
    if len(scaled) == 1:
        room = room_beside(plan, scaled[0], desired)
        if room is not None:
            most = str(room.low)  # exact when decided; else the most that surely fit
    size = f"at least {needed}" if needed is not None else "larger"
    return (
        f"lower the MaxCapacity of scalable target {targets} to {most}, or map the container port dynamically "
        f"(hostPort 0) behind the load balancer, or let capacity {label} scale with the service: managed scaling "
        f"through a capacity provider, MaxSize {size}"
    )


_REPORTED: WeakKeyDictionary[PortPlan, frozenset[Key]] = WeakKeyDictionary()


def overcommitted_at_maximum(plan: PortPlan) -> frozenset[Key]:
    """The services this rule reports as errors, by key (the plan marks them OVER AT MAX); worked out
    once per plan."""
    found = _REPORTED.get(plan)
    if found is None:
        found = _REPORTED[plan] = frozenset(
            (f.template, f.resource) for f in check(plan) if f.rule == RULE.id and f.severity == ERROR
        )
    return found

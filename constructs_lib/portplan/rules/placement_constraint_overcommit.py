"""placement-constraint-overcommit: more tasks than the instances a service's placement constraints allow."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Unknown
from ..model import PortPlan, Service
from .facts import PlacedService, distinct_services, peak_count, scaling_maximum
from .rule import Rule
from .unverifiable import unverifiable
from .wording import describe_capacity, list_names, plural

RULE = Rule(
    id="placement-constraint-overcommit",
    severity=ERROR,
    reported_on="service",
    info="A service wants more tasks than the instances its placement constraints (distinctInstance, memberOf) allow.",
    why="The extra tasks stay PENDING: no container instance meets the constraint, whatever the ports.",
    fix="Run fewer tasks (a lower MaxCapacity), give the allowed capacity more instances, or relax the constraint.",
)

_PENDING = (
    'the tasks that do not fit stay PENDING (ECS: "unable to place a task because no container instance met all '
    'of its requirements"; placement constraints bind, and with no instance satisfying {constraint} the task waits)'
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """distinctInstance bounds a service at one task per allowed instance; memberOf can allow none."""
    distinct = {item.key for item in distinct_services(plan)}
    for item in distinct_services(plan):
        yield from _distinct(plan, item)
    for key, pool in plan.pools.items():
        service = plan.services[key]
        if key in distinct or service.scheduling != "REPLICA" or not pool.constraints:
            continue
        tasks = peak_count(plan, service)
        if isinstance(tasks, int) and tasks <= 0:
            continue
        expressions = list_names((f"'{e}'" for e in pool.constraints), limit=2)
        if not pool.members and pool.excluded and not pool.doubts:
            groups = [plan.auto_scaling_groups[a] for a in pool.excluded]
            described = "; ".join(
                f"{g.origin.label}: {', '.join(g.instance_types) or 'instance type unknown'}, {g.os_type}" for g in groups
            )
            yield RULE.finding(
                service.origin,
                f"its memberOf placement constraint {expressions} rules out every instance it can land on "
                f"({described}), so none of its tasks can be placed: "
                + _PENDING.format(constraint="memberOf"),
                "change the memberOf expression so that it matches the capacity the service runs on, or give the "
                "cluster capacity that matches it",
            )
        elif pool.low == 0 and pool.doubts and _constraint_doubts(pool.doubts):
            yield unverifiable(
                service.origin,
                "cannot tell whether any instance it can land on satisfies its memberOf placement constraint "
                f"{expressions}: " + "; ".join(_constraint_doubts(pool.doubts)),
                "write the constraint on attributes the templates tell (ecs.instance-type, ecs.cpu-architecture, "
                "ecs.os-type, ecs.availability-zone with named zones, or an attribute set by ECS_INSTANCE_ATTRIBUTES), "
                "or acknowledge this finding",
            )


def _constraint_doubts(doubts: tuple[str, ...]) -> list[str]:
    return [d for d in doubts if "memberOf" in d]


def _distinct(plan: PortPlan, item: PlacedService) -> Iterator[Finding]:
    service, pool = item.service, item.pool
    desired = service.desired_count
    most = scaling_maximum(plan, service)
    label = describe_capacity(plan, [m.asg for m in pool.members])
    constraint = "distinctInstance"
    if pool.constraints:
        constraint += " (on the instances its memberOf allows)"
    for count, scaled in ((desired, False), (most, True)):
        if count is None or (scaled and isinstance(desired, int) and isinstance(count, int) and count <= desired):
            continue
        what = "its scaling maximum" if scaled else "its desired count"
        if isinstance(count, Unknown):
            yield unverifiable(
                service.origin,
                f"{what} is unknown ({count.reason}): whether its {constraint} constraint leaves room for its tasks "
                "cannot be checked",
            )
            return
        if pool.high is not None and count > pool.high:
            lead = (
                f"when service auto scaling takes it to {plural(count, 'task')} "
                f"(MaxCapacity of scalable target {plan.scaling[service.origin.key].origin.label}), "
                if scaled
                else f"{plural(count, 'task')} "
            )
            yield RULE.finding(
                service.origin,
                lead + f"{'its tasks ' if scaled else ''}need an instance each ({constraint}, whatever their ports), but "
                f"capacity {label} has at most {plural(pool.high, 'instance')}: " + _PENDING.format(constraint=constraint),
                _fix(plan, service, scaled, pool.high, count, label),
            )
            return
        if pool.high is None and count > pool.low:
            yield unverifiable(
                service.origin,
                f"cannot tell whether the instances hold {what} of {plural(count, 'task')}, one per instance "
                f"({constraint}): " + "; ".join(pool.reasons()),
            )
            return


def _fix(plan: PortPlan, service: Service, scaled: bool, instances: int, tasks: int, label: str) -> str:
    fewer = (
        f"lower the MaxCapacity of scalable target {plan.scaling[service.origin.key].origin.label} to {instances}"
        if scaled
        else f"run at most {instances} tasks"
    )
    return (
        f"{fewer}, or give capacity {label} at least {tasks} instances (a higher MaxSize with managed scaling "
        "through a capacity provider), or drop the distinctInstance constraint if tasks may share an instance"
    )


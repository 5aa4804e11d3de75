"""deployment-resource-deadlock: a deployment that has no CPU, memory or ENIs to start its new tasks in.

deployment-port-deadlock's resource sibling: a rolling deployment whose minimumHealthyPercent keeps
every old task running must start a new task first, and a blue/green one starts all of them beside
the old ones; when the capacity's CPU, memory or ENIs (not its ports: that is the port rule's) hold
no more tasks than are running, there is nowhere to start one.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Unknown
from ..model import PortPlan
from ..rollout import healthy_floor, stop_first_percent, task_ceiling
from .resource_facts import PORTS, ResourceFit, Sized, counts_at, resource_facts, resource_fits
from .rule import Rule
from .unverifiable import unverifiable
from .wording import describe_capacity, plural

RULE = Rule(
    id="deployment-resource-deadlock",
    severity=ERROR,
    reported_on="service",
    info="A deployment has no CPU, memory or ENIs left to start its new tasks: a rolling one that may not stop an "
    "old task first on capacity its tasks fill, or a blue/green one that needs room for every task twice.",
    why="The deployment hangs with its new tasks PENDING (RESOURCE:CPU/MEMORY/ENI) until it times out or rolls back.",
    fix="Rolling: lower minimumHealthyPercent so one task may stop first, or leave room for one more task. "
    "Blue/green: give the capacity room for every task twice.",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """Each sized replica service at its desired count, then at its scaling maximum."""
    facts = resource_facts(plan)
    scenarios = [(counts_at(plan, False), resource_fits(plan), "")]
    if plan.scaling:
        scenarios.append((counts_at(plan, True), resource_fits(plan, True), " at its scaling maximum"))
    for key, item in facts.sized.items():
        seen: set[int] = set()
        for counts, fits, when in scenarios:
            count, fit = counts.get(key), fits.get(key)
            if count is None or fit is None or count in seen:
                continue
            seen.add(count)
            finding = _judge(plan, item, count, fit, when)
            if finding is not None:
                yield finding
                break


def _judge(plan: PortPlan, item: Sized, count: int, fit: ResourceFit, when: str) -> Finding | None:
    service = item.service
    if count <= 0 or fit.binding == PORTS or count > fit.high:
        return None  # no tasks; the port rule's; or resource-overcommit's
    capacity = describe_capacity(plan, item.groups)
    if fit.binding == "ENIs":
        capacity += " (without awsvpc trunking, which the templates cannot show)"
    hangs = "; the deployment hangs, its new tasks PENDING, until it times out or the circuit breaker rolls it back"
    if service.blue_green:
        if 2 * count <= fit.low:
            return None
        if 2 * count <= fit.high:
            return _open(item, f"a blue/green deployment{when} finds room for {count} new tasks beside the {count} running", fit)
        return RULE.finding(
            service.origin,
            f"a blue/green deployment{when} starts {plural(count, 'new task')} beside the {count} running, but capacity "
            f"{capacity} holds at most {plural(fit.high, 'task')} of it by {fit.binding}" + hangs,
            f"give capacity {capacity} room for {2 * count} tasks (more or larger instances), or lower the count",
        )
    if service.rolling is not True:
        return None
    minimum, maximum = service.minimum_healthy_percent, service.maximum_percent
    if isinstance(minimum, Unknown) or isinstance(maximum, Unknown) or minimum <= 0:
        return None  # deployment-port-deadlock reports what is unknown
    if healthy_floor(count, minimum) < count or task_ceiling(count, maximum) <= count:
        return None  # an old task may stop first; or the port rule's "no extra task" case
    if fit.low > count:
        return None
    if fit.high > count:
        return _open(item, f"a rolling deployment{when} that may not stop a task first finds room for a new one", fit)
    return RULE.finding(
        service.origin,
        f"a rolling deployment{when} cannot replace any of the {plural(count, 'task')}: minimumHealthyPercent {minimum} "
        f"keeps all of them running (ceil({count} x {minimum}%) = {count}), so a new task must start first, and "
        f"capacity {capacity} holds at most {plural(fit.high, 'task')} of it by {fit.binding}, all running" + hangs,
        f"lower minimumHealthyPercent to {stop_first_percent(count)}, or give capacity {capacity} room for one more "
        "task (more or larger instances, or smaller tasks)",
    )


def _open(item: Sized, what: str, fit: ResourceFit) -> Finding:
    return unverifiable(
        item.service.origin,
        f"cannot tell whether {what}: at least {fit.low} and at most {fit.high} of its tasks fit beside the services "
        f"sharing its instances ({fit.undecided or 'the bounds do not meet'})",
        "acknowledge this finding once checked by hand, or lower minimumHealthyPercent so a task may stop first",
    )

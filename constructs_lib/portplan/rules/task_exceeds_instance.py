"""task-exceeds-instance: a task that asks more CPU, memory or ENIs than any instance it can land on offers."""

from __future__ import annotations

from collections.abc import Iterator
from weakref import WeakKeyDictionary

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import PortPlan
from ..sizing import PENDING_REASONS, RESOURCES, UNITS, describe_ask
from .facts import definition_of
from .resource_facts import ask_for, offer_for, resource_facts
from .rule import Rule
from .wording import describe_capacity

RULE = Rule(
    id="task-exceeds-instance",
    severity=ERROR,
    reported_on="service",
    info="A task needs more CPU, memory or ENIs (awsvpc) than any instance type its capacity can launch offers ECS.",
    why="No instance can ever take the task: it stays PENDING (RESOURCE:CPU, RESOURCE:MEMORY or RESOURCE:ENI) and "
    "the deployment never completes.",
    fix="Size the task below what the instances register (memory is less than the instance type's), or give the "
    "capacity a larger instance type.",
)

def check(plan: PortPlan) -> Iterator[Finding]:
    """Services on EC2 whose task fits on none of the instance types their capacity may get."""
    yield from _exceeding(plan).values()


def exceeding(plan: PortPlan) -> set[Key]:
    """The services this rule reports (resource-overcommit leaves them to it)."""
    return set(_exceeding(plan))


_FOUND: WeakKeyDictionary[PortPlan, dict[Key, Finding]] = WeakKeyDictionary()


def _exceeding(plan: PortPlan) -> dict[Key, Finding]:
    found = _FOUND.get(plan)
    if found is None:
        found = _FOUND[plan] = dict(_judge(plan))
    return found


def _judge(plan: PortPlan) -> Iterator[tuple[Key, Finding]]:
    facts = resource_facts(plan)
    for key, pool in plan.pools.items():
        service = plan.services[key]
        definition = definition_of(plan, service)
        if definition is None or not pool.members or pool.doubts:
            continue
        ask = ask_for(facts, definition)
        if ask is None or isinstance(ask, Unknown):
            continue  # invalid-task-size, or unverifiable, says so
        largest = [offer_for(facts, plan.auto_scaling_groups[m.asg], largest=True) for m in pool.members]
        if any(isinstance(o, Unknown) for o in largest):
            continue
        types = ", ".join(dict.fromkeys(t for offer in largest for t in offer.types))  # type: ignore[union-attr]
        short: list[tuple[str, int, int]] = []  # (resource, asked, the most any type offers)
        for index, name in enumerate(RESOURCES):
            need = ask.amounts()[index]
            have = max(offer.amounts()[index] for offer in largest)  # type: ignore[union-attr]
            if need > have:
                short.append((name, need, have))
        if not short:
            continue
        what = "; ".join(
            f"its {name} ({asked} {UNITS[name]}) is more than any instance type it can land on ({types}) offers "
            f"ECS (at most {offered} {UNITS[name]})"
            for name, asked, offered in short
        )
        trunking = " (without awsvpc trunking, which the templates cannot show)" if short[0][0] == "ENIs" else ""
        yield key, RULE.finding(
            service.origin,
            f"each task asks {describe_ask(ask)}: {what}{trunking}; no instance of capacity "
            f"{describe_capacity(plan, (m.asg for m in pool.members))} can ever place it, so its tasks stay PENDING "
            f"({PENDING_REASONS[short[0][0]]})",
            "lower the task's size below what the instances register, or launch a larger instance type",
        )


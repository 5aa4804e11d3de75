"""invalid-task-size: CPU and memory settings ECS rejects for a task on EC2 (invalid-port's sibling).

On EC2 a task needs a memory size: the task-level Memory, or Memory or MemoryReservation on every
container (ECS: "At least one of 'memory' or 'memoryReservation' must be specified"). A container's
hard limit (Memory) must be above its soft one (MemoryReservation) and within the task's Memory, and
the containers' reservations and Cpu must fit in the task-level sizes.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..model import PortPlan
from ..sizing import size_problems
from .resource_facts import ask_for, resource_facts
from .rule import Rule

RULE = Rule(
    id="invalid-task-size",
    severity=ERROR,
    reported_on="task definition",
    info="A task definition placed on EC2 whose CPU or memory settings ECS rejects (no memory size at all, a soft "
    "limit above the hard one, containers larger than the task).",
    why="RegisterTaskDefinition fails, so the stack's deployment fails, or the task cannot be sized for placement.",
    fix="Give the task a Memory (or every container Memory or MemoryReservation), with each container's hard limit "
    "above its reservation and within the task's sizes.",
)


def check(plan: PortPlan) -> Iterator[Finding]:
    """Task definitions that services place on EC2 capacity, with sizes ECS rejects."""
    used = {
        service.task_definition
        for key, service in plan.services.items()
        if key in plan.pools and isinstance(service.task_definition, tuple)
    }
    facts = resource_facts(plan)
    for key in sorted(used):
        definition = plan.task_definitions.get(key)
        if definition is None or ask_for(facts, definition) is not None:
            continue  # sized (or left open): ECS accepts its sizes
        for _, problem in size_problems(definition):
            yield RULE.finding(
                definition.origin,
                f"{problem}; its services run on EC2 capacity, where ECS needs the task's memory to place it",
                "set the task-level Memory, or Memory (hard limit) or MemoryReservation (soft limit) on every "
                "container, each reservation below its limit and within the task's sizes",
            )

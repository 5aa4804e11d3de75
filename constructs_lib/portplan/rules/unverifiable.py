"""unverifiable: what a rule needs and the templates given do not tell.

Findings of this rule are reported where their cause is found (by the rule that could not decide);
`check` here reports the inputs no other rule reads whole: services and task definitions whose
ports the templates leave open.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..intrinsics import Unknown
from ..model import Origin, PortPlan
from .rule import Rule

RULE = Rule(
    id="unverifiable",
    severity=WARNING,
    info="Something a rule needs cannot be known from the templates given.",
    why="A problem of the kind the other rules catch may go unreported.",
    fix="Pass the templates that define the missing pieces, or acknowledge the finding.",
)

MISSING_TEMPLATES_FIX = "pass the templates that define the missing pieces too, or acknowledge this finding"


def unverifiable(origin: Origin, message: str, fix: str = MISSING_TEMPLATES_FIX) -> Finding:
    """An `unverifiable` finding on `origin`: what cannot be decided, and how to supply it."""
    return RULE.finding(origin, message, fix)


def check(plan: PortPlan) -> Iterator[Finding]:
    """Services and task definitions whose ports the templates leave open."""
    for service in plan.services.values():
        if isinstance(service.task_definition, Unknown):
            yield unverifiable(
                service.origin,
                f"its task definition is unknown ({service.task_definition.reason}): its host ports cannot be checked",
            )
    for definition in plan.task_definitions.values():
        if definition.doubts:
            yield unverifiable(
                definition.origin,
                "; ".join(definition.doubts) + ": the port rules skip what cannot be known",
            )

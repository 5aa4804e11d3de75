"""The rule catalogue: one module per rule, each its metadata (`RULE`) and one pure function
`check(plan)` from the port plan to findings, listed here in reporting order.

Every check reads the model only, never raises on what the templates leave open, and reports an
`unverifiable` warning where a verdict would need what cannot be known. What several rules derive
from one plan lives in `facts`, their shared phrasing in `wording`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from ..findings import Finding, ordered
from ..model import PortPlan
from . import (
    deployment_port_deadlock,
    deployment_resource_deadlock,
    duplicate_host_port,
    dynamic_port_health_check,
    dynamic_port_ingress,
    host_port_mismatch,
    invalid_port,
    invalid_task_size,
    placement_constraint_overcommit,
    reserved_host_port,
    reserved_port_limit,
    resource_overcommit,
    scaling_port_overcommit,
    static_port_in_dynamic_range,
    static_port_overcommit,
    task_exceeds_instance,
    unverifiable,
)
from .assumed import annotate
from .rule import Rule
from .unverifiable import complete, decided_services

_PACK = (
    static_port_overcommit,
    scaling_port_overcommit,
    placement_constraint_overcommit,
    task_exceeds_instance,
    resource_overcommit,
    deployment_port_deadlock,
    deployment_resource_deadlock,
    reserved_host_port,
    reserved_port_limit,
    duplicate_host_port,
    invalid_port,
    invalid_task_size,
    host_port_mismatch,
    dynamic_port_health_check,
    dynamic_port_ingress,
    static_port_in_dynamic_range,
    unverifiable,
)

RULES: tuple[Rule, ...] = tuple(module.RULE for module in _PACK)
"""The catalogue, in reporting order."""

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

CHECKS: dict[str, Callable[[PortPlan], Iterable[Finding]]] = {module.RULE.id: module.check for module in _PACK}
"""Each rule's check, by rule id."""

_ORDER = {rule.id: index for index, rule in enumerate(RULES)}


def run_rules(plan: PortPlan) -> list[Finding]:
    """Every finding of every rule on `plan`, deduplicated, in a deterministic order.

    Then no service goes undecided in silence, every unknown names its remedy, and every finding the
    parameter defaults it rests on (see `unverifiable.complete`, `assumed.annotate`).
    """
    found = list(itertools.chain.from_iterable(check(plan) for check in CHECKS.values()))
    return ordered(annotate(plan, complete(plan, found)), _ORDER)


__all__ = ["CHECKS", "RULES", "RULES_BY_ID", "Rule", "decided_services", "run_rules"]

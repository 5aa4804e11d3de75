"""unverifiable: what a rule needs and the templates given do not tell.

Findings of this rule are reported where their cause is found (by the rule that could not decide);
`check` here reports the inputs no other rule reads whole: services and task definitions whose
ports the templates leave open, load balancer entries naming a container that is unknown, and
nested stacks whose template is not read. `complete` runs after every rule: it names the way to
supply each unknown in the fix (`--parameter NAME=VALUE` for a value given at deployment, the
template that defines a missing resource), and gives every ECS service that no finding decides
an `unverifiable` finding of its own, so that no service passes unchecked in silence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from weakref import WeakKeyDictionary

from ..findings import WARNING, Finding
from ..intrinsics import Key, Unknown
from ..model import Origin, PortPlan, Service
from .facts import definition_of
from .resource_facts import resource_facts
from .rule import Rule

RULE = Rule(
    id="unverifiable",
    severity=WARNING,
    reported_on="the resource left open",
    info="Something a rule needs cannot be known from the templates given.",
    why="A problem of the kind the other rules catch may go unreported.",
    fix="Supply what is unknown: a deploy-time value with --parameter NAME=VALUE, a missing resource's template; "
    "or acknowledge the finding.",
)

MISSING_TEMPLATES_FIX = "pass the templates that define the missing pieces too, or acknowledge this finding"
"""The fix a rule gives when it cannot tell how the unknown is supplied: `complete` works it out."""

_MISSING = (
    "not defined in the templates given",
    "not in the templates given",
    "not among the templates given",
    "not exported by any template given",
)


def unverifiable(origin: Origin, message: str, fix: str = MISSING_TEMPLATES_FIX) -> Finding:
    """An `unverifiable` finding on `origin`: what cannot be decided, and how to supply it."""
    return RULE.finding(origin, message, fix)


def check(plan: PortPlan) -> Iterator[Finding]:
    """Services, task definitions, load balancer entries and nested stacks the templates leave open."""
    for service in plan.services.values():
        if isinstance(service.task_definition, Unknown):
            yield unverifiable(
                service.origin,
                f"its task definition is unknown ({service.task_definition.reason}): its host ports cannot be checked",
            )
        for link in service.load_balancers:
            for value, what in ((link.container_name, "container name"), (link.container_port, "container port")):
                if isinstance(value, Unknown):
                    yield unverifiable(
                        service.origin,
                        f"the {what} of a load balancer entry is unknown ({value.reason}): the rules on the balancer's "
                        "path to its dynamic host ports skip that entry",
                    )
                    break
    for definition in plan.task_definitions.values():
        if definition.doubts:
            yield unverifiable(
                definition.origin,
                "; ".join(definition.doubts) + ": the port rules skip what cannot be known",
            )
    for origin, why in plan.unlinked_stacks:
        yield unverifiable(origin, f"{why}: what it defines is not checked")


_UNDECIDED: WeakKeyDictionary[PortPlan, dict[Key, list[str]]] = WeakKeyDictionary()


def undecided(plan: PortPlan, service: Service) -> list[str]:
    """What keeps a service from being decided (desired count, host ports and capacity known); empty
    when it is decided, and for a service placed on Fargate (no instance ports to check).
    Worked out once per plan and service."""
    known = _UNDECIDED.setdefault(plan, {})
    found = known.get(service.origin.key)
    if found is None:
        found = known[service.origin.key] = _undecided(plan, service)
    return found


def _undecided(plan: PortPlan, service: Service) -> list[str]:
    pool = plan.pools.get(service.origin.key)
    if pool is None and service.launch_type == "FARGATE":
        return []
    reasons = []
    if isinstance(service.scheduling, Unknown):
        reasons.append(f"its scheduling strategy is unknown ({service.scheduling.reason})")
    elif not service.daemon and isinstance(service.desired_count, Unknown):
        reasons.append(f"its desired count is unknown ({service.desired_count.reason})")
    definition = definition_of(plan, service)
    if isinstance(service.task_definition, Unknown):
        reasons.append(f"its task definition is unknown ({service.task_definition.reason})")
    elif definition is None:
        reasons.append("its task definition is not in the templates given")
    elif definition.doubts:
        reasons.append(f"its host ports are not all known ({'; '.join(definition.doubts)})")
    for link in service.load_balancers:
        for value in (link.container_name, link.container_port):
            if isinstance(value, Unknown):
                reasons.append(f"a load balancer entry is unknown ({value.reason})")
                break
    size_doubt = resource_facts(plan).doubts.get(service.origin.key)
    if size_doubt is not None:
        reasons.append(f"its CPU and memory cannot be checked ({size_doubt})")
    if pool is None:
        reasons.append("its capacity is unknown")
    elif pool.high is None:
        reasons.append(f"its capacity is unknown ({'; '.join(pool.reasons()) or 'the templates do not bound it'})")
    return list(dict.fromkeys(reasons))


def decided_services(plan: PortPlan) -> tuple[int, int]:
    """(decided, total) ECS services of the plan."""
    total = len(plan.services)
    return total - sum(1 for service in plan.services.values() if undecided(plan, service)), total


def complete(plan: PortPlan, findings: Sequence[Finding]) -> list[Finding]:
    """Every finding with the fix of its unknowns spelled out, plus an `unverifiable` finding for each
    service left undecided that no finding names yet."""
    told = {(f.template, f.resource) for f in findings if f.rule == RULE.id}
    result = [_supplied(plan, f) if f.rule == RULE.id else f for f in findings]
    for service in plan.services.values():
        if service.origin.key in told:
            continue
        reasons = undecided(plan, service)
        if reasons:
            result.append(
                _supplied(
                    plan,
                    unverifiable(
                        service.origin,
                        "not decided: " + "; ".join(reasons) + ": no rule can tell whether its tasks fit",
                    ),
                )
            )
    return result


def _supplied(plan: PortPlan, finding: Finding) -> Finding:
    """The finding with a fix that says how to supply what its message names as unknown."""
    remedies = list(dict.fromkeys(r for reason, r in plan.remedies.items() if reason in finding.message))
    generic = finding.fix == MISSING_TEMPLATES_FIX
    if remedies:
        fix = "; ".join(remedies)
        fix = f"{fix}, or acknowledge this finding" if generic else f"{finding.fix}; or {fix}"
    elif not generic:
        return finding
    elif any(phrase in finding.message for phrase in _MISSING):
        fix = "pass the template that defines what is missing too, or acknowledge this finding"
    else:
        fix = "acknowledge this finding once you have checked by hand what the templates cannot tell"
    return dataclasses.replace(finding, fix=fix)

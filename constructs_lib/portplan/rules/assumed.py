"""Parameter defaults a finding rests on: "DesiredCount=2, its default".

A parameter nobody gave a value for takes its `Default`; the model notes, per resource, the
defaults its values were read from (`PortPlan.assumptions`). A finding says which of them the
resources it is about rest on, so that a verdict reached on defaults reads as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..findings import Finding
from ..intrinsics import Key
from ..model import PortPlan
from .facts import static_port_facts


def annotate(plan: PortPlan, findings: Sequence[Finding]) -> list[Finding]:
    """The findings, each message ending with the parameter defaults its resources rest on."""
    if not plan.assumptions:
        return list(findings)
    related = _Related(plan)
    result = []
    for finding in findings:
        found = set()
        for key in related.of((finding.template, finding.resource)):
            found.update(plan.assumptions.get(key, ()))
        if found:
            described = "; ".join(sorted({a.describe(finding.template) for a in found}))
            finding = dataclasses.replace(finding, message=f"{finding.message} (this assumes {described})")
        result.append(finding)
    return result


class _Related:
    """The resources whose values a finding on one resource depends on."""

    def __init__(self, plan: PortPlan) -> None:
        self.plan = plan
        self.placed = {item.key: item for item in static_port_facts(plan).placed}
        self.holders: dict[tuple[Key, tuple[str, int]], set[Key]] = {}  # (group, static port) -> services
        for item in self.placed.values():
            for member in item.pool.members:
                for port in item.ports:
                    self.holders.setdefault((member.asg, port), set()).add(item.key)

    def sharing(self, key: Key) -> set[Key]:
        """The services holding one of the service's static ports on one of its groups."""
        item = self.placed.get(key)
        if item is None:
            return set()
        found = set().union(*(self.holders.get((m.asg, p), ()) for m in item.pool.members for p in item.ports))
        found.discard(key)
        return found

    def of(self, key: Key) -> set[Key]:
        plan = self.plan
        keys = {key}
        service = plan.services.get(key)
        if service is not None:
            keys.update(self._service(key))
            for other in self.sharing(key):
                keys.update(self._service(other))
        if key in plan.task_definitions:
            keys.update(plan.landing.get(key, ()))
        target = plan.target_groups.get(key)
        if target is not None:
            for other in plan.services.values():
                if any(link.target_group == key for link in other.load_balancers):
                    keys.update(self._service(other.origin.key))
        if key in plan.security_groups:
            for asg_key, group in plan.auto_scaling_groups.items():
                if isinstance(group.security_groups, tuple) and key in group.security_groups:
                    keys.add(asg_key)
        return keys

    def _service(self, key: Key) -> set[Key]:
        plan = self.plan
        service = plan.services[key]
        keys = {key}
        for value in (service.task_definition, service.cluster):
            if isinstance(value, tuple):
                keys.add(value)
        pool = plan.pools.get(key)
        for member in pool.members if pool is not None else ():
            keys.add(member.asg)
        target = plan.scaling.get(key)
        if target is not None:
            keys.add(target.origin.key)  # its auto scaling bounds
        strategies = [service.strategy]
        cluster = plan.clusters.get(service.cluster) if isinstance(service.cluster, tuple) else None
        if cluster is not None:
            strategies.append(cluster.default_strategy)
        for strategy in strategies:
            for item in strategy if isinstance(strategy, tuple) else ():
                if isinstance(item.provider, tuple):
                    keys.add(item.provider)
        return keys

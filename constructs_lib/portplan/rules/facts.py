"""What several rules (and the plan) derive from one port plan, worked out once per plan.

Who holds which static host ports where (`static_port_facts`), and which dynamically mapped
container ports sit behind which target groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from ..intrinsics import Key, Unknown
from ..model import Pool, Port, PortMapping, PortPlan, Service, TaskDefinition

if TYPE_CHECKING:
    from .contention import ContentionGroups


class PlacedService:
    """A service with static host ports (or a distinctInstance constraint, see distinct_services), its
    task definition (None when the templates do not define it) and capacity pool."""

    __slots__ = ("service", "definition", "pool", "ports", "key")

    def __init__(self, service: Service, definition: TaskDefinition | None, pool: Pool) -> None:
        self.service = service
        self.definition = definition
        self.pool = pool
        self.ports = definition.static_ports if definition is not None else frozenset()
        self.key = service.origin.key


def virtual_class(cluster: Key | None) -> tuple[str, Key | None]:
    """A placement class for capacity a pool may have beyond what the templates show."""
    return ("capacity not in the templates", cluster)


def definition_of(plan: PortPlan, service: Service) -> TaskDefinition | None:
    """The service's task definition, when the templates given define it."""
    key = service.task_definition
    return plan.task_definitions.get(key) if isinstance(key, tuple) else None


class StaticPortFacts:
    """What several rules derive from one plan, computed once.

    `placed`: services on EC2 capacity whose tasks hold static host ports (scheduling known);
    `undecided`: those whose scheduling strategy is unknown; `holders`: (Auto Scaling group, port) ->
    the DAEMON services holding it on every instance; `links`: (service, dynamically mapped
    container port, its target group) for every balanced service; `contention`: the groups of
    services that compete for static ports, with their placement verdicts per scenario, filled on
    first use by `contention.contention_groups` (the rules and the plan read the same ones).
    """

    __slots__ = ("placed", "undecided", "holders", "links", "contention")

    def __init__(
        self,
        placed: list[PlacedService],
        undecided: list[PlacedService],
        holders: dict[tuple[Key, Port], list[PlacedService]],
        links: list[tuple[Service, PortMapping, Key | Unknown]],
    ) -> None:
        self.placed = placed
        self.undecided = undecided
        self.holders = holders
        self.links = links
        self.contention: ContentionGroups | None = None


_FACTS: WeakKeyDictionary[PortPlan, StaticPortFacts] = WeakKeyDictionary()


def static_port_facts(plan: PortPlan) -> StaticPortFacts:
    """Who holds which static host ports where, worked out once per plan; the plan command reads
    the same facts, so its numbers agree with the rules' verdicts."""
    found = _FACTS.get(plan)
    if found is None:
        placed: list[PlacedService] = []
        undecided: list[PlacedService] = []
        for key, pool in plan.pools.items():
            service = plan.services[key]
            definition = definition_of(plan, service)
            if definition is not None and definition.static_ports:
                item = PlacedService(service, definition, pool)
                (undecided if isinstance(service.scheduling, Unknown) else placed).append(item)
        holders: dict[tuple[Key, Port], list[PlacedService]] = defaultdict(list)
        for item in placed:
            if item.service.daemon:
                for member in item.pool.members:
                    for port in item.ports:
                        holders[(member.asg, port)].append(item)
        found = _FACTS[plan] = StaticPortFacts(placed, undecided, dict(holders), list(dynamic_links(plan)))
    return found


def scaling_maximum(plan: PortPlan, service: Service) -> int | Unknown | None:
    """The most tasks service auto scaling can ask of `service`: its scalable target's MaxCapacity
    (raised by scheduled actions); None when nothing scales it."""
    target = plan.scaling.get(service.origin.key)
    if target is None:
        return None
    if target.max_capacity is None:
        return Unknown(f"scalable target {target.origin.label} has no MaxCapacity")
    return target.max_capacity


def peak_count(plan: PortPlan, service: Service) -> int | Unknown:
    """The most tasks `service` runs: its desired count, or more when auto scaling can raise it."""
    desired = service.desired_count
    most = scaling_maximum(plan, service)
    if isinstance(desired, Unknown) or most is None:
        return desired
    if isinstance(most, Unknown):
        return most
    return max(desired, most)


DISTINCT_INSTANCE: Port = ("distinctInstance", 0)
"""distinctInstance as a host port private to its service: each task holds it, so no two share an
instance, and no other service competes for it."""

_CONSTRAINED: WeakKeyDictionary[PortPlan, list[PlacedService]] = WeakKeyDictionary()


def distinct_services(plan: PortPlan) -> list[PlacedService]:
    """Replica services on EC2 capacity whose distinctInstance constraint bounds them and no static
    host port does (a static port already allows one task per instance); their `ports` hold only
    DISTINCT_INSTANCE."""
    found = _CONSTRAINED.get(plan)
    if found is None:
        found = []
        for key, pool in plan.pools.items():
            service = plan.services[key]
            if not service.distinct_instance or service.scheduling != "REPLICA":
                continue
            definition = definition_of(plan, service)
            if definition is not None and definition.static_ports:
                continue
            item = PlacedService(service, definition, pool)
            item.ports = frozenset({DISTINCT_INSTANCE})
            found.append(item)
        _CONSTRAINED[plan] = found
    return found


def static_mappings(definition: TaskDefinition) -> Iterator[tuple[PortMapping, Port]]:
    """The mappings that hold a valid fixed host port, with that port."""
    for mapping in definition.mappings:
        port = definition.host_port(mapping)
        if isinstance(port, int) and 1 <= port <= 65535 and isinstance(mapping.protocol, str):
            yield mapping, (mapping.protocol, port)


def dynamic_links(plan: PortPlan) -> Iterator[tuple[Service, PortMapping, Key | Unknown]]:
    """(service, dynamically mapped container port, its target group) for every balanced service."""
    for service in plan.services.values():
        definition = definition_of(plan, service)
        if definition is None:
            continue
        for link in service.load_balancers:
            if link.target_group is None:
                continue
            for mapping in definition.mappings:
                if (
                    mapping.container == link.container_name
                    and mapping.container_port == link.container_port
                    and definition.host_port(mapping) == 0
                ):
                    yield service, mapping, link.target_group
                    break

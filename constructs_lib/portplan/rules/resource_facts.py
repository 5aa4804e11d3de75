"""How many tasks fit by CPU, memory and ENIs (with their static ports), worked out once per plan.

The resource rules and the plan read the same `ResourceFit` of each service, so `OVER` in the plan
and `resource-overcommit` always agree. The numbers, per service S on EC2 capacity:

- alone: per instance of its capacity, what is free once the DAEMON services there hold theirs,
  divided by S's ask (one task per instance when S holds a static host port or distinctInstance),
  summed over the instances: exact when S has its instances to itself;
- beside the other replica services that share any of its instances ("at most"): for each resource,
  what the instances hold of S's tasks one by one, less, for each task that certainly runs of the
  services confined to them (whose capacity lies within S's; at most their count, what their ports
  let run and what fits them alone), floor(its ask / S's ask) (a task takes at least that much of
  S's room on the instance it lands on); and no more than the room they leave in total; never more
  than alone;
- "at least": one placement of those tasks of every service sharing the instances (services with
  ports first, then the largest asks; spread, else first fit; identical instances counted, not
  enumerated) and, where it places them all, S's tasks plus those of S that still fit in what is left.

When the two meet the number is exact. The placement runs on a budget (`GREEDY_STEPS`); past it
"at least" is 0, which is sound and the plan shows as a range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from ..intrinsics import Key, Unknown
from ..model import AutoScalingGroup, Port, PortPlan, Service, TaskDefinition
from ..sizing import RESOURCES, Ask, Offer, offer_of, per_instance, task_ask
from .contention import contention_groups
from .facts import DISTINCT_INSTANCE, definition_of, peak_count, static_port_facts

GREEDY_STEPS = 400_000
"""Instance classes the first-fit placement of one group of services sharing instances may visit."""

PORTS = "ports"
"""The binding `ResourceFit.binding` names when static host ports (or distinctInstance) bind."""


@dataclass(frozen=True, slots=True)
class Member:
    """An Auto Scaling group of a sized service's capacity: its instances and what each offers free."""

    asg: Key
    instances: int
    offer: Offer
    free: tuple[int, int, int]
    """What an instance offers less what the DAEMON services there reserve."""
    held: frozenset[Port]
    """The static ports DAEMON services hold on every instance."""


@dataclass(eq=False)
class Sized:
    """A replica service on EC2 whose ask and capacity are known."""

    service: Service
    definition: TaskDefinition
    ask: Ask
    ports: frozenset[Port]
    members: tuple[Member, ...]
    groups: frozenset[Key]
    """The Auto Scaling groups of `members`."""

    key: Key = field(init=False)
    """The service's (template, logical id)."""

    def __post_init__(self) -> None:
        self.key = self.service.origin.key


@dataclass(frozen=True, slots=True)
class ResourceFit:
    """How many tasks of a service fit by resources and its ports: at least `low`, at most `high`,
    `binding` the resource that gives `high` ("CPU", "memory", "ENIs" or "ports"); `alone` what
    fits with its instances to itself, and `shared` whether other replica services share them."""

    low: int
    high: int
    binding: str
    alone: int
    shared: bool
    undecided: str | None = None
    """Why `low` is below `high` (the placement's budget, or no placement that places them all)."""

    @property
    def exact(self) -> int | None:
        return self.low if self.low == self.high else None


@dataclass
class ResourceFacts:
    """Per service on EC2: its `Sized` form, or why it cannot be sized (`doubts`), or that ECS rejects
    its task definition's sizes (`invalid`); DAEMON services apart (`daemons`)."""

    sized: dict[Key, Sized] = field(default_factory=dict)
    daemons: dict[Key, tuple[Service, Ask, tuple[Key, ...]]] = field(default_factory=dict)
    doubts: dict[Key, str] = field(default_factory=dict)
    invalid: set[Key] = field(default_factory=set)
    offers: dict[Key, Offer | Unknown] = field(default_factory=dict)
    largest: dict[Key, Offer | Unknown] = field(default_factory=dict)
    asks: dict[Key, Ask | Unknown | None] = field(default_factory=dict)
    """Each task definition's ask, by its key (see sizing.task_ask)."""
    fits: dict[bool, dict[Key, ResourceFit]] = field(default_factory=dict)


_FACTS: WeakKeyDictionary[PortPlan, ResourceFacts] = WeakKeyDictionary()


def resource_facts(plan: PortPlan) -> ResourceFacts:
    """The sized services of `plan`, worked out once per plan."""
    found = _FACTS.get(plan)
    if found is None:
        found = _FACTS[plan] = _build(plan)
    return found


def offer_for(facts: ResourceFacts, group: AutoScalingGroup, largest: bool = False) -> Offer | Unknown:
    """What an instance of `group` offers (of its largest type when `largest`), once per plan."""
    known = facts.largest if largest else facts.offers
    found = known.get(group.origin.key)
    if found is None:
        found = known[group.origin.key] = offer_of(group, largest)
    return found


def ask_for(facts: ResourceFacts, definition: TaskDefinition) -> Ask | Unknown | None:
    """What a task of `definition` asks (sizing.task_ask), once per plan."""
    key = definition.origin.key
    if key not in facts.asks:
        facts.asks[key] = task_ask(definition)
    return facts.asks[key]


def _ports(service: Service, definition: TaskDefinition) -> frozenset[Port]:
    """Its static host ports; a distinctInstance constraint is a port of its own (no other service's)."""
    ports = definition.static_ports
    if service.distinct_instance:
        template, logical_id = service.origin.key
        ports = ports | {(f"{DISTINCT_INSTANCE[0]} {template} {logical_id}", 0)}
    return ports


def _build(plan: PortPlan) -> ResourceFacts:
    facts = ResourceFacts()
    pending: list[tuple[Service, TaskDefinition, Ask, tuple[Key, ...]]] = []
    # A group is one set of instances: counted at the most any service's pool counts on it (MaxSize
    # where managed scaling grows it for one of them), as the plan's capacity counts it.
    most: dict[Key, int] = {}
    pools: dict[int, tuple[Unknown | None, tuple[Key, ...]]] = {}  # services placed alike share a pool
    for key, pool in plan.pools.items():
        service = plan.services[key]
        definition = definition_of(plan, service)
        if definition is None or not pool.members or pool.high is None or isinstance(service.scheduling, Unknown):
            continue  # capacity or task left open: `unverifiable` says so
        ask = ask_for(facts, definition)
        if ask is None:
            facts.invalid.add(key)
            continue
        if isinstance(ask, Unknown):
            facts.doubts[key] = f"its task size is unknown: {ask.reason}"
            continue
        found = pools.get(id(pool))
        if found is None:
            offers = [offer_for(facts, plan.auto_scaling_groups[m.asg]) for m in pool.members]
            unknown = next((o for o in offers if isinstance(o, Unknown)), None)
            found = pools[id(pool)] = (unknown, tuple(m.asg for m in pool.members))
            if unknown is None:
                for member in pool.members:
                    if isinstance(member.instances, int):
                        most[member.asg] = max(most.get(member.asg, 0), member.instances)
        unknown, groups = found
        if unknown is not None:
            facts.doubts[key] = f"what its instances offer is unknown: {unknown.reason}"
        elif service.daemon:
            facts.daemons[key] = (service, ask, groups)
        else:
            pending.append((service, definition, ask, groups))
    load: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    held: dict[Key, set[Port]] = defaultdict(set)
    for service, ask, groups in facts.daemons.values():
        definition = definition_of(plan, service)
        for asg in groups:
            for index, amount in enumerate(ask.amounts()):
                load[asg][index] += amount
            if definition is not None:
                held[asg] |= definition.static_ports
    made: dict[Key, Member] = {}  # one per group, shared by every service landing on it
    shared: dict[tuple[Key, ...], tuple[tuple[Member, ...], frozenset[Key]]] = {}
    for service, definition, ask, groups in pending:
        landing = shared.get(groups)
        if landing is None:
            for asg in groups:
                if asg not in made:
                    offer = facts.offers[asg]
                    assert isinstance(offer, Offer)
                    taken = load.get(asg, (0, 0, 0))
                    free = (offer.cpu - taken[0], offer.memory - taken[1], offer.enis - taken[2])
                    made[asg] = Member(asg, max(most.get(asg, 0), 0), offer, free, frozenset(held.get(asg, ())))
            landing = shared[groups] = (tuple(made[asg] for asg in groups), frozenset(groups))
        facts.sized[service.origin.key] = Sized(service, definition, ask, _ports(service, definition), *landing)
    return facts


def counts_at(plan: PortPlan, at_maximum: bool) -> dict[Key, int]:
    """Each sized service's task count: its desired count, or its scaling maximum when `at_maximum`
    (services whose count is unknown are left out)."""
    counts: dict[Key, int] = {}
    for key, item in resource_facts(plan).sized.items():
        count = peak_count(plan, item.service) if at_maximum else item.service.desired_count
        if isinstance(count, int):
            counts[key] = max(count, 0)
    return counts


def resource_fits(plan: PortPlan, at_maximum: bool = False) -> dict[Key, ResourceFit]:
    """The `ResourceFit` of every sized service whose resources (or ports) bound it, with every
    service at its desired count (at its scaling maximum when `at_maximum`)."""
    facts = resource_facts(plan)
    found = facts.fits.get(at_maximum)
    if found is None:
        found = facts.fits[at_maximum] = _fits(facts, counts_at(plan, at_maximum), _port_capped(plan, at_maximum))
    return found


def _port_capped(plan: PortPlan, at_maximum: bool) -> dict[Key, int]:
    """The tasks of each service with static host ports that their ports let run (contention's "at
    least"), the counts the first-fit placement places: tasks no instance has the port for take nothing."""
    scenario: dict[Hashable, int | Unknown] | None = None
    if at_maximum:
        scenario = {i.key: peak_count(plan, i.service) for i in static_port_facts(plan).placed if not i.service.daemon}
    capped: dict[Key, int] = {}
    holders = static_port_facts(plan).holders
    for group in contention_groups(plan, scenario):
        if len(group.items) == 1:  # alone on its ports: all its tasks run where the pool holds them
            only = group.items[0]
            count = only.service.desired_count if scenario is None else scenario.get(only.key)
            if isinstance(count, int) and count <= only.pool.low and not any(
                (m.asg, port) in holders for m in only.pool.members for port in only.ports
            ):
                continue
        for item in group.items:
            room = group.room(item.key)
            if room is not None:
                capped[item.key] = room.low
    return capped


def alone_fit(item: Sized) -> tuple[int | None, str | None]:
    """How many of its tasks fit with its instances to itself, and what binds (None: nothing does)."""
    total = 0
    binding: str | None = None
    most = -1
    for member in item.members:
        count, what = _per_instance(item, member.free, member.held)
        if count is None:
            return None, None
        total += member.instances * count
        if member.instances > most:
            most, binding = member.instances, what
    return total, binding


def _per_instance(item: Sized, free: tuple[int, int, int], held: frozenset[Port]) -> tuple[int | None, str | None]:
    if item.ports and not held.isdisjoint(item.ports):
        return 0, PORTS
    count, what = per_instance(item.ask, free)
    if item.ports and (count is None or count >= 1):  # a tie names the ports (their rule reports it)
        return 1, PORTS
    return count, what


def _fits(facts: ResourceFacts, counts: Mapping[Key, int], capped: Mapping[Key, int]) -> dict[Key, ResourceFit]:
    items = list(facts.sized.values())
    # Services that share an instance, directly or through others, are placed together.
    parent: dict[Hashable, Hashable] = {}

    def root(node: Hashable) -> Hashable:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for item in items:
        for member in item.members:
            parent[root(member.asg)] = root(item.members[0].asg) if item.members else root(member.asg)
    groups: dict[Hashable, list[Sized]] = defaultdict(list)
    for item in items:
        if item.members:
            groups[root(item.members[0].asg)].append(item)
    result: dict[Key, ResourceFit] = {}
    placed = {key: min(count, capped.get(key, count)) for key, count in counts.items()}
    for group in groups.values():
        result.update(_group_fits(group, placed))
    return result


def _group_fits(group: list[Sized], placed: Mapping[Key, int]) -> dict[Key, ResourceFit]:
    result: dict[Key, ResourceFit] = {}
    alone: dict[Key, tuple[int, str]] = {}
    for item in group:
        total, binding = alone_fit(item)
        if total is not None and binding is not None:
            alone[item.key] = (total, binding)
    if len(group) == 1:
        item = group[0]
        if item.key in alone:
            total, binding = alone[item.key]
            result[item.key] = ResourceFit(total, total, binding, total, False)
        return result
    # The tasks that certainly run: no more than their ports let run (contention's "at least") nor
    # than fit with the instances to themselves; they are what the others certainly reserve, and
    # what the placement places. Those of services confined to a set of instances, by distinct ask.
    running = {i.key: min(placed.get(i.key, 0), _alone_count(alone, i, placed)) for i in group}
    confined: dict[frozenset[Key], dict[Ask, int]] = defaultdict(lambda: defaultdict(int))
    for item in group:
        confined[item.groups][item.ask] += running[item.key]
    low, open_why = _first_fit(group, running)
    rooms: dict[tuple[frozenset[Key], Ask], list[tuple[int, int, int]]] = {}
    for item in group:
        if item.key not in alone:
            continue
        total, binding = alone[item.key]
        high, what = total, binding
        # Per resource: what the instances hold of its tasks one by one, what the confined tasks take
        # of that, and the room they leave in total; its own tasks counted in, once per shape.
        shape = (item.groups, item.ask)
        found = rooms.get(shape)
        if found is None:
            found = rooms[shape] = _rooms(item, confined)
        own = running[item.key]
        for index, need in enumerate(item.ask.amounts()):
            if need <= 0:
                continue
            # Every other task confined to its instances sits on one of them, and takes at least
            # floor(its ask / S's ask) of S's tasks' room there; nor can S's tasks outgrow the room left.
            per_instance_room, taken, left = found[index]
            room = max(min(per_instance_room - (taken - own), (left + need * own) // need), 0)
            if room < high:
                high, what = room, RESOURCES[index]
        least = min(low.get(item.key, 0), high)
        result[item.key] = ResourceFit(least, high, what, total, True, open_why if least < high else None)
    return result


def _rooms(item: Sized, confined: Mapping[frozenset[Key], Mapping[Ask, int]]) -> list[tuple[int, int, int]]:
    """Per resource (CPU, memory, ENIs) of `item`'s ask: how many of its tasks the instances hold one by
    one, floor(ask / its ask) summed over every task confined to its instances (its own included), and
    the room those tasks leave in total."""
    tasks: dict[Ask, int] = defaultdict(int)
    for groups, asks in confined.items():
        if groups <= item.groups:
            for ask, count in asks.items():
                tasks[ask] += count
    found = []
    for index, need in enumerate(item.ask.amounts()):
        if need <= 0:
            found.append((0, 0, 0))
            continue
        per_instance_room = sum(m.instances * (max(m.free[index], 0) // need) for m in item.members)
        taken = sum((ask.amounts()[index] // need) * count for ask, count in tasks.items())
        left = sum(m.instances * max(m.free[index], 0) for m in item.members)
        left -= sum(ask.amounts()[index] * count for ask, count in tasks.items())
        found.append((per_instance_room, taken, left))
    return found


def _alone_count(alone: Mapping[Key, tuple[int, str]], item: Sized, placed: Mapping[Key, int]) -> int:
    """The most tasks of `item` that fit with its instances to itself (its placed count when unbounded)."""
    found = alone.get(item.key)
    return found[0] if found is not None else placed.get(item.key, 0)


class _Budget(Exception):
    pass


Class = tuple[int, tuple[int, int, int], frozenset[Port], Key]
"""Identical instances: how many, what each has free, the static ports held there, their Auto Scaling group."""


def _first_fit(group: list[Sized], counts: Mapping[Key, int]) -> tuple[dict[Key, int], str | None]:
    """At least how many tasks of each service fit beside the others at their counts: a placement of
    all of them (services holding ports first, then by the largest asks; tasks spread evenly, else
    first fit) on instance classes (identical instances counted once, not enumerated); where one
    places everything, each service's count plus what still fits of it. Else ({}, why not)."""
    start: dict[tuple[tuple[int, int, int], frozenset[Port], Key], int] = {}
    for item in group:
        for member in item.members:
            start.setdefault((member.free, member.held, member.asg), member.instances)
    order = sorted(group, key=lambda i: (not i.ports, -i.ask.memory, -i.ask.cpu, -i.ask.enis, i.key))
    budget = [GREEDY_STEPS]
    try:
        for spread in (True, False):
            classes: list[Class] = [(n, free, held, asg) for (free, held, asg), n in start.items()]
            for item in order:
                placed = _spread(item, counts.get(item.key, 0), classes, budget) if spread else None
                if placed is None:
                    placed = _fill(item, counts.get(item.key, 0), classes, budget)
                if placed is None:
                    break
                classes = placed
            else:
                return _with_room(group, counts, classes, budget), None
    except _Budget:
        return {}, "the placement ran out of its budget"
    return {}, "neither spreading nor packing the tasks placed them all"


def _step(budget: list[int], work: int = 1) -> None:
    budget[0] -= work
    if budget[0] < 0:
        raise _Budget


def _merged(classes: list[Class]) -> list[Class]:
    counted: dict[tuple[tuple[int, int, int], frozenset[Port], Key], int] = {}
    for n, free, held, asg in classes:
        if n:
            key = (free, held, asg)
            counted[key] = counted.get(key, 0) + n
    return [(n, free, held, asg) for (free, held, asg), n in counted.items()]


def _spread(item: Sized, left: int, classes: list[Class], budget: list[int]) -> list[Class] | None:
    """Place `left` tasks one per instance per round over every instance with room; None when they do not all fit."""
    while left > 0:
        _step(budget, len(classes))
        after: list[Class] = []
        progressed = False
        for n, free, held, asg in classes:
            each = _per_instance(item, free, held)[0] if left and asg in item.groups else 0
            if each is None:
                return classes  # it reserves nothing: every task fits anywhere
            if not each:
                after.append((n, free, held, asg))
                continue
            taken = min(n, left)
            left -= taken
            progressed = True
            after.append((taken, _less(free, item.ask, 1), held | item.ports, asg))
            after.append((n - taken, free, held, asg))
        if not progressed:
            return None  # no instance has room for another task: the rest do not fit
        classes = _merged(after)
    return classes


def _fill(item: Sized, left: int, classes: list[Class], budget: list[int]) -> list[Class] | None:
    """Place `left` tasks first fit, each instance as full as it goes; None when they do not all fit."""
    after: list[Class] = []
    for n, free, held, asg in classes:
        _step(budget)
        each = _per_instance(item, free, held)[0] if left and asg in item.groups else 0
        if each is None:
            return classes
        if not each:
            after.append((n, free, held, asg))
            continue
        full = min(n, left // each)
        rest = left - full * each if full < n else 0
        after.append((full, _less(free, item.ask, each), held | item.ports, asg))
        after.append((1 if rest else 0, _less(free, item.ask, rest), held | item.ports, asg))
        after.append((n - full - (1 if rest else 0), free, held, asg))
        left -= full * each + rest
    return _merged(after) if left == 0 else None


def _with_room(group: list[Sized], counts: Mapping[Key, int], classes: list[Class], budget: list[int]) -> dict[Key, int]:
    """Each service's count plus the tasks of it that still fit in what the placement leaves."""
    result: dict[Key, int] = {}
    for item in group:
        _step(budget, len(classes))
        extra = 0
        for n, free, held, asg in classes:
            if asg in item.groups:
                each = _per_instance(item, free, held)[0]
                extra += n * (each or 0)
        result[item.key] = counts.get(item.key, 0) + extra
    return result


def _less(free: tuple[int, int, int], ask: Ask, tasks: int) -> tuple[int, int, int]:
    return (free[0] - ask.cpu * tasks, free[1] - ask.memory * tasks, free[2] - ask.enis * tasks)

"""resource-overcommit: more tasks than the CPU, memory or ENIs of their capacity can hold."""

from __future__ import annotations

from collections.abc import Iterator
from weakref import WeakKeyDictionary

from ..findings import ERROR, Finding
from ..intrinsics import Key
from ..model import PortPlan
from ..sizing import PENDING_REASONS, RESOURCES, UNITS, Ask, Offer, describe_ask
from .facts import scaling_maximum
from .resource_facts import PORTS, ResourceFit, Sized, counts_at, resource_facts, resource_fits
from .rule import Rule
from .task_exceeds_instance import exceeding
from .unverifiable import unverifiable
from .wording import describe_capacity, list_names, plural

RULE = Rule(
    id="resource-overcommit",
    severity=ERROR,
    reported_on="service",
    info="The tasks of a capacity (at their desired counts, or with auto scaling at its maximum) need more CPU, "
    "memory or ENIs than its instances register.",
    why="The tasks that find no instance with room stay PENDING (RESOURCE:CPU, RESOURCE:MEMORY or RESOURCE:ENI).",
    fix="Lower the counts or the tasks' sizes, or give the capacity more or larger instances.",
)



def check(plan: PortPlan) -> Iterator[Finding]:
    """Each sized service whose count exceeds what fits, at its desired count, then at its scaling maximum."""
    facts = resource_facts(plan)
    desired = counts_at(plan, False)
    fits = resource_fits(plan)
    reported: set[Key] = set(exceeding(plan))  # task-exceeds-instance's
    yield from _daemons(plan, reported)
    for key, item in facts.sized.items():
        if key in reported:
            continue
        finding = _judge(plan, item, desired.get(key), fits.get(key), None)
        if finding is not None:
            reported.add(key)
            yield finding
    if not plan.scaling:
        return
    peaks = counts_at(plan, True)
    at_max = resource_fits(plan, True)
    for key, item in facts.sized.items():
        most = scaling_maximum(plan, item.service)
        if key in reported or not isinstance(most, int) or peaks.get(key) == desired.get(key):
            continue
        finding = _judge(plan, item, peaks.get(key), at_max.get(key), most)
        if finding is not None:
            yield finding


def _daemons(plan: PortPlan, reported: set[Key]) -> Iterator[Finding]:
    """DAEMON services whose tasks together need more of an instance than it offers: on every instance
    of that capacity one of them stays PENDING (each one alone fits, or task-exceeds-instance says so)."""
    facts = resource_facts(plan)
    on: dict[Key, list[tuple[Key, Ask]]] = {}
    for key, (_, ask, groups) in facts.daemons.items():
        for asg in groups:
            on.setdefault(asg, []).append((key, ask))
    for asg, daemons in on.items():
        offer = facts.offers.get(asg)
        if len(daemons) < 2 or not isinstance(offer, Offer):
            continue
        for index, name in enumerate(RESOURCES):
            need = sum(ask.amounts()[index] for _, ask in daemons)
            have = offer.amounts()[index]
            if need <= have:
                continue
            unit = UNITS[name]
            names = list_names(plan.services[key].origin.label for key, _ in daemons)
            capacity = describe_capacity(plan, [asg])
            for key, _ in daemons:
                if key in reported:
                    continue
                reported.add(key)
                yield RULE.finding(
                    plan.services[key].origin,
                    f"the DAEMON services {names} each place a task on every instance of capacity {capacity}, and "
                    f"together they ask {need} {unit} of an instance of {offer.label}, which offers {have}: on every "
                    f"instance one of them stays PENDING ({PENDING_REASONS[name]})",
                    f"shrink the daemons' {name}, run fewer of them on capacity {capacity}, or give it a larger "
                    "instance type",
                )
            break


def _judge(plan: PortPlan, item: Sized, count: int | None, fit: ResourceFit | None, most: int | None) -> Finding | None:
    if count is None or fit is None or fit.binding == PORTS or count <= fit.low:
        return None
    scenario = f"at its scaling maximum of {count}" if most is not None else f"at its desired count of {count}"
    if count <= fit.high:
        return unverifiable(
            item.service.origin,
            f"cannot tell whether all its tasks fit by CPU, memory and ENIs {scenario}: at least {fit.low} and at most "
            f"{fit.high} do beside the services sharing its instances ({fit.undecided or 'the bounds do not meet'})",
            "acknowledge this finding once the counts are checked by hand, or give the services instances of their own",
        )
    return RULE.finding(item.service.origin, _message(plan, item, count, fit, scenario), _fix(item, count, fit))


def _message(plan: PortPlan, item: Sized, count: int, fit: ResourceFit, scenario: str) -> str:
    capacity = describe_capacity(plan, item.groups)
    index = RESOURCES.index(fit.binding)
    unit = UNITS[fit.binding]
    offers = "; ".join(
        f"{plural(m.instances, 'instance')} of {m.offer.label}, {max(m.free[index], 0)} {unit} each for tasks"
        for m in item.members
    )
    text = (
        f"{plural(count, 'task')} {scenario}, each asking {describe_ask(item.ask)}, but at most {fit.high} fit by "
        f"{fit.binding} on capacity {capacity} ({offers})"
    )
    if fit.shared and fit.high < fit.alone:
        sharing = _sharing(plan, item)
        text += f", beside the tasks of {sharing} on the same instances"
    return text + f"; the rest stay PENDING ({PENDING_REASONS[fit.binding]})"


def _sharing(plan: PortPlan, item: Sized) -> str:
    """Up to three of the services sharing its instances, then how many more."""
    labels = _labels(plan)
    names: list[str] = []
    total = 0
    for groups, found in labels.items():
        if groups & item.groups:
            total += len(found)
            names.extend(found[:4])
    own = item.service.origin.label
    names = sorted(n for n in set(names) if n != own)[:3]
    more = total - 1 - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "") if names else "other services"


_LABELS: WeakKeyDictionary[PortPlan, dict[frozenset[Key], list[str]]] = WeakKeyDictionary()


def _labels(plan: PortPlan) -> dict[frozenset[Key], list[str]]:
    """The sized services' labels, sorted, by the set of Auto Scaling groups they land on; once per plan."""
    found = _LABELS.get(plan)
    if found is None:
        grouped: dict[frozenset[Key], list[str]] = {}
        for other in resource_facts(plan).sized.values():
            grouped.setdefault(other.groups, []).append(other.service.origin.label)
        found = _LABELS[plan] = {groups: sorted(names) for groups, names in grouped.items()}
    return found


def _fix(item: Sized, count: int, fit: ResourceFit) -> str:
    if fit.binding == "ENIs":
        return (
            f"lower the count to {fit.high}, use bridge network mode, or give the capacity more instances or types "
            "with more ENIs (with awsvpcTrunking on in the account's ECS settings, trunking types hold more awsvpc "
            "tasks: the templates cannot show it, so acknowledge this finding if it is on)"
        )
    registered = " (an instance registers less memory than its type has)" if fit.binding == "memory" else ""
    return (
        f"lower the count to {fit.high} or the task's {fit.binding}, or give the capacity more or larger "
        f"instances{registered}"
    )

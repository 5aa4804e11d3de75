"""dynamic-port-ingress: security groups that keep the balancer from the dynamic host port range."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import (
    AutoScalingGroup,
    Origin,
    PortMapping,
    PortPlan,
    SecurityGroupRule,
    Service,
)
from .facts import static_port_facts
from .rule import Rule
from .unverifiable import unverifiable
from .wording import list_names

RULE = Rule(
    id="dynamic-port-ingress",
    severity=ERROR,
    info="The balancer's and the instances' security groups do not open the whole dynamic host port range.",
    why="The balancer cannot reach the tasks: health checks time out and every target stays unhealthy.",
    fix="Allow ingress on the instances from the balancer's security group on exactly the dynamic range in force.",
)


def _covered(intervals: Iterable[tuple[int, int]], low: int, high: int) -> int:
    """How many ports of [low, high] the union of `intervals` covers."""
    total, reach = 0, low - 1
    for start, end in sorted(intervals):
        start, end = max(start, reach + 1), min(end, high)
        if start <= end:
            total += end - start + 1
            reach = end
    return total


def _reach(rules: Iterable[SecurityGroupRule], peers: set[Key]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """tcp port intervals a set of rules opens to `peers` (or VPC-wide): certainly, and possibly."""
    certain: list[tuple[int, int]] = []
    possible: list[tuple[int, int]] = []
    for rule in rules:
        protocol = rule.protocol
        interval = (0, 65535)
        if isinstance(protocol, Unknown):
            possible.append(interval)
            continue
        if protocol not in ("tcp", "all"):
            continue
        if protocol == "tcp":
            start, end = rule.from_port, rule.to_port
            if not isinstance(start, int) or not isinstance(end, int):
                possible.append(interval)
                continue
            if start != -1 or end != -1:
                interval = (start, end)
        peer = rule.peer
        if peer.vpc_wide or peer.group in peers:
            certain.append(interval)
        elif peer.doubt is not None:
            possible.append(interval)
    return certain, possible


class _Path:
    """What one balancer-to-instances path opens of the dynamic range in force on the instances.

    `doubt` says why the path cannot be checked at all. `inside` and `outside` are the instances'
    and the balancer's security groups found in the templates; `ingress` and `egress` count the ports
    of [low, high] certainly and possibly open in each direction; `open` says both are wholly open.
    """

    __slots__ = ("doubt", "low", "high", "inside", "outside", "ingress", "egress", "open", "nowhere")

    def __init__(
        self,
        doubt: str | None,
        low: int = 0,
        high: int = 0,
        inside: tuple[Key, ...] = (),
        outside: tuple[Key, ...] = (),
        ingress: tuple[int, int] = (0, 0),
        egress: tuple[int, int] = (0, 0),
    ) -> None:
        self.doubt = doubt
        self.low = low
        self.high = high
        self.inside = inside
        self.outside = outside
        self.ingress = ingress
        self.egress = egress
        total = high - low + 1
        self.open = doubt is None and ingress[0] == total and egress[0] == total  # certainly open both ways
        self.nowhere = False  # the balancer's groups let nothing out at all


class _Subject:
    """A balanced container port, named in messages only: formatted when a finding needs it."""

    __slots__ = ("service", "mapping")

    def __init__(self, service: Service, mapping: PortMapping) -> None:
        self.service = service
        self.mapping = mapping

    def __str__(self) -> str:
        mapping = self.mapping
        return f"service {self.service.origin.label} (container {mapping.container} port {mapping.container_port})"


class _Gap:
    """A direction of a path that does not open the whole range, and who meets it."""

    __slots__ = ("origin", "count", "subjects", "capacity")

    def __init__(self, origin: Origin, count: int) -> None:
        self.origin = origin
        self.count = count
        self.subjects: set[str] = set()
        self.capacity: set[str] = set()


def check(plan: PortPlan) -> Iterator[Finding]:
    """The balancer and the instances cannot talk on the whole dynamic host port range."""
    paths: dict[tuple[Key, tuple[Key | Unknown, ...]], _Path] = {}
    gaps: dict[tuple[str, tuple[Key, ...], tuple[Key, ...], tuple[int, int], bool], _Gap] = {}
    for service, mapping, target in static_port_facts(plan).links:
        if isinstance(target, Unknown):
            continue  # dynamic-port-health-check reports it
        group = plan.target_groups[target]
        subject = _Subject(service, mapping)
        if isinstance(group.target_type, Unknown):
            yield unverifiable(group.origin, f"its TargetType is unknown ({group.target_type.reason})")
            continue
        pool = plan.pools.get(service.origin.key)
        if group.target_type != "instance" or pool is None:
            continue
        if not group.load_balancers:
            yield unverifiable(
                group.origin,
                f"no listener of the templates given forwards to it, so the balancer of {subject} and its security "
                "groups are unknown",
            )
            continue
        if not pool.members:
            yield unverifiable(
                service.origin, "its instances' security groups are unknown: " + "; ".join(pool.reasons())
            )
            continue
        for balancer_key in group.load_balancers:
            if isinstance(balancer_key, Unknown):
                yield unverifiable(group.origin, f"a balancer forwarding to it is unknown ({balancer_key.reason})")
                continue
            balancer = plan.load_balancers[balancer_key]
            if not balancer.security_groups:
                if balancer.kind != "network":
                    yield unverifiable(
                        balancer.origin,
                        "it names no SecurityGroups, so it uses the VPC's default security group, which the "
                        f"templates do not show: its reach to {subject} cannot be checked",
                    )
                continue
            for member in pool.members:
                asg = plan.auto_scaling_groups[member.asg]
                cache_key = (member.asg, balancer.security_groups)
                path = paths.get(cache_key)
                if path is None:
                    path = paths[cache_key] = _path(plan, balancer.security_groups, asg)
                if path.doubt is not None:
                    yield unverifiable(
                        asg.origin, f"{path.doubt}: the balancer's reach to {subject} cannot be checked"
                    )
                    continue
                if path.open:
                    continue
                total = path.high - path.low + 1
                sides = (("in", path.ingress, path.inside), ("out", path.egress, path.outside))
                missing = [(direction, opened[0], owners) for direction, opened, owners in sides if opened[1] < total]
                for direction, count, owners in missing:
                    gap = gaps.setdefault(
                        (direction, path.inside, path.outside, (path.low, path.high), path.nowhere and direction == "out"),
                        _Gap(plan.security_groups[owners[0]].origin, count),
                    )
                    gap.subjects.add(str(subject))
                    gap.capacity.add(asg.origin.label)
                if not missing:
                    yield unverifiable(
                        asg.origin,
                        f"whether balancer {balancer.origin.label} reaches its instances on dynamic ports "
                        f"{path.low}-{path.high} for {subject} depends on security group rules whose peers or ports "
                        "the templates leave open",
                    )
    for (direction, inside, outside, (low, high), nowhere), gap in sorted(gaps.items(), key=lambda item: item[0]):
        yield _gap_finding(plan, direction, inside, outside, low, high, gap, nowhere)


def _gap_finding(
    plan: PortPlan,
    direction: str,
    inside: tuple[Key, ...],
    outside: tuple[Key, ...],
    low: int,
    high: int,
    gap: _Gap,
    nowhere: bool = False,
) -> Finding:
    instances = _group_labels(plan, inside)
    balancers = _group_labels(plan, outside)
    effect = (
        f": {list_names(gap.subjects, 2)} receives traffic on dynamic host ports in that range (the range in force on "
        f"capacity {list_names(gap.capacity)}), so the balancer cannot reach its targets, health checks time out and "
        "every target stays unhealthy"
    )
    opened = f"{gap.count} of {high - low + 1} ports {low}-{high}"
    if nowhere:
        message = (
            f"balancer security group {balancers} lets no traffic out on ports {low}-{high} to any destination "
            "(its egress rules, such as CDK's \"Disallow all traffic\" placeholder, open none of them)" + effect
        )
        target = instances if inside else "the instances' security group"
        fix = (
            f"allow egress from {balancers} to {target} on tcp {low}-{high} "
            f"(CDK: load_balancer.connections.allow_to(asg, ec2.Port.tcp_range({low}, {high}))); give the instances "
            "a security group of their own if their launch template has none"
        )
        return RULE.finding(gap.origin, message, fix)
    if direction == "in":
        several = len(inside) > 1
        message = (
            f"instances' security group{'s' if several else ''} {instances} allow{'' if several else 's'} {opened} "
            f"from balancer security group {balancers}" + effect
        )
        fix = (
            f"allow ingress on {instances} from {balancers} on tcp {low}-{high}, exactly the dynamic range in force "
            f"(CDK: asg.connections.allow_from(load_balancer, ec2.Port.tcp_range({low}, {high}))), and pin "
            f"ECS_DYNAMIC_HOST_PORT_RANGE={low}-{high} in the instances' user data so the range cannot drift"
        )
    else:
        message = (
            f"balancer security group {balancers} allows {opened} out to the instances' security group {instances}"
            + effect
        )
        fix = (
            f"allow egress from {balancers} to {instances} on tcp {low}-{high} "
            f"(CDK: load_balancer.connections.allow_to(asg, ec2.Port.tcp_range({low}, {high})))"
        )
    return RULE.finding(gap.origin, message, fix)


def _group_labels(plan: PortPlan, keys: Iterable[Key]) -> str:
    return ", ".join(plan.security_groups[k].origin.label for k in keys) or "(defined elsewhere)"


def _nowhere(plan: PortPlan, balancer_groups: tuple[Key | Unknown, ...], dynamic_range: tuple[int, int] | Unknown) -> bool:
    """Whether the balancer's security groups, all in the templates, let no tcp traffic out on the
    range (or on any port, when the range is unknown) to any destination at all: CDK's "Disallow all
    traffic" egress placeholder alone, say."""
    outside = [k for k in balancer_groups if isinstance(k, tuple) and k in plan.security_groups]
    if not outside or len(outside) < len(balancer_groups):
        return False
    low, high = dynamic_range if isinstance(dynamic_range, tuple) else (0, 65535)
    reach: list[tuple[int, int]] = []
    for key in outside:
        group = plan.security_groups[key]
        if group.allows_all_egress:
            return False
        for rule in group.egress:
            peer = rule.peer
            if peer.group is None and not peer.vpc_wide and peer.doubt is None:
                continue  # a peer that matches nothing here (IPv6)
            certain, possible = _reach([rule], {peer.group} if peer.group is not None else set())
            reach += certain + possible
    return _covered(reach, low, high) == 0


def _path(plan: PortPlan, balancer_groups: tuple[Key | Unknown, ...], asg: AutoScalingGroup) -> _Path:
    """Measure what the balancer's and the instances' security groups open of the dynamic range."""
    dynamic_range, instance_groups = asg.dynamic_range, asg.security_groups
    if _nowhere(plan, balancer_groups, dynamic_range):
        path = _measured(plan, balancer_groups, asg)
        if path.doubt is not None:  # the instances' side is open: the balancer's alone fails
            low, high = dynamic_range if isinstance(dynamic_range, tuple) else (0, 65535)
            outside = tuple(k for k in balancer_groups if isinstance(k, tuple))
            total = high - low + 1
            path = _Path(None, low, high, (), outside, (total, total), (0, 0))
        path.egress, path.open, path.nowhere = (0, 0), False, True
        return path
    return _measured(plan, balancer_groups, asg)


def _measured(plan: PortPlan, balancer_groups: tuple[Key | Unknown, ...], asg: AutoScalingGroup) -> _Path:
    """What both sides open of the dynamic range, or why that cannot be told."""
    dynamic_range, instance_groups = asg.dynamic_range, asg.security_groups
    if isinstance(dynamic_range, Unknown):
        return _Path(f"its instances' dynamic host port range is unknown ({dynamic_range.reason})")
    if isinstance(instance_groups, Unknown):
        return _Path(f"its instances' security groups are unknown ({instance_groups.reason})")
    if not instance_groups:
        return _Path("its instances get the VPC's default security group, which the templates do not show")
    low, high = dynamic_range
    inside = tuple(k for k in instance_groups if isinstance(k, tuple) and k in plan.security_groups)
    outside = tuple(k for k in balancer_groups if isinstance(k, tuple) and k in plan.security_groups)
    everything = [(0, 65535)]
    # A group defined elsewhere may open anything: it makes the whole range possible, never certain.
    certain_in: list[tuple[int, int]] = []
    possible_in = everything if len(inside) < len(instance_groups) else []
    for key in inside:
        certain, possible = _reach(plan.security_groups[key].ingress, set(outside))
        certain_in += certain
        possible_in = possible_in + possible
    certain_out: list[tuple[int, int]] = []
    possible_out = everything if len(outside) < len(balancer_groups) else []
    for key in outside:
        group = plan.security_groups[key]
        certain, possible = (everything, []) if group.allows_all_egress else _reach(group.egress, set(inside))
        certain_out += certain
        possible_out = possible_out + possible
    return _Path(
        doubt=None,
        low=low,
        high=high,
        inside=inside,
        outside=outside,
        ingress=(_covered(certain_in, low, high), _covered(certain_in + possible_in, low, high)),
        egress=(_covered(certain_out, low, high), _covered(certain_out + possible_out, low, high)),
    )

"""dynamic-port-ingress: security groups that keep a balancer's traffic from the tasks.

Three paths are checked. A balancer with security groups (every ALB, an NLB created with them)
must be let out to the instances and in by them on the whole dynamic range in force, with the
target group's protocol (and TCP for the health checks of a UDP group). An NLB without security
groups passes the client's address through to instance targets (Elastic Load Balancing, Network
Load Balancers, "Client IP preservation": on by default for instance targets, always for UDP), so
the instances themselves must admit the clients (0.0.0.0/0 when internet-facing, the VPC when
internal or when preservation is off) and the health checks, which come from the balancer's nodes in
the VPC ("Target security groups": allow the VPC CIDR on the health check port), on the dynamic
range or the static port. And a balancer's own security groups must admit clients on its listener
port at all ("Update the security groups for your Network Load Balancer"; ALBs alike).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..findings import ERROR, Finding
from ..intrinsics import Key, Unknown
from ..model import (
    AutoScalingGroup,
    LoadBalancer,
    Origin,
    PortMapping,
    PortPlan,
    SecurityGroupRule,
    Service,
    TargetGroup,
)
from .facts import definition_of
from .rule import Rule
from .unverifiable import unverifiable
from .wording import list_names

RULE = Rule(
    id="dynamic-port-ingress",
    severity=ERROR,
    reported_on="security group",
    info=(
        "Security groups block a balancer's traffic: to the instances' dynamic host port range, through an NLB "
        "without security groups to the host ports, or from clients to the listener."
    ),
    why="The balancer cannot reach the tasks: health checks time out and every target stays unhealthy.",
    fix=(
        "Allow the balancer's security group (an NLB without one: its clients and the VPC CIDR) into the instances on "
        "exactly the dynamic range in force or the static port, and clients into the listener."
    ),
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


def _reach(
    rules: Iterable[SecurityGroupRule], peers: set[Key], wanted: str = "tcp"
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """`wanted` (tcp or udp) port intervals a set of rules opens to `peers` (or VPC-wide): certainly, and possibly."""
    certain: list[tuple[int, int]] = []
    possible: list[tuple[int, int]] = []
    for rule in rules:
        protocol = rule.protocol
        interval = (0, 65535)
        if isinstance(protocol, Unknown):
            possible.append(interval)
            continue
        if protocol not in (wanted, "all"):
            continue
        if protocol == wanted:
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
    of [low, high] certainly and possibly open in each direction; `open` says both are wholly open;
    `nowhere` that the balancer's groups let nothing out to any destination.
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


_AUDIENCES = {
    "anywhere": (
        "any address (0.0.0.0/0)",
        "its clients",
        ", as it is internet-facing and passes the client's address through to instance targets",
        "ec2.Peer.any_ipv4()",
    ),
    "clients": ("the VPC's CIDR", "its clients", ", as it is internal", "ec2.Peer.ipv4(vpc.vpc_cidr_block)"),
    "nodes": (
        "the VPC's CIDR",
        "its clients",
        ", which arrive from the balancer's own addresses (preserve_client_ip.enabled is false)",
        "ec2.Peer.ipv4(vpc.vpc_cidr_block)",
    ),
    "health": (
        "the VPC's CIDR",
        "its health checks",
        ", which come from the balancer's nodes in the VPC",
        "ec2.Peer.ipv4(vpc.vpc_cidr_block)",
    ),
}
"""Who must be let into the instances behind an NLB without security groups: (peer, who, why, CDK peer)."""


def protocols_of(group: TargetGroup, mapping: PortMapping) -> tuple[str, ...]:
    """The transport protocols a target group's traffic uses: its protocol, else the mapping's."""
    protocol = group.protocol
    if isinstance(protocol, str):
        upper = protocol.upper()
        if upper == "UDP":
            return ("udp",)
        if upper == "TCP_UDP":
            return ("tcp", "udp")
        return ("tcp",)
    return (mapping.protocol,) if mapping.protocol in ("tcp", "udp") else ("tcp",)  # type: ignore[return-value]


def balanced_links(plan: PortPlan) -> Iterator[tuple[Service, PortMapping, int, Key | Unknown]]:
    """(service, container port, its host port (0: dynamic), target group) for every balanced service."""
    for service in plan.services.values():
        definition = definition_of(plan, service)
        if definition is None:
            continue
        for link in service.load_balancers:
            if link.target_group is None:
                continue
            for mapping in definition.mappings:
                if mapping.container == link.container_name and mapping.container_port == link.container_port:
                    port = definition.host_port(mapping)
                    if isinstance(port, int) and 0 <= port <= 65535:
                        yield service, mapping, port, link.target_group
                    break


def check(plan: PortPlan) -> Iterator[Finding]:
    """Security groups keep the balancer's traffic (or its clients') from the tasks."""
    paths: dict[tuple[Key, tuple[Key | Unknown, ...], str], _Path] = {}
    gaps: dict[tuple[str, tuple[Key, ...], tuple[Key, ...], tuple[int, int], str, bool], _Gap] = {}
    passthrough: dict[tuple[str, str, tuple[Key, ...], tuple[int, int], Key], _Gap] = {}
    listeners: dict[tuple[Key, int, str], set[str]] = {}
    for service, mapping, host_port, target in balanced_links(plan):
        if isinstance(target, Unknown):
            continue  # dynamic-port-health-check reports it
        group = plan.target_groups[target]
        subject = _Subject(service, mapping)
        if isinstance(group.target_type, Unknown):
            if host_port == 0:
                yield unverifiable(group.origin, f"its TargetType is unknown ({group.target_type.reason})")
            continue
        pool = plan.pools.get(service.origin.key)
        if group.target_type != "instance" or pool is None:
            continue
        if not group.load_balancers:
            if host_port == 0:
                yield unverifiable(
                    group.origin,
                    f"no listener of the templates given forwards to it, so the balancer of {subject} and its "
                    "security groups are unknown",
                )
            continue
        protocols = protocols_of(group, mapping)
        for listener in group.listeners:
            if isinstance(listener.load_balancer, tuple) and isinstance(listener.port, int):
                for protocol in _listener_protocols(listener.protocol, protocols):
                    listeners.setdefault((listener.load_balancer, listener.port, protocol), set()).add(str(subject))
        if not pool.members:
            if host_port == 0:
                yield unverifiable(
                    service.origin, "its instances' security groups are unknown: " + "; ".join(pool.reasons())
                )
            continue
        for balancer_key in group.load_balancers:
            if isinstance(balancer_key, Unknown):
                if host_port == 0:
                    yield unverifiable(group.origin, f"a balancer forwarding to it is unknown ({balancer_key.reason})")
                continue
            balancer = plan.load_balancers[balancer_key]
            if not balancer.security_groups and balancer.kind == "network":
                for member in pool.members:
                    asg = plan.auto_scaling_groups[member.asg]
                    for finding in _passthrough(plan, balancer, group, asg, host_port, protocols, subject, passthrough):
                        yield finding
                continue
            if host_port != 0:
                continue  # static ports behind a balancer with security groups are not checked here
            if not balancer.security_groups:
                yield unverifiable(
                    balancer.origin,
                    "it names no SecurityGroups, so it uses the VPC's default security group, which the "
                    f"templates do not show: its reach to {subject} cannot be checked",
                )
                continue
            needed = [(p, "traffic") for p in protocols]
            if "tcp" not in protocols and _health_on_traffic_port(group):
                needed.append(("tcp", "health checks"))
            for member in pool.members:
                asg = plan.auto_scaling_groups[member.asg]
                for protocol, purpose in needed:
                    cache_key = (member.asg, balancer.security_groups, protocol)
                    path = paths.get(cache_key)
                    if path is None:
                        path = paths[cache_key] = _path(plan, balancer.security_groups, asg, protocol)
                    if path.doubt is not None:
                        yield unverifiable(
                            asg.origin, f"{path.doubt}: the balancer's reach to {subject} cannot be checked"
                        )
                        continue
                    if path.open:
                        continue
                    total = path.high - path.low + 1
                    sides = (("in", path.ingress, path.inside), ("out", path.egress, path.outside))
                    missing = [(d, opened[0], owners) for d, opened, owners in sides if opened[1] < total]
                    for direction, count, owners in missing:
                        gap = gaps.setdefault(
                            (
                                direction,
                                path.inside,
                                path.outside,
                                (path.low, path.high),
                                protocol,
                                path.nowhere and direction == "out",
                            ),
                            _Gap(plan.security_groups[owners[0]].origin, count),
                        )
                        gap.subjects.add(str(subject) + ("'s health checks" if purpose == "health checks" else ""))
                        gap.capacity.add(asg.origin.label)
                    if not missing:
                        yield unverifiable(
                            asg.origin,
                            f"whether balancer {balancer.origin.label} reaches its instances on dynamic {protocol} "
                            f"ports {path.low}-{path.high} for {subject} depends on security group rules whose peers "
                            "or ports the templates leave open",
                        )
    for (direction, inside, outside, (low, high), protocol, nowhere), gap in sorted(gaps.items(), key=lambda i: i[0]):
        yield _gap_finding(plan, direction, inside, outside, low, high, gap, protocol, nowhere)
    for (audience, protocol, inside, (low, high), balancer_key), gap in sorted(passthrough.items(), key=lambda i: i[0]):
        yield _passthrough_finding(plan, audience, protocol, inside, low, high, plan.load_balancers[balancer_key], gap)
    for (balancer_key, port, protocol), subjects in sorted(listeners.items(), key=lambda item: item[0]):
        yield from _listener_ingress(plan, plan.load_balancers[balancer_key], port, protocol, subjects)


def _listener_protocols(listener: str | Unknown | None, fallback: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(listener, str):
        upper = listener.upper()
        if upper == "UDP":
            return ("udp",)
        if upper == "TCP_UDP":
            return ("tcp", "udp")
        return ("tcp",)
    return fallback


def _health_on_traffic_port(group: TargetGroup) -> bool:
    return isinstance(group.health_check_port, str) and group.health_check_port.lower() == "traffic-port"


def _span(low: int, high: int, protocol: str) -> str:
    return f"{protocol} port {low}" if low == high else f"{protocol} ports {low}-{high}"


def _passthrough(
    plan: PortPlan,
    balancer: LoadBalancer,
    group: TargetGroup,
    asg: AutoScalingGroup,
    host_port: int,
    protocols: tuple[str, ...],
    subject: _Subject,
    gaps: dict[tuple[str, str, tuple[Key, ...], tuple[int, int], Key], _Gap],
) -> Iterator[Finding]:
    """An NLB without security groups: the instances must admit its clients and its health checks."""
    if host_port == 0:
        if isinstance(asg.dynamic_range, Unknown):
            yield unverifiable(
                asg.origin,
                f"its instances' dynamic host port range is unknown ({asg.dynamic_range.reason}): whether network load "
                f"balancer {balancer.origin.label} reaches {subject} cannot be checked",
            )
            return
        low, high = asg.dynamic_range
    else:
        low = high = host_port
    groups = asg.security_groups
    if isinstance(groups, Unknown) or not groups:
        reason = groups.reason if isinstance(groups, Unknown) else "its instances get the VPC's default security group"
        yield unverifiable(
            asg.origin,
            f"{reason}: whether the clients and health checks of network load balancer {balancer.origin.label} reach "
            f"{subject} cannot be checked",
        )
        return
    inside = tuple(k for k in groups if isinstance(k, tuple) and k in plan.security_groups)
    elsewhere = len(inside) < len(groups)
    rules = [rule for key in inside for rule in plan.security_groups[key].ingress]
    needed: list[tuple[str, str, int, int]] = []
    for protocol in protocols:
        if balancer.scheme == "internal":
            audience = "clients"
        elif protocol == "tcp" and group.preserve_client_ip is False:
            audience = "nodes"  # UDP always preserves the client's address
        else:
            audience = "anywhere"
        needed.append((audience, protocol, low, high))
    health = group.health_check_port
    if isinstance(health, str) and health.lower() == "traffic-port":
        needed.append(("health", "tcp", low, high))
    elif isinstance(health, str) and health.isdigit():
        needed.append(("health", "tcp", int(health), int(health)))
    for audience, protocol, first, last in needed:
        if audience == "clients" and isinstance(balancer.scheme, Unknown):
            yield unverifiable(balancer.origin, f"its Scheme is unknown ({balancer.scheme.reason})")
            continue
        certain, possible = _admitted(rules, protocol, audience)
        if elsewhere:
            possible.append((0, 65535))
        total = last - first + 1
        opened = _covered(certain, first, last)
        if opened == total:
            continue
        if _covered(certain + possible, first, last) == total:
            yield unverifiable(
                asg.origin,
                f"whether network load balancer {balancer.origin.label} (no security groups) reaches {subject} on "
                f"{_span(first, last, protocol)} depends on security group rules whose peers or ports the templates "
                "leave open",
            )
            continue
        gap = gaps.setdefault(
            (audience, protocol, inside, (first, last), balancer.origin.key),
            _Gap(plan.security_groups[inside[0]].origin if inside else asg.origin, opened),
        )
        gap.subjects.add(str(subject))
        gap.capacity.add(asg.origin.label)


def _admitted(
    rules: Iterable[SecurityGroupRule], wanted: str, audience: str
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Port intervals ingress `rules` certainly and possibly open to `audience` (see _AUDIENCES) on `wanted`."""
    certain: list[tuple[int, int]] = []
    possible: list[tuple[int, int]] = []
    for rule in rules:
        protocol = rule.protocol
        interval = (0, 65535)
        if isinstance(protocol, Unknown):
            possible.append(interval)
            continue
        if protocol not in (wanted, "all"):
            continue
        if protocol == wanted:
            start, end = rule.from_port, rule.to_port
            if not isinstance(start, int) or not isinstance(end, int):
                possible.append(interval)
                continue
            if start != -1 or end != -1:
                interval = (start, end)
        peer = rule.peer
        if peer.anywhere or (peer.vpc_wide and audience != "anywhere"):
            certain.append(interval)
        elif peer.doubt is not None:
            possible.append(interval)  # another CIDR may hold some of the clients (the VPC's holds no internet one)
    return certain, possible


def _passthrough_finding(
    plan: PortPlan,
    audience: str,
    protocol: str,
    inside: tuple[Key, ...],
    low: int,
    high: int,
    balancer: LoadBalancer,
    gap: _Gap,
) -> Finding:
    instances = _group_labels(plan, inside)
    several = len(inside) > 1
    peer, who, reason, cdk_peer = _AUDIENCES[audience]
    where = "the dynamic host port range in force" if low != high else "the static host port"
    message = (
        f"network load balancer {balancer.origin.label} has no security groups, so the instances must admit its "
        f"traffic themselves: {who} from {peer}{reason}; but their security "
        f"group{'s' if several else ''} {instances} admit{'' if several else 's'} {gap.count} of "
        f"{high - low + 1} {_span(low, high, protocol)} from it: {list_names(gap.subjects, 2)} "
        f"receive{'s' if len(gap.subjects) == 1 else ''} that traffic on {where} (capacity "
        f"{list_names(gap.capacity)}), so "
        + ("the health checks fail and every target stays unhealthy" if audience == "health" else "it never arrives")
    )
    port = f"ec2.Port.{protocol}({low})" if low == high else f"ec2.Port.{protocol}_range({low}, {high})"
    fix = (
        f"allow ingress on {instances} from {peer} on {_span(low, high, protocol)} "
        f"(CDK: asg.connections.allow_from({cdk_peer}, {port})), or create the balancer with a security group "
        "and admit that group instead"
    )
    return RULE.finding(gap.origin, message, fix)


def _listener_ingress(
    plan: PortPlan, balancer: LoadBalancer, port: int, protocol: str, subjects: set[str]
) -> Iterator[Finding]:
    """A balancer with security groups admits clients on a listener port only if some rule opens it."""
    groups = balancer.security_groups
    if not groups:
        return
    inside = tuple(k for k in groups if isinstance(k, tuple) and k in plan.security_groups)
    if len(inside) < len(groups):
        return  # a group defined elsewhere may admit anyone
    opened = False
    for key in inside:
        for rule in plan.security_groups[key].ingress:
            if isinstance(rule.protocol, Unknown) or rule.protocol == "all":
                opened = True
            elif rule.protocol == protocol:
                start, end = rule.from_port, rule.to_port
                opened = not isinstance(start, int) or not isinstance(end, int) or start == end == -1
                opened = opened or (start <= port <= end)  # type: ignore[operator]
            if opened:
                break
        if opened:
            return
    labels = _group_labels(plan, inside)
    kind = "network load balancer" if balancer.kind == "network" else "load balancer"
    yield RULE.finding(
        plan.security_groups[inside[0]].origin,
        f"{kind} {balancer.origin.label}'s security group{'s' if len(inside) > 1 else ''} {labels} admit"
        f"{'' if len(inside) > 1 else 's'} no client on its listener port {protocol}/{port}: no request reaches "
        f"{list_names(subjects, 2)} through it",
        f"allow ingress on {labels} on {protocol}/{port} from the clients (CDK: listener open=True, or "
        f"load_balancer.connections.allow_from(ec2.Peer.any_ipv4(), ec2.Port.{protocol}({port})))",
    )


def _gap_finding(
    plan: PortPlan,
    direction: str,
    inside: tuple[Key, ...],
    outside: tuple[Key, ...],
    low: int,
    high: int,
    gap: _Gap,
    protocol: str = "tcp",
    nowhere: bool = False,
) -> Finding:
    instances = _group_labels(plan, inside)
    balancers = _group_labels(plan, outside)
    effect = (
        f": {list_names(gap.subjects, 2)} receives traffic on dynamic host ports in that range (the range in force on "
        f"capacity {list_names(gap.capacity)}), so the balancer cannot reach its targets, health checks time out and "
        "every target stays unhealthy"
    )
    kind = "" if protocol == "tcp" else f"{protocol} "
    opened = f"{gap.count} of {high - low + 1} {kind}ports {low}-{high}"
    if nowhere:
        message = (
            f"balancer security group {balancers} lets no traffic out on {kind}ports {low}-{high} to any destination "
            "(its egress rules, such as CDK's \"Disallow all traffic\" placeholder, open none of them)" + effect
        )
        target = instances if inside else "the instances' security group"
        fix = (
            f"allow egress from {balancers} to {target} on {protocol} {low}-{high} "
            f"(CDK: load_balancer.connections.allow_to(asg, ec2.Port.{protocol}_range({low}, {high}))); give the "
            "instances a security group of their own if their launch template has none"
        )
        return RULE.finding(gap.origin, message, fix)
    if direction == "in":
        several = len(inside) > 1
        message = (
            f"instances' security group{'s' if several else ''} {instances} allow{'' if several else 's'} {opened} "
            f"from balancer security group {balancers}" + effect
        )
        fix = (
            f"allow ingress on {instances} from {balancers} on {protocol} {low}-{high}, exactly the dynamic range in "
            f"force (CDK: asg.connections.allow_from(load_balancer, ec2.Port.{protocol}_range({low}, {high}))), and "
            f"pin ECS_DYNAMIC_HOST_PORT_RANGE={low}-{high} in the instances' user data so the range cannot drift"
        )
    else:
        message = (
            f"balancer security group {balancers} allows {opened} out to the instances' security group {instances}"
            + effect
        )
        fix = (
            f"allow egress from {balancers} to {instances} on {protocol} {low}-{high} "
            f"(CDK: load_balancer.connections.allow_to(asg, ec2.Port.{protocol}_range({low}, {high})))"
        )
    return RULE.finding(gap.origin, message, fix)


def _group_labels(plan: PortPlan, keys: Iterable[Key]) -> str:
    return ", ".join(plan.security_groups[k].origin.label for k in keys) or "(defined elsewhere)"


def _nowhere(
    plan: PortPlan, balancer_groups: tuple[Key | Unknown, ...], dynamic_range: tuple[int, int] | Unknown, protocol: str
) -> bool:
    """Whether the balancer's security groups, all in the templates, let no `protocol` traffic out on the
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
            certain, possible = _reach([rule], {peer.group} if peer.group is not None else set(), protocol)
            reach += certain + possible
    return _covered(reach, low, high) == 0


def _path(
    plan: PortPlan, balancer_groups: tuple[Key | Unknown, ...], asg: AutoScalingGroup, protocol: str = "tcp"
) -> _Path:
    """Measure what the balancer's and the instances' security groups open of the dynamic range; a
    balancer that lets nothing out fails whatever the instances' side is."""
    dynamic_range = asg.dynamic_range
    if _nowhere(plan, balancer_groups, dynamic_range, protocol):
        path = _measured(plan, balancer_groups, asg, protocol)
        if path.doubt is not None:  # the instances' side is open: the balancer's alone fails
            low, high = dynamic_range if isinstance(dynamic_range, tuple) else (0, 65535)
            outside = tuple(k for k in balancer_groups if isinstance(k, tuple))
            total = high - low + 1
            path = _Path(None, low, high, (), outside, (total, total), (0, 0))
        path.egress, path.open, path.nowhere = (0, 0), False, True
        return path
    return _measured(plan, balancer_groups, asg, protocol)


def _measured(
    plan: PortPlan, balancer_groups: tuple[Key | Unknown, ...], asg: AutoScalingGroup, protocol: str = "tcp"
) -> _Path:
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
        certain, possible = _reach(plan.security_groups[key].ingress, set(outside), protocol)
        certain_in += certain
        possible_in = possible_in + possible
    certain_out: list[tuple[int, int]] = []
    possible_out = everything if len(outside) < len(balancer_groups) else []
    for key in outside:
        group = plan.security_groups[key]
        certain, possible = (everything, []) if group.allows_all_egress else _reach(group.egress, set(inside), protocol)
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

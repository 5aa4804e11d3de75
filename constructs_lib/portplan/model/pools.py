"""Capacity pools: the EC2 instances each service's tasks can land on, and how many there can be.

A service that reaches its Auto Scaling groups through capacity providers (its own strategy, or the
cluster's default strategy when it names neither strategy nor launch type) counts a group at
MaxSize when the provider's managed scaling is ENABLED. Every other service (launch type EC2, or no
strategy at all) and every DAEMON service lands on all groups registered to the cluster (ECS_CLUSTER
in their user data) and counts DesiredCapacity, else MinSize.

memberOf placement constraints (the service's and its task definition's) then narrow the pool to
the groups whose instances satisfy every expression; a group the templates cannot decide leaves
the pool open (a doubt naming the expression), as capacity the templates do not show does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from ..intrinsics import Key, Unknown
from .cluster_query import member_of, readable
from .entities import FARGATE_PROVIDERS, AutoScalingGroup, Pool, PoolMember, PortPlan, Service, StrategyItem


def assign_pools(plan: PortPlan) -> tuple[dict[Key, Pool], dict[Key, frozenset[Key]]]:
    """The pool of every service placed on EC2 capacity (Fargate services get none), and for each
    task definition the Auto Scaling groups its services' tasks can land on."""
    registered: dict[Key, list[Key]] = defaultdict(list)
    undecided: list[AutoScalingGroup] = []
    for key, group in plan.auto_scaling_groups.items():
        if isinstance(group.cluster, Unknown):
            undecided.append(group)
        elif group.cluster is not None:
            registered[group.cluster].append(key)
    doubts = tuple(
        f"Auto Scaling group {g.origin.label} may add instances: the cluster it registers with is unknown "
        f"({g.cluster.reason})"  # type: ignore[union-attr]
        for g in undecided
    )
    assigner = _Assigner(plan, registered, doubts)
    shared: dict[tuple[object, ...], Pool | None] = {}  # services placed alike share one pool
    pools: dict[Key, Pool] = {}
    used: dict[Key, dict[int, Pool]] = defaultdict(dict)  # task definition -> its services' pools
    for key, service in plan.services.items():
        strategy = service.strategy
        expressions = service.member_of
        definition = plan.task_definitions.get(service.task_definition) if type(service.task_definition) is tuple else None
        if definition is not None and definition.member_of:
            expressions = expressions + definition.member_of
        signature = (
            service.cluster,
            service.launch_type,
            service.daemon,
            tuple((i.provider, i.base, i.weight) for i in strategy) if type(strategy) is tuple else strategy,
            expressions,
        )
        if signature in shared:
            pool = shared[signature]
        else:
            pool = assigner.pool(service)
            if pool is not None and expressions:
                pool = assigner.narrowed(pool, expressions)
            shared[signature] = pool
        if pool is not None:
            pools[key] = pool
            if isinstance(service.task_definition, tuple):
                used[service.task_definition][id(pool)] = pool
    landing = {
        definition: frozenset(m.asg for pool in found.values() for m in pool.members)
        for definition, found in used.items()
    }
    return pools, landing


class _Assigner:
    def __init__(self, plan: PortPlan, registered: Mapping[Key, list[Key]], undecided: tuple[str, ...]) -> None:
        self.plan = plan
        self.registered = registered
        self.undecided = undecided

    def pool(self, service: Service) -> Pool | None:
        cluster = service.cluster
        if isinstance(cluster, Unknown):
            return Pool(None, (), (f"its cluster is unknown: {cluster.reason}",))
        launch_type = service.launch_type
        if launch_type == "FARGATE":
            return None
        if isinstance(launch_type, Unknown):
            return Pool(cluster, (), (f"its launch type is unknown: {launch_type.reason}",))
        if launch_type == "EXTERNAL":
            return Pool(cluster, (), ("it runs on EXTERNAL instances, which the templates do not show",))
        if launch_type is not None or service.daemon:
            return self.cluster_pool(cluster)
        strategy = service.strategy
        if strategy is None:
            found = self.plan.clusters.get(cluster)
            strategy = found.default_strategy if found is not None else None
        if strategy is None:
            return self.cluster_pool(cluster)
        if isinstance(strategy, Unknown):
            return Pool(cluster, (), (f"its capacity provider strategy is unknown: {strategy.reason}",))
        return self.provider_pool(cluster, strategy)

    def narrowed(self, pool: Pool, expressions: tuple[str | Unknown, ...]) -> Pool:
        """The pool's members whose instances satisfy every memberOf expression."""
        kept: list[PoolMember] = []
        excluded: list[Key] = []
        doubts = list(pool.doubts)
        for member in pool.members:
            group = self.plan.auto_scaling_groups[member.asg]
            verdicts = [member_of(expression, group) for expression in expressions]
            if any(v is False for v in verdicts):
                excluded.append(member.asg)
            elif all(v is True for v in verdicts):
                kept.append(member)
            else:
                doubts.extend(v.reason for v in verdicts if isinstance(v, Unknown))
        shown = tuple(readable(e) if isinstance(e, str) else f"(unknown: {e.reason})" for e in expressions)
        return Pool(pool.cluster, tuple(kept), tuple(dict.fromkeys(doubts)), tuple(excluded), shown)

    def cluster_pool(self, cluster: Key) -> Pool:
        members = tuple(
            PoolMember(key, self.plan.auto_scaling_groups[key].instances(False), False)
            for key in self.registered.get(cluster, ())
        )
        doubts = self.undecided
        if not members and not doubts:
            found = self.plan.clusters.get(cluster)
            label = found.origin.label if found is not None else cluster[1]
            skipped = [g for g in self.plan.auto_scaling_groups.values() if g.meant_for == cluster]
            if skipped:
                doubts = tuple(f"Auto Scaling group {g.origin.label} names cluster {label}, but {g.skipped}" for g in skipped)
            else:
                doubts = (
                    f"no Auto Scaling group of the templates given registers instances with cluster {label} "
                    "(ECS_CLUSTER in its user data)",
                )
        return Pool(cluster, members, doubts)

    def provider_pool(self, cluster: Key, strategy: tuple[StrategyItem, ...]) -> Pool | None:
        weighted = [i for i in strategy if not (i.weight == 0 and i.base in (0, None))]
        items = weighted or list(strategy)
        members: dict[Key, PoolMember] = {}
        doubts: list[str] = []
        ec2 = False
        for item in items:
            provider = item.provider
            if isinstance(provider, str) and provider in FARGATE_PROVIDERS:
                continue
            ec2 = True
            if isinstance(provider, Unknown):
                doubts.append(f"a capacity provider is unknown: {provider.reason}")
                continue
            found = self.plan.capacity_providers.get(provider) if isinstance(provider, tuple) else None
            if found is None:
                doubts.append(f"capacity provider {provider} is not in the templates given")
                continue
            asg = found.auto_scaling_group
            group = self.plan.auto_scaling_groups.get(asg) if isinstance(asg, tuple) else None
            if group is None:
                reason = asg.reason if isinstance(asg, Unknown) else "it is not in the templates given"
                doubts.append(f"the Auto Scaling group of capacity provider {found.origin.label} is unknown: {reason}")
                continue
            if group.skipped is not None:
                doubts.append(f"the instances of capacity provider {found.origin.label} do not join the cluster: {group.skipped}")
                continue
            managed = found.managed_scaling
            if isinstance(managed, Unknown):
                instances: int | Unknown = Unknown(
                    f"managed scaling of capacity provider {found.origin.label} is unknown: {managed.reason}"
                )
            else:
                instances = group.instances(managed)
            previous = members.get(group.origin.key)
            if previous is None or (managed is True and not previous.scaled):
                members[group.origin.key] = PoolMember(group.origin.key, instances, managed is True)
        if not ec2:
            return None
        return Pool(cluster, tuple(members.values()), tuple(doubts))

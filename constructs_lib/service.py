"""An ECS service that runs a bridge-mode task definition on a BridgeCluster's capacity."""

from __future__ import annotations

from typing import List, Optional

import jsii
from aws_cdk import Acknowledgment, Stack, Validations, aws_ecs as ecs
from constructs import Construct, IValidation

from constructs_lib.cluster import BridgeCluster
from constructs_lib.portplan.rollout import healthy_floor, stop_first_percent, task_ceiling
from constructs_lib.ports import Number, is_token
from constructs_lib.task_definition import BridgeTaskDefinition


def rolling_percentages(desired_count: int, *, static_ports: bool) -> tuple[int, int]:
    """Deployment percentages ``(minimum_healthy, maximum)`` that let a rollout make progress.

    A task with a static host port cannot start beside the old one on the same instance, so the
    rollout must be allowed to stop an old task first. ECS rounds the minimum healthy count *up*
    (``ceil(desired * min / 100)``): one task at 50 % still needs one healthy task, so the largest
    minimum that lets one task stop is ``floor((desired - 1) * 100 / desired)`` (0 for one task,
    50 for two, 66 for three). The maximum stays at 100: there is no free instance to start a
    surplus task on. Dynamic ports keep ECS's defaults, 100 / 200.
    """
    if not static_ports:
        return 100, 200
    return stop_first_percent(desired_count), 100


def deployment_deadlocks(
    desired_count: int, min_healthy_percent: int, max_percent: int, *, spare_instances: int
) -> bool:
    """True when a static-port rollout can neither stop an old task first nor start a new one."""
    if desired_count <= 0:
        return False
    can_stop_first = healthy_floor(desired_count, min_healthy_percent) < desired_count
    can_start_first = task_ceiling(desired_count, max_percent) > desired_count and spare_instances > 0
    return not (can_stop_first or can_start_first)


class BridgeService(Construct):
    """A replica service on EC2 capacity, placed through the cluster's capacity provider.

    ECS Exec is on, the deployment circuit breaker rolls back a failed rollout, and the
    deployment percentages are written out: for a static host port they let ECS stop an old task
    before it starts a new one, so a service with one task per instance deploys without a spare
    instance (see ``rolling_percentages``).

    Example::

        service = BridgeService(stack, "Static", cluster=capacity, task_definition=web, desired_count=2)
        service.service   # ecs.Ec2Service

    :param cluster: the cluster and capacity to run on.
    :param task_definition: the bridge-mode task definition to run.
    :param desired_count: how many tasks to keep running. Default: 1. Constraint: >= 0; with a
        static host port, at most as many as the capacity's instances (checked at synth).
        A token (e.g. ``CfnParameter(...).value_as_number``) is accepted: a count set per
        environment at deploy time is a common need, and the template carries it as it is. What
        depends on its value is then left to the port plan, which reports it as ``unverifiable``
        at synth: this construct skips its own fit and rollout checks. With a static host port the
        default percentages are derived from the count, so a token count needs explicit
        ``min_healthy_percent`` and ``max_percent`` (0 and 100 always let an old task stop first).
    :param min_healthy_percent: rollout's lower bound. Default: - from ``rolling_percentages``.
        Constraint: 0-100, a number (not a token).
    :param max_percent: rollout's upper bound. Default: - from ``rolling_percentages``.
        Constraint: >= 100 and >= ``min_healthy_percent``, a number (not a token).
        Percentages that leave a static-port rollout no way forward are an error. Tokens are
        rejected for both: they are what keeps a static-port rollout moving, which this construct
        exists to guarantee at synth, and they are rarely set per environment.
    :param service_name: the service's name. Default: - a name CloudFormation generates.
    :param enable_execute_command: allow ``aws ecs execute-command``. Default: True.
    :param circuit_breaker_rollback: roll back a rollout that cannot reach steady state. Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: BridgeCluster,
        task_definition: BridgeTaskDefinition,
        desired_count: Optional[Number] = None,
        min_healthy_percent: Optional[int] = None,
        max_percent: Optional[int] = None,
        service_name: Optional[str] = None,
        enable_execute_command: Optional[bool] = None,
        circuit_breaker_rollback: Optional[bool] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        desired_count = 1 if desired_count is None else desired_count
        enable_execute_command = True if enable_execute_command is None else enable_execute_command
        circuit_breaker_rollback = True if circuit_breaker_rollback is None else circuit_breaker_rollback
        count_known = not is_token(desired_count)
        _check_whole(construct_id, "desired_count", desired_count, token_ok=True)
        _check_whole(construct_id, "min_healthy_percent", min_healthy_percent, token_ok=False)
        _check_whole(construct_id, "max_percent", max_percent, token_ok=False)
        if count_known and desired_count < 0:
            raise ValueError(f"BridgeService '{construct_id}': desired_count must be >= 0, got {desired_count}.")

        static_ports = bool(task_definition.static_mappings)
        if static_ports and not count_known and (min_healthy_percent is None or max_percent is None):
            ports = ", ".join(f"{m.protocol}/{m.host_port}" for m in task_definition.static_mappings)
            raise ValueError(
                f"BridgeService '{construct_id}': desired_count is a deploy-time value (a token), so the "
                f"rollout percentages for static host port {ports} cannot be derived from it; pass "
                "min_healthy_percent and max_percent (0 and 100 always let an old task stop first), "
                "or pass desired_count as a number."
            )
        default_min, default_max = (
            rolling_percentages(desired_count, static_ports=static_ports) if count_known else (100, 200)
        )
        min_healthy_percent = default_min if min_healthy_percent is None else min_healthy_percent
        max_percent = default_max if max_percent is None else max_percent
        if not 0 <= min_healthy_percent <= 100 or max_percent < 100 or max_percent < min_healthy_percent:
            raise ValueError(
                f"BridgeService '{construct_id}': need 0 <= min_healthy_percent <= 100 <= max_percent, "
                f"got {min_healthy_percent} / {max_percent}."
            )
        # A deploy-time count leaves the rollout verdict to the port plan (unverifiable at synth).
        spare = cluster.max_instances - desired_count if count_known else 0
        if static_ports and count_known and deployment_deadlocks(
            desired_count, min_healthy_percent, max_percent, spare_instances=spare
        ):
            suggested_min, suggested_max = rolling_percentages(desired_count, static_ports=True)
            raise ValueError(
                f"BridgeService '{construct_id}': a rollout of {desired_count} static-port tasks with "
                f"min_healthy_percent={min_healthy_percent} and max_percent={max_percent} can neither stop "
                f"an old task first nor start a new one ({max(spare, 0)} spare instances): the deployment "
                f"would hang. Use min_healthy_percent={suggested_min}, max_percent={suggested_max}."
            )

        self.cluster = cluster
        self.task_definition = task_definition
        self.desired_count = desired_count
        self.min_healthy_percent = min_healthy_percent
        self.max_percent = max_percent
        self._static_at_construction = static_ports
        self.service = ecs.Ec2Service(
            self,
            "Service",
            cluster=cluster.cluster,
            task_definition=task_definition.task_definition,
            desired_count=desired_count,
            min_healthy_percent=min_healthy_percent,
            max_healthy_percent=max_percent,
            service_name=service_name,
            enable_execute_command=enable_execute_command,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=circuit_breaker_rollback),
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(
                    capacity_provider=cluster.capacity_provider.capacity_provider_name, weight=1
                )
            ],
            placement_strategies=[ecs.PlacementStrategy.spread_across_instances()],
        )
        if enable_execute_command:
            self._acknowledge_exec_permissions()
        self.node.add_validation(_StaticPortFit(self))

    def _acknowledge_exec_permissions(self) -> None:
        """ECS Exec's grants on the task role, written by CDK, are as narrow as IAM allows."""
        policy = self.task_definition.task_definition.task_role.node.try_find_child("DefaultPolicy")
        if policy is None:
            return
        log_group = self.cluster.exec_log_group
        log_group_id = Stack.of(log_group).resolve(
            Stack.of(log_group).get_logical_id(log_group.node.default_child)
        )
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "ECS Exec: ssmmessages:Create/OpenControlChannel and Create/OpenDataChannel, and "
                    "logs:DescribeLogGroups, have no resource-level permissions, so IAM allows them only "
                    "on '*'. They open Session Manager channels for this task; nothing else. Turn off "
                    "enable_execute_command to drop them."
                ),
            ),
            Acknowledgment(
                id=(
                    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
                    f"<AWS::AccountId>:log-group:<{log_group_id}>:*]"
                ),
                reason=(
                    "ECS Exec session logs: the wildcard is the log streams of the cluster's one "
                    "encrypted exec log group, whose stream names ECS picks per session."
                ),
            ),
        )


def _check_whole(construct_id: str, name: str, value: object, *, token_ok: bool) -> None:
    """A count or percentage must be a whole number; a token only where the prop accepts one."""
    if value is None or (token_ok and is_token(value)):
        return
    if is_token(value):
        raise ValueError(
            f"BridgeService '{construct_id}': {name} is a deploy-time value (a token), but it decides at "
            "synth whether a static-port rollout can make progress: pass a number."
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"BridgeService '{construct_id}': {name} must be a whole number, got {value!r}.")


@jsii.implements(IValidation)
class _StaticPortFit:
    """A service's own static-port tasks must fit on its capacity, one per instance.

    Port mappings can be added after the service exists, so this runs at synth. What spans
    several services (ports they share) is the port-plan plugin's job.
    """

    def __init__(self, owner: BridgeService) -> None:
        self._owner = owner

    def validate(self) -> List[str]:
        owner = self._owner
        static = owner.task_definition.static_mappings
        if not static:
            return []
        errors = []
        instances = owner.cluster.max_instances
        ports = ", ".join(f"{m.protocol}/{m.host_port}" for m in static)
        # A deploy-time count is the port plan's to judge: it reports it as unverifiable.
        if not is_token(owner.desired_count) and owner.desired_count > instances:
            errors.append(
                f"{owner.node.path}: {owner.desired_count} tasks need host port {ports}, but capacity "
                f"{owner.cluster.node.path} has at most {instances} instances; the extra tasks would stay "
                "PENDING (RESOURCE:PORTS). Map the port dynamically, add instances, or run fewer tasks."
            )
        if not owner._static_at_construction:
            errors.append(
                f"{owner.node.path}: static host port {ports} was mapped after the service was created, "
                "so its deployment percentages were chosen for dynamic ports. Add the mappings before "
                "creating the service, or pass min_healthy_percent and max_percent."
            )
        return errors

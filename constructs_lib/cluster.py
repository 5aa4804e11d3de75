"""An ECS cluster with EC2 capacity that runs bridge-mode tasks."""

from __future__ import annotations

from typing import Optional

from aws_cdk import (
    Acknowledgment,
    Aws,
    RemovalPolicy,
    Validations,
    aws_autoscaling as autoscaling,
    aws_ec2 as ec2,
    aws_ecs as ecs,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_sns as sns,
)
from constructs import Construct

from constructs_lib.log_groups import log_group
from constructs_lib.ports import DEFAULT_DYNAMIC_PORT_RANGE, PortRange

#: The ECS-optimized AMI's root device; 30 GiB is the size of its snapshot.
ROOT_DEVICE_NAME = "/dev/xvda"
ROOT_VOLUME_GIB = 30

#: The statement CDK's ECS cluster gives every container instance on '*'
#: (``Cluster.configureAutoScalingGroup``), and the two of its actions these instances never use.
CDK_AGENT_WILDCARD_ACTIONS = frozenset(
    {"ecs:DiscoverPollEndpoint", "ecr:GetAuthorizationToken", "logs:CreateLogStream", "logs:PutLogEvents"}
)
UNUSED_AGENT_LOG_ACTIONS = frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})


class BridgeCluster(Construct):
    """An ECS cluster whose capacity is an Auto Scaling group of ECS-optimized instances.

    The group is built from a launch template (Amazon Linux 2023 ECS-optimized AMI, resolved at
    deploy time from its public SSM parameter; IMDSv2 only, with a hop limit of 1 so containers
    cannot reach the instance's credentials; encrypted gp3 root volume; private subnets; no SSH
    key, Session Manager only) and joined to the cluster through a capacity provider with managed
    scaling and managed draining. The agent's dynamic host port range is pinned in the instances'
    user data, so the balancer's ingress can open exactly that range.

    The instance role holds what the ECS agent needs and no CloudWatch Logs permission: CDK's
    cluster grants ``logs:CreateLogStream``/``logs:PutLogEvents`` on every log group for
    CloudWatch agents that user data might install, and these instances run none; container
    logs are written with each task's execution role, ECS Exec logs with its task role. A task
    definition without an execution role that logs through ``awslogs`` needs
    ``its_log_group.grant_write(capacity.instance_role)``. The key's policy lets CloudWatch Logs
    use the key for the ECS Exec log group only (``constructs_lib.log_groups``).

    Example::

        capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc, min_capacity=2, max_capacity=2)
        capacity.cluster                 # ecs.Cluster
        capacity.capacity_provider      # ecs.AsgCapacityProvider
        capacity.dynamic_port_range     # PortRange(32768, 60999)

    :param vpc: the VPC; instances go to its private subnets.
    :param instance_type: EC2 instance type. Default: ``t3.small``.
    :param min_capacity: fewest instances. Default: 2. Constraint: >= 0.
    :param max_capacity: most instances (managed scaling may grow to it). Default: ``min_capacity``.
        Constraint: >= ``min_capacity`` and >= 1.
    :param desired_capacity: instances at deployment time. Default: - not set; the group starts at
        ``min_capacity`` and managed scaling moves it. Constraint: between min and max.
    :param dynamic_port_range: the agent's ``ECS_DYNAMIC_HOST_PORT_RANGE``. Default: 32768-60999,
        the Linux default ephemeral range.
    :param managed_scaling: let ECS scale the group to fit the tasks. Default: True.
    :param managed_draining: drain tasks before instances terminate. Default: True.
    :param managed_termination_protection: protect instances with tasks from scale-in. Default: False
        (it keeps ``cdk destroy`` from removing instances that still run tasks).
    :param target_capacity_percent: managed scaling's target utilization. Default: 100.
    :param container_insights: turn on CloudWatch Container Insights. Default: True.
    :param asg_notifications: notify an encrypted SNS topic of every scaling event. Default: True.
    :param notifications_topic: the topic for those notifications. Default: - a new topic encrypted
        with ``key``. Providing it with ``asg_notifications=False`` is an error.
    :param key: KMS key for ECS Exec session data, its log group and the notifications topic.
        Its policy gets a statement for the exec log group alone; an imported key's policy must
        allow that itself. Default: - a new key with rotation on.
    :param exec_log_retention: how long ECS Exec session logs are kept. Default: one month.
    :param root_volume_size_gib: root volume size. Default: 30. Constraint: >= 30 (the AMI's snapshot).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        instance_type: Optional[ec2.InstanceType] = None,
        min_capacity: Optional[int] = None,
        max_capacity: Optional[int] = None,
        desired_capacity: Optional[int] = None,
        dynamic_port_range: Optional[PortRange] = None,
        managed_scaling: Optional[bool] = None,
        managed_draining: Optional[bool] = None,
        managed_termination_protection: Optional[bool] = None,
        target_capacity_percent: Optional[int] = None,
        container_insights: Optional[bool] = None,
        asg_notifications: Optional[bool] = None,
        notifications_topic: Optional[sns.ITopic] = None,
        key: Optional[kms.IKey] = None,
        exec_log_retention: Optional[logs.RetentionDays] = None,
        root_volume_size_gib: Optional[int] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        instance_type = instance_type or ec2.InstanceType("t3.small")
        min_capacity = 2 if min_capacity is None else min_capacity
        max_capacity = max(min_capacity, 1) if max_capacity is None else max_capacity
        dynamic_port_range = dynamic_port_range or DEFAULT_DYNAMIC_PORT_RANGE
        managed_scaling = True if managed_scaling is None else managed_scaling
        managed_draining = True if managed_draining is None else managed_draining
        managed_termination_protection = bool(managed_termination_protection)
        target_capacity_percent = 100 if target_capacity_percent is None else target_capacity_percent
        container_insights = True if container_insights is None else container_insights
        asg_notifications = True if asg_notifications is None else asg_notifications
        root_volume_size_gib = ROOT_VOLUME_GIB if root_volume_size_gib is None else root_volume_size_gib
        _validate_sizes(
            construct_id,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            desired_capacity=desired_capacity,
            target_capacity_percent=target_capacity_percent,
            root_volume_size_gib=root_volume_size_gib,
            asg_notifications=asg_notifications,
            notifications_topic=notifications_topic,
        )

        self.dynamic_port_range: PortRange = dynamic_port_range
        """The agent's dynamic host port range on these instances."""
        self.key: kms.IKey = key or kms.Key(
            self,
            "Key",
            description="ECS Exec session data and logs, and scaling notifications",
            enable_key_rotation=True,
        )
        self.exec_log_group = log_group(
            self,
            "ExecLogGroup",
            encryption_key=self.key,
            retention=exec_log_retention or logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The cluster gets a reference that cannot edit the key's policy: for every service with
        # ECS Exec, CDK would otherwise add one letting CloudWatch Logs use the key for any log
        # group of the account (kms:EncryptionContext:aws:logs:arn like arn:...:logs:<region>:<account>:*).
        exec_key = kms.Key.from_key_arn(self, "ExecKeyReference", self.key.key_arn)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=(
                ecs.ContainerInsights.ENABLED if container_insights else ecs.ContainerInsights.DISABLED
            ),
            execute_command_configuration=ecs.ExecuteCommandConfiguration(
                kms_key=exec_key,
                logging=ecs.ExecuteCommandLogging.OVERRIDE,
                log_configuration=ecs.ExecuteCommandLogConfiguration(
                    cloud_watch_log_group=self.exec_log_group,
                    cloud_watch_encryption_enabled=True,
                ),
            ),
        )

        self.instance_security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=vpc,
            description="ECS container instances: no ingress but what a balancer opens",
            allow_all_outbound=True,
        )
        self.instance_role: iam.Role = _ContainerInstanceRole(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
        )
        self.user_data = ec2.UserData.for_linux()
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=instance_type,
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(
                hardware_type=(
                    ecs.AmiHardwareType.ARM
                    if instance_type.architecture == ec2.InstanceArchitecture.ARM_64
                    else ecs.AmiHardwareType.STANDARD
                )
            ),
            role=self.instance_role,
            security_group=self.instance_security_group,
            user_data=self.user_data,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            block_devices=[
                ec2.BlockDevice(
                    device_name=ROOT_DEVICE_NAME,
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_volume_size_gib,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )

        self.notifications_topic: Optional[sns.ITopic] = None
        notifications = None
        if asg_notifications:
            self.notifications_topic = notifications_topic or self._encrypted_topic()
            notifications = [autoscaling.NotificationConfiguration(topic=self.notifications_topic)]
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "Asg",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=_private_subnet_type(vpc)),
            launch_template=self.launch_template,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            desired_capacity=desired_capacity,
            notifications=notifications,
        )
        self.capacity_provider = ecs.AsgCapacityProvider(
            self,
            "CapacityProvider",
            auto_scaling_group=self.auto_scaling_group,
            enable_managed_scaling=managed_scaling,
            enable_managed_draining=managed_draining,
            enable_managed_termination_protection=managed_termination_protection,
            target_capacity_percent=target_capacity_percent if managed_scaling else None,
        )
        self.cluster.add_asg_capacity_provider(self.capacity_provider)
        self.cluster.add_default_capacity_provider_strategy(
            [ecs.CapacityProviderStrategy(capacity_provider=self.capacity_provider.capacity_provider_name, weight=1)]
        )
        # After the cluster's own ECS_CLUSTER line: the agent reads the whole file at start.
        self.user_data.add_commands(
            f"echo ECS_DYNAMIC_HOST_PORT_RANGE={dynamic_port_range} >> /etc/ecs/ecs.config"
        )

        self.managed_scaling = managed_scaling
        self.min_capacity = min_capacity
        self.max_capacity = max_capacity
        self._acknowledge_agent_permissions()

    @property
    def max_instances(self) -> int:
        """The most instances ECS can count on for services placed through the capacity provider."""
        return self.max_capacity if self.managed_scaling else self.min_capacity

    def _encrypted_topic(self) -> sns.Topic:
        # Auto Scaling publishes with its service-linked role; granting it by condition rather than
        # by principal keeps the key creatable before that role exists in a new account.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingNotifications",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:PrincipalArn": (
                            f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
                            "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
                        )
                    },
                },
            )
        )
        return sns.Topic(self, "ScalingNotifications", master_key=self.key, enforce_ssl=True)

    def _acknowledge_agent_permissions(self) -> None:
        Validations.of(self.instance_role.node.default_child).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
                reason=(
                    "AmazonSSMManagedInstanceCore is the AWS-maintained minimum for Session Manager, "
                    "the only way into these instances (no SSH key, no ingress). A hand-copied inline "
                    "policy would hold the same ssm/ssmmessages/ec2messages actions on '*'."
                ),
            )
        )
        default_policy = self.instance_role.node.try_find_child("DefaultPolicy")
        if default_policy is None:
            return
        reason = (
            "Written by CDK for the ECS agent: ecs:Submit* is scoped to this cluster, ecs:Poll and "
            "ecs:StartTelemetrySession to it by condition, and ecs:DiscoverPollEndpoint and "
            "ecr:GetAuthorizationToken do not support resource-level permissions, so IAM requires '*'. "
            "The role holds no CloudWatch Logs permission."
        )
        Validations.of(default_policy).acknowledge(
            Acknowledgment(id="AwsSolutions::AwsSolutions-IAM5[Action::ecs:Submit*]", reason=reason),
            Acknowledgment(id="AwsSolutions::AwsSolutions-IAM5[Resource::*]", reason=reason),
        )


def _validate_sizes(
    construct_id: str,
    *,
    min_capacity: int,
    max_capacity: int,
    desired_capacity: Optional[int],
    target_capacity_percent: int,
    root_volume_size_gib: int,
    asg_notifications: bool,
    notifications_topic: Optional[sns.ITopic],
) -> None:
    """Collect every problem with the sizes, then report them together."""
    problems = []
    if min_capacity < 0:
        problems.append(f"min_capacity must be >= 0, got {min_capacity}")
    if max_capacity < max(min_capacity, 1):
        problems.append(f"max_capacity must be >= min_capacity and >= 1, got {max_capacity} (min {min_capacity})")
    if desired_capacity is not None and not min_capacity <= desired_capacity <= max_capacity:
        problems.append(
            f"desired_capacity must be between min_capacity and max_capacity "
            f"({min_capacity}-{max_capacity}), got {desired_capacity}"
        )
    if not 1 <= target_capacity_percent <= 100:
        problems.append(f"target_capacity_percent must be 1-100, got {target_capacity_percent}")
    if root_volume_size_gib < ROOT_VOLUME_GIB:
        problems.append(
            f"root_volume_size_gib must be >= {ROOT_VOLUME_GIB} (the AMI's snapshot), got {root_volume_size_gib}"
        )
    if notifications_topic is not None and not asg_notifications:
        problems.append("notifications_topic was given but asg_notifications is False")
    if problems:
        raise ValueError(f"BridgeCluster '{construct_id}': " + "; ".join(problems) + ".")


def _private_subnet_type(vpc: ec2.IVpc) -> ec2.SubnetType:
    return ec2.SubnetType.PRIVATE_WITH_EGRESS if vpc.private_subnets else ec2.SubnetType.PRIVATE_ISOLATED


class _ContainerInstanceRole(iam.Role):
    """The instances' role, without the log writes on '*' that CDK's cluster adds to it.

    Only that one statement is narrowed (matched by its exact actions on '*'); every other grant,
    a log group's ``grant_write`` or your own statement on '*' included, passes unchanged. If CDK
    changes the statement, it passes unchanged too, and the tests that pin the role's policy fail.
    """

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        if (
            statement.effect == iam.Effect.ALLOW
            and statement.resources == ["*"]
            and not statement.has_principal
            and not statement.conditions
            and frozenset(statement.actions) == CDK_AGENT_WILDCARD_ACTIONS
        ):
            statement = statement.copy(actions=sorted(CDK_AGENT_WILDCARD_ACTIONS - UNUSED_AGENT_LOG_ACTIONS))
        return super().add_to_principal_policy(statement)

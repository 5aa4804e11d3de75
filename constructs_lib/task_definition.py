"""An EC2 task definition in bridge network mode with one container and its port mappings."""

from __future__ import annotations

from typing import List, Optional, Sequence

import jsii
from aws_cdk import RemovalPolicy, aws_ecs as ecs, aws_kms as kms, aws_logs as logs
from constructs import Construct, IValidation

from constructs_lib.log_groups import log_group
from constructs_lib.ports import AGENT_RESERVED_PORTS, PortMapping


class BridgeTaskDefinition(Construct):
    """A bridge-mode task definition for EC2 capacity, ready for ECS Exec.

    Each port mapping is static (``PortMapping(80, host_port=8080)``: one such task per instance)
    or dynamic (``PortMapping(80)``: the agent picks a host port, many tasks per instance). The
    container logs to its own CloudWatch log group through ``awslogs`` and runs an init process,
    which ECS Exec needs to reap the processes of a session. The task role starts empty (a service
    with ECS Exec adds exactly the channels it needs); the execution role gets only what CDK
    grants for this log group and the image. The ``awslogs`` driver writes with the execution
    role (the ECS agent hands Docker that role's credentials), so the instances need no
    CloudWatch Logs permission for it.

    Example::

        web = BridgeTaskDefinition(
            stack, "Web",
            image=ecs.ContainerImage.from_registry("nginx:alpine"),
            container_name="nginx",
            port_mappings=[PortMapping(80, host_port=8080)],
        )
        web.add_port_mappings(PortMapping(443))   # later mappings are validated at synth

    :param image: the container image.
    :param container_name: the container's name. Default: ``"app"``.
    :param port_mappings: the container's port mappings. Default: - none; add them later with
        ``add_port_mappings``. Two mappings of one host port and protocol are an error.
    :param memory_limit_mib: the container's hard memory limit. Default: 256.
    :param cpu: CPU units reserved for the container. Default: - no reservation.
    :param family: the task definition family. Default: - a name CDK derives from the construct path.
    :param log_retention: how long container logs are kept. Default: one week.
    :param log_encryption_key: a KMS key for the container's log group. The group is then named
        ``/<stack>/<path>/<hash>/LogGroup-<part of the stack UUID>`` and the key's policy gets a statement
        letting CloudWatch Logs use the key for that name only (see ``constructs_lib.log_groups``);
        an imported key's policy must allow it itself (synth warns). Default: - CloudWatch Logs'
        own encryption, and a name CloudFormation generates.
    :param init_process_enabled: run an init process in the container, as ECS Exec recommends.
        Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ecs.ContainerImage,
        container_name: Optional[str] = None,
        port_mappings: Optional[Sequence[PortMapping]] = None,
        memory_limit_mib: Optional[int] = None,
        cpu: Optional[int] = None,
        family: Optional[str] = None,
        log_retention: Optional[logs.RetentionDays] = None,
        log_encryption_key: Optional[kms.IKey] = None,
        init_process_enabled: Optional[bool] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        container_name = container_name or "app"
        memory_limit_mib = 256 if memory_limit_mib is None else memory_limit_mib
        init_process_enabled = True if init_process_enabled is None else init_process_enabled
        if memory_limit_mib < 6:
            raise ValueError(
                f"BridgeTaskDefinition '{construct_id}': memory_limit_mib must be at least 6 "
                f"(Docker's minimum), got {memory_limit_mib}."
            )

        self._port_mappings: List[PortMapping] = []
        self.task_definition = ecs.Ec2TaskDefinition(
            self, "TaskDefinition", network_mode=ecs.NetworkMode.BRIDGE, family=family
        )
        self.log_group = log_group(
            self,
            "LogGroup",
            encryption_key=log_encryption_key,
            retention=log_retention or logs.RetentionDays.ONE_WEEK,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.container = self.task_definition.add_container(
            container_name,
            image=image,
            memory_limit_mib=memory_limit_mib,
            cpu=cpu,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=container_name, log_group=self.log_group),
            linux_parameters=ecs.LinuxParameters(
                self, "LinuxParameters", init_process_enabled=init_process_enabled
            ),
        )
        self.container_name = container_name
        self.add_port_mappings(*(port_mappings or ()))
        self.node.add_validation(_PortMappingValidation(self))

    @property
    def port_mappings(self) -> List[PortMapping]:
        """The container's port mappings, in the order they were added."""
        return list(self._port_mappings)

    @property
    def static_mappings(self) -> List[PortMapping]:
        """The mappings that hold a fixed host port."""
        return [m for m in self._port_mappings if m.is_static]

    def add_port_mappings(self, *mappings: PortMapping) -> None:
        """Publish more container ports. Conflicts are reported when the app synthesizes."""
        for mapping in mappings:
            self._port_mappings.append(mapping)
            self.container.add_port_mappings(
                ecs.PortMapping(
                    container_port=mapping.container_port,
                    host_port=mapping.host_port or 0,
                    protocol=ecs.Protocol.UDP if mapping.protocol == "udp" else ecs.Protocol.TCP,
                )
            )

    def find_mapping(self, container_port: int, protocol: str = "tcp") -> Optional[PortMapping]:
        """The mapping of a container port, if the container publishes it."""
        for mapping in self._port_mappings:
            if mapping.container_port == container_port and mapping.protocol == protocol:
                return mapping
        return None


@jsii.implements(IValidation)
class _PortMappingValidation:
    """Checks the mappings as they stand at synth, after every ``add_port_mappings`` call."""

    def __init__(self, owner: BridgeTaskDefinition) -> None:
        self._owner = owner

    def validate(self) -> List[str]:
        errors = []
        seen = set()
        name = self._owner.node.path
        for mapping in self._owner.static_mappings:
            key = (mapping.host_port, mapping.protocol)
            if key in seen:
                errors.append(
                    f"{name}: host port {mapping.protocol}/{mapping.host_port} is mapped twice; "
                    "one task can hold a host port once. Map the second container port to another host port."
                )
            seen.add(key)
            if mapping.host_port in AGENT_RESERVED_PORTS:
                errors.append(
                    f"{name}: host port {mapping.host_port} is reserved by the ECS agent "
                    f"({', '.join(map(str, sorted(AGENT_RESERVED_PORTS)))}); no instance would place the task. "
                    "Pick another host port or map it dynamically."
                )
        return errors

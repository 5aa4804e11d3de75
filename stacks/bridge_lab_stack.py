"""The ECS workshop's bridge-mode lab: static 8080:80 and dynamic 0:80 nginx on EC2 capacity."""

from __future__ import annotations

from typing import Any, Optional

from aws_cdk import CfnOutput, Stack, aws_ec2 as ec2, aws_ecs as ecs
from constructs import Construct

from constructs_lib import (
    BridgeCluster,
    BridgeTaskDefinition,
    BridgeVpc,
    LoadBalancedBridgeService,
    PortMapping,
)
from stacks.settings import LabSettings

#: The seed's static mapping: host port 8080 to nginx's port 80.
STATIC_HOST_PORT = 8080
CONTAINER_PORT = 80
CONTAINER_NAME = "nginx"
IMAGE = "nginx:alpine"


class BridgeLabStack(Stack):
    """Everything one ``cdk deploy`` needs for the lab: network, cluster and capacity, the two
    task definitions, a load-balanced service for each, and outputs with the lab's commands."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Optional[LabSettings] = None, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = settings or LabSettings()

        self.network = BridgeVpc(self, "Network")
        self.capacity = BridgeCluster(
            self,
            "Capacity",
            vpc=self.network.vpc,
            instance_type=ec2.InstanceType(settings.instance_type),
            min_capacity=settings.instance_count,
            max_capacity=settings.instance_count,
        )
        cluster_name = self.capacity.cluster.cluster_name
        CfnOutput(self, "ClusterName", value=cluster_name, description="export ClusterName=<this>")

        self.labs = {}
        # The seed's task definition families: ecs-networking-demo-bridge-{stat,dyn}.
        lab_mappings = {
            "static": ("stat", PortMapping(CONTAINER_PORT, host_port=STATIC_HOST_PORT), settings.static_desired_count),
            "dynamic": ("dyn", PortMapping(CONTAINER_PORT), settings.dynamic_desired_count),
        }
        for lab, (family, mapping, desired_count) in lab_mappings.items():
            if lab not in settings.labs:
                continue
            title = lab.capitalize()
            task_definition = BridgeTaskDefinition(
                self,
                f"{title}TaskDefinition",
                image=ecs.ContainerImage.from_registry(IMAGE),
                container_name=CONTAINER_NAME,
                port_mappings=[mapping],
                family=f"ecs-networking-demo-bridge-{family}",
                log_encryption_key=self.capacity.key,
            )
            service = LoadBalancedBridgeService(
                self,
                f"{title}Service",
                cluster=self.capacity,
                task_definition=task_definition,
                desired_count=desired_count,
            )
            self.labs[lab] = service
            self._lab_outputs(title, cluster_name, task_definition, service)

    def _lab_outputs(
        self,
        title: str,
        cluster_name: str,
        task_definition: BridgeTaskDefinition,
        service: LoadBalancedBridgeService,
    ) -> None:
        arn = task_definition.task_definition.task_definition_arn
        cluster = f"--cluster {cluster_name}"
        commands = {
            "RunTaskCommand": (
                f"export TASK_ARN=$(aws ecs run-task {cluster} --task-definition {arn} "
                "--enable-execute-command --launch-type EC2 --query 'tasks[0].taskArn' --output text)"
            ),
            "DescribeTasksCommand": f"aws ecs describe-tasks {cluster} --tasks $TASK_ARN",
            "ExecCommand": (
                f"aws ecs execute-command {cluster} --task $TASK_ARN --container {CONTAINER_NAME} "
                '--command "/bin/sh" --interactive'
            ),
            "StopTaskCommand": f"aws ecs stop-task {cluster} --task $TASK_ARN",
        }
        CfnOutput(self, f"{title}TaskDefinitionArn", value=arn)
        for name, command in commands.items():
            CfnOutput(self, f"{title}{name}", value=command, description=f"{title} lab: {name}")
        CfnOutput(
            self,
            f"{title}Url",
            value=f"http://{service.load_balancer.load_balancer_dns_name}/",
            description=f"{title} lab: nginx behind the load balancer",
        )

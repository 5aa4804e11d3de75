"""Small builders of hand-written CloudFormation templates for the port plan tests.

A `Stack` collects resources; helpers add the pieces an ECS-on-EC2 app is made of, with the same
shapes CDK synthesizes (Ref/GetAtt, user data as Fn::Base64 of Fn::Join).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from constructs_lib.portplan import LoadedTemplate, check_templates
from constructs_lib.portplan.findings import Finding

Mapping_ = tuple[int, int | None, str]  # (containerPort, hostPort or None, protocol)


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def att(logical_id: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def user_data(cluster: Any, *lines: str) -> dict[str, Any]:
    """`#!/bin/bash` user data writing ECS_CLUSTER=<cluster> and `lines` to ecs.config, as CDK does."""
    parts: list[Any] = ["#!/bin/bash\necho ECS_CLUSTER=", cluster, " >> /etc/ecs/ecs.config"]
    parts += [f"\necho {line} >> /etc/ecs/ecs.config" for line in lines]
    return {"Fn::Base64": {"Fn::Join": ["", parts]}}


def _size(value: Any) -> Any:
    """Sizes as CDK writes them: numbers as strings."""
    return str(value) if isinstance(value, int) else value


class Stack:
    """A template under construction; `name` is its display name and stack name."""

    def __init__(self, name: str = "Stack") -> None:
        self.name = name
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}

    def add(self, logical_id: str, kind: str, properties: dict[str, Any] | None = None, path: str | None = None) -> str:
        resource: dict[str, Any] = {"Type": kind}
        if properties is not None:
            resource["Properties"] = properties
        if path is not None:
            resource["Metadata"] = {"aws:cdk:path": path}
        self.resources[logical_id] = resource
        return logical_id

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].setdefault("Properties", {})

    def export(self, logical_id: str, value: Any) -> str:
        """Export `value` the way CDK does for cross-stack references; return the export name."""
        name = f"{self.name}:ExportsOutput{logical_id}"
        self.outputs[f"ExportsOutput{logical_id}"] = {"Value": value, "Export": {"Name": name}}
        return name

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"Resources": self.resources}
        if self.outputs:
            body["Outputs"] = self.outputs
        if self.parameters:
            body["Parameters"] = self.parameters
        if self.conditions:
            body["Conditions"] = self.conditions
        return body

    def loaded(self) -> LoadedTemplate:
        return LoadedTemplate(
            name=f"{self.name}.template.json",
            path=f"/fixtures/{self.name}.template.json",
            body=self.body(),
            stack_name=self.name,
        )

    def write(self, directory: os.PathLike[str] | str) -> str:
        path = os.path.join(directory, f"{self.name}.template.json")
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(self.body(), stream, indent=1)
        return path

    # -- ECS pieces ------------------------------------------------------------------------------

    def cluster(self, logical_id: str = "Cluster") -> str:
        return self.add(logical_id, "AWS::ECS::Cluster", path=f"{self.name}/{logical_id}/Resource")

    def vpc(self, logical_id: str = "Vpc", cidr: str = "10.0.0.0/16") -> str:
        return self.add(logical_id, "AWS::EC2::VPC", {"CidrBlock": cidr}, path=f"{self.name}/{logical_id}/Resource")

    def security_group(self, logical_id: str, egress: list[dict[str, Any]] | None = None) -> str:
        properties: dict[str, Any] = {"GroupDescription": logical_id}
        if egress is not None:
            properties["SecurityGroupEgress"] = egress
        return self.add(logical_id, "AWS::EC2::SecurityGroup", properties, path=f"{self.name}/{logical_id}/Resource")

    def capacity(
        self,
        logical_id: str = "Asg",
        *,
        cluster: Any = None,
        min_size: Any = 1,
        max_size: Any = None,
        desired: Any = None,
        settings: Sequence[str] = (),
        launch_configuration: bool = False,
        provider: str | None = None,
        managed: bool | None = True,
        security_group: str | None = None,
        instance_type: Any = "t3.micro",
    ) -> str:
        """An Auto Scaling group registered to `cluster` (default: Ref Cluster), optionally with a provider;
        its instances are `instance_type` (t3.micro: 2 vCPUs, 1024 MiB)."""
        cluster = ref("Cluster") if cluster is None else cluster
        group_id = security_group or self.security_group(f"{logical_id}Sg")
        data = user_data(cluster, *settings)
        group_props: dict[str, Any] = {
            "MinSize": _size(min_size),
            "MaxSize": _size(min_size if max_size is None else max_size),
        }
        if desired is not None:
            group_props["DesiredCapacity"] = _size(desired)
        if launch_configuration:
            self.add(
                f"{logical_id}Config",
                "AWS::AutoScaling::LaunchConfiguration",
                {"InstanceType": instance_type, "UserData": data, "SecurityGroups": [att(group_id, "GroupId")]},
            )
            group_props["LaunchConfigurationName"] = ref(f"{logical_id}Config")
        else:
            self.add(
                f"{logical_id}Template",
                "AWS::EC2::LaunchTemplate",
                {
                    "LaunchTemplateData": {
                        "InstanceType": instance_type,
                        "UserData": data,
                        "SecurityGroupIds": [att(group_id, "GroupId")],
                    }
                },
            )
            group_props["LaunchTemplate"] = {
                "LaunchTemplateId": ref(f"{logical_id}Template"),
                "Version": att(f"{logical_id}Template", "LatestVersionNumber"),
            }
        self.add(logical_id, "AWS::AutoScaling::AutoScalingGroup", group_props, path=f"{self.name}/{logical_id}/ASG")
        if provider is not None:
            provider_props: dict[str, Any] = {"AutoScalingGroupArn": ref(logical_id)}
            if managed is not None:
                provider_props["ManagedScaling"] = {"Status": "ENABLED" if managed else "DISABLED"}
            self.add(provider, "AWS::ECS::CapacityProvider", {"AutoScalingGroupProvider": provider_props})
        return logical_id

    def task(
        self,
        logical_id: str,
        mappings: Iterable[Mapping_] = (),
        *,
        mode: str | None = "bridge",
        containers: list[dict[str, Any]] | None = None,
    ) -> str:
        """A task definition with one container `web` mapping (containerPort, hostPort, protocol)s."""
        if containers is None:
            port_mappings = []
            for container_port, host_port, protocol in mappings:
                entry: dict[str, Any] = {"ContainerPort": container_port, "Protocol": protocol}
                if host_port is not None:
                    entry["HostPort"] = host_port
                port_mappings.append(entry)
            containers = [{"Name": "web", "Image": "nginx", "Memory": 128, "PortMappings": port_mappings}]
        properties: dict[str, Any] = {"ContainerDefinitions": containers}
        if mode is not None:
            properties["NetworkMode"] = mode
        return self.add(logical_id, "AWS::ECS::TaskDefinition", properties, path=f"{self.name}/{logical_id}/Resource")

    def service(
        self,
        logical_id: str,
        task: str,
        *,
        desired: Any = 1,
        cluster: Any = None,
        daemon: bool = False,
        launch_type: str | None = "EC2",
        strategy: list[str] | None = None,
        minimum: Any = 0,
        maximum: Any = None,
        load_balancers: list[dict[str, Any]] | None = None,
        constraints: list[dict[str, Any]] | None = None,
        controller: str | None = None,
        deployment_strategy: str | None = None,
    ) -> str:
        """A service; minimumHealthyPercent defaults to 0 here so only deadlock tests see deadlocks.

        `constraints` are its PlacementConstraints, `controller` its DeploymentController type and
        `deployment_strategy` its DeploymentConfiguration.Strategy."""
        properties: dict[str, Any] = {
            "Cluster": ref("Cluster") if cluster is None else cluster,
            "TaskDefinition": ref(task),
        }
        if daemon:
            properties["SchedulingStrategy"] = "DAEMON"
        elif desired is not None:
            properties["DesiredCount"] = desired
        if strategy is not None:
            properties["CapacityProviderStrategy"] = [{"CapacityProvider": ref(p), "Weight": 1} for p in strategy]
        elif launch_type is not None:
            properties["LaunchType"] = launch_type
        deployment: dict[str, Any] = {}
        if minimum is not None:
            deployment["MinimumHealthyPercent"] = minimum
        if maximum is not None:
            deployment["MaximumPercent"] = maximum
        if deployment_strategy is not None:
            deployment["Strategy"] = deployment_strategy
        if deployment:
            properties["DeploymentConfiguration"] = deployment
        if load_balancers:
            properties["LoadBalancers"] = load_balancers
        if constraints is not None:
            properties["PlacementConstraints"] = constraints
        if controller is not None:
            properties["DeploymentController"] = {"Type": controller}
        return self.add(logical_id, "AWS::ECS::Service", properties, path=f"{self.name}/{logical_id}/Service")

    def scaling(self, service: str, low: Any, high: Any, *, cluster: str = "Cluster", logical_id: str | None = None) -> str:
        """Service auto scaling between `low` and `high` tasks, its ResourceId written as CDK writes it."""
        resource_id = {"Fn::Join": ["", ["service/", ref(cluster), "/", att(service, "Name")]]}
        return self.add(
            logical_id or f"{service}Scaling",
            "AWS::ApplicationAutoScaling::ScalableTarget",
            {
                "MinCapacity": low,
                "MaxCapacity": high,
                "ResourceId": resource_id,
                "ScalableDimension": "ecs:service:DesiredCount",
                "ServiceNamespace": "ecs",
            },
            path=f"{self.name}/{service}/TaskCount/Target/Resource",
        )

    def balancer(
        self,
        logical_id: str = "Lb",
        *,
        health_check_port: Any = None,
        lb_egress: list[dict[str, Any]] | None = None,
        target_type: str | None = "instance",
        kind: str = "application",
        security_group: bool = True,
        scheme: str | None = None,
        protocol: str | None = None,
        listener_open: bool = True,
    ) -> str:
        """A balancer (an ALB unless `kind` is "network") with its own security group (unless not
        `security_group`; open to anyone on the listener port unless not `listener_open`), a listener
        on port 80, and target group `<logical_id>Tg`; returns the group."""
        balancer_props: dict[str, Any] = {"Type": kind}
        if security_group:
            group = self.security_group(f"{logical_id}Sg", egress=lb_egress)
            balancer_props["SecurityGroups"] = [att(group, "GroupId")]
            if listener_open:
                transport = "udp" if (protocol or "").upper() == "UDP" else "tcp"
                self.props(group)["SecurityGroupIngress"] = [
                    {"IpProtocol": transport, "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}
                ]
        if scheme is not None:
            balancer_props["Scheme"] = scheme
        self.add(logical_id, "AWS::ElasticLoadBalancingV2::LoadBalancer", balancer_props, path=f"{self.name}/{logical_id}/Resource")
        listener_protocol = protocol or (None if kind == "application" else "TCP")
        protocol = protocol or ("HTTP" if kind == "application" else "TCP")
        target_props: dict[str, Any] = {"Port": 80, "Protocol": protocol}
        if target_type is not None:
            target_props["TargetType"] = target_type
        if health_check_port is not None:
            target_props["HealthCheckPort"] = health_check_port
        self.add(
            f"{logical_id}Tg",
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            target_props,
            path=f"{self.name}/{logical_id}/Tg/Resource",
        )
        self.add(
            f"{logical_id}Listener",
            "AWS::ElasticLoadBalancingV2::Listener",
            {
                "LoadBalancerArn": ref(logical_id),
                "Port": 80,
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": ref(f"{logical_id}Tg")}],
                **({"Protocol": listener_protocol} if listener_protocol else {}),
            },
        )
        return f"{logical_id}Tg"

    def ingress(
        self, group: str, source: str | None, low: int, high: int, protocol: Any = "tcp", cidr: Any = None
    ) -> str:
        """A standalone ingress rule on `group` from security group `source` (or from `cidr`; the
        VPC's own CIDR is `att("Vpc", "CidrBlock")`, after `vpc()`)."""
        properties: dict[str, Any] = {
            "GroupId": att(group, "GroupId"),
            "IpProtocol": protocol,
            "FromPort": low,
            "ToPort": high,
        }
        if source is not None:
            properties["SourceSecurityGroupId"] = att(source, "GroupId")
        else:
            properties["CidrIp"] = cidr
        suffix = "" if protocol == "tcp" else str(protocol).replace("-", "All")
        return self.add(f"{group}From{source or 'Cidr'}{low}{suffix}", "AWS::EC2::SecurityGroupIngress", properties)

    def egress(self, group: str, destination: str, low: int, high: int) -> str:
        properties = {
            "GroupId": att(group, "GroupId"),
            "IpProtocol": "tcp",
            "FromPort": low,
            "ToPort": high,
            "DestinationSecurityGroupId": att(destination, "GroupId"),
        }
        return self.add(f"{group}To{destination}{low}", "AWS::EC2::SecurityGroupEgress", properties)


def link(target_group: str, port: int = 80, container: str = "web") -> dict[str, Any]:
    """A service's LoadBalancers entry."""
    return {"ContainerName": container, "ContainerPort": port, "TargetGroupArn": ref(target_group)}


# -- whole apps ------------------------------------------------------------------------------------


def static_app(*, tasks: int = 2, instances: int = 2, host_port: int = 8080, **service: Any) -> Stack:
    """One cluster, one Auto Scaling group, one service with a static host port."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=instances)
    stack.task("Task", [(80, host_port, "tcp")])
    stack.service("Service", "Task", desired=tasks, **service)  # type: ignore[arg-type]
    return stack


def balanced_app(
    *,
    health_check_port: object = None,
    open_range: tuple[int, int] | None = (32768, 65535),
    settings: tuple[str, ...] = (),
    lb_egress: list[dict[str, object]] | None = None,
    host_port: int | None = 0,
) -> Stack:
    """A dynamic-port service behind an ALB; `open_range` is the ingress the instances allow from it."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2, settings=settings)
    group = stack.balancer(health_check_port=health_check_port, lb_egress=lb_egress)
    if open_range is not None:
        stack.ingress("AsgSg", "LbSg", *open_range)
    stack.task("Task", [(80, host_port, "tcp")])
    stack.service("Service", "Task", desired=2, load_balancers=[link(group)])
    return stack


def check(*stacks: Stack) -> list[Finding]:
    return check_templates([s.loaded() for s in stacks])


def rules_of(findings: Iterable[Finding], rule: str | None = None) -> list[Finding]:
    return [f for f in findings if rule is None or f.rule == rule]


def ids(findings: Iterable[Finding]) -> set[tuple[str, str]]:
    """(rule, resource) of every finding."""
    return {(f.rule, f.resource) for f in findings}


def cross_stack_files(directory: os.PathLike[str] | str) -> tuple[Stack, Stack]:
    """App imports Net's cluster; App sorts first, so a plain directory lists it before Net."""
    net = Stack("Net")
    net.cluster()
    net.capacity(min_size=1)
    exported = net.export("RefCluster", ref("Cluster"))
    app = Stack("App")
    app.task("Task", [(80, 8080, "tcp")])
    app.service("Service", "Task", desired=2, cluster={"Fn::ImportValue": exported})
    net.write(directory)
    app.write(directory)
    return net, app

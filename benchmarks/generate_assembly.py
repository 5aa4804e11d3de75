"""Write a synthetic but realistic CDK cloud assembly for benchmarking the port-plan checker.

The assembly looks like what ``cdk synth`` writes for a fleet of ECS-on-EC2 bridge-mode clusters:
a ``manifest.json`` with one ``aws:cloudformation:stack`` artifact per stack, and templates in
CDK's JSON shape (one-space indent, hashed logical ids, ``aws:cdk:path`` metadata, bootstrap
parameter and rule).

Each "platform" stack holds a VPC and up to ``clusters_per_stack`` clusters. Every cluster has an
ECS cluster, an instance security group, an instance role and profile, a launch template whose user
data (``Fn::Base64`` of ``Fn::Join``) sets ``ECS_CLUSTER=`` + ``Ref`` to the cluster and
``ECS_DYNAMIC_HOST_PORT_RANGE=32768-60999``, an Auto Scaling group (MinSize/MaxSize strings, launch
template by ``Ref`` + ``Fn::GetAtt LatestVersionNumber``), a capacity provider with managed scaling
and the cluster's ``ClusterCapacityProviderAssociations``. Its services mix static bridge ports,
dynamic bridge ports behind an ALB (listener, listener rules, instance target groups, ingress from
the balancer's security group on the dynamic range), a DAEMON and host-mode services, each with its
task definition, execution role and log group. Every ``cross_stack_every``-th cluster keeps its
services in a companion "apps" stack that reaches the cluster, capacity provider, instance security
group and subnets through ``Fn::ImportValue`` of the platform stack's exports, as CDK does.

The plans are valid by construction (no port-plan findings): static host ports are unique per
cluster, outside the dynamic range and the agent's reserved ports, static tasks never outnumber the
instances, static deployments can always stop a task first, and a cluster's tasks reserve at most
half the memory of its instances (so every deployment finds room). Output is deterministic per seed.

Usage: ``python benchmarks/generate_assembly.py OUTDIR --services 1000 [--seed 1]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

DYNAMIC_RANGE = (32768, 60999)
SERVICES_PER_CLUSTER = 10
CLUSTERS_PER_STACK = 5
CROSS_STACK_EVERY = 4
AMI_PARAMETER = (
    "SsmParameterValueawsserviceecsoptimizedamiamazonlinux2023recommendedimageid"
    "C96584B6F00A464EAD1953AFF4B05118Parameter"
)
INSTANCE_TYPES = ("t3.small", "t3.medium", "m7i.large", "c7i.large")
INSTANCE_MEMORY = {"t3.small": 2048, "t3.medium": 4096, "m7i.large": 8192, "c7i.large": 4096}
"""MiB of each type; a cluster's tasks reserve at most half its instances' memory (room to deploy)."""
TASK_MEMORY = (128, 256, 512)
IMAGES = ("nginx:alpine", "public.ecr.aws/docker/library/httpd:2.4", "public.ecr.aws/nginx/nginx:stable")
KINDS = ("static", "dynamic", "daemon", "host")


@dataclass
class Summary:
    """What `generate` wrote."""

    services: int = 0
    clusters: int = 0
    stacks: int = 0
    resources: int = 0
    bytes: int = 0
    kinds: Counter = field(default_factory=Counter)
    cross_stack_clusters: int = 0


def logical_id(parts: List[str]) -> str:
    """A CDK-style logical id: the path's components (without Resource/Default) and an 8-hex hash."""
    human = "".join(p for p in parts if p not in ("Resource", "Default"))
    human = re.sub(r"[^A-Za-z0-9]", "", human)
    digest = hashlib.md5("/".join(parts).encode()).hexdigest()[:8].upper()
    return f"{human}{digest}"


class Template:
    """One stack's template under construction."""

    def __init__(self, stack_name: str) -> None:
        self.stack_name = stack_name
        self.resources: Dict[str, Any] = {}
        self.outputs: Dict[str, Any] = {}
        self.parameters: Dict[str, Any] = {}
        self.imports_from: List[str] = []

    def add(self, parts: List[str], kind: str, properties: Dict[str, Any], **extra: Any) -> str:
        """Add a resource at construct path ``stack/parts``; returns its logical id."""
        lid = logical_id(parts)
        resource: Dict[str, Any] = {"Type": kind, "Properties": properties}
        resource.update(extra)
        resource["Metadata"] = {"aws:cdk:path": "/".join([self.stack_name, *parts])}
        self.resources[lid] = resource
        return lid

    def export(self, expression: Dict[str, Any], what: str) -> str:
        """Export ``expression`` as CDK does for a cross-stack reference; returns the export name."""
        output_id = f"ExportsOutput{what}"
        name = f"{self.stack_name}:{output_id}"
        self.outputs[output_id] = {"Value": expression, "Export": {"Name": name}}
        return name

    def body(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"Resources": self.resources}
        if self.outputs:
            body["Outputs"] = self.outputs
        parameters = dict(self.parameters)
        parameters["BootstrapVersion"] = {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/cdk-bootstrap/hnb659fds/version",
            "Description": "Version of the CDK Bootstrap resources in this environment, automatically "
            "retrieved from SSM Parameter Store. [cdk:skip]",
        }
        body["Parameters"] = parameters
        body["Rules"] = {
            "CheckBootstrapVersion": {
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
                        "AssertDescription": "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' "
                        "with a recent version of the CDK CLI.",
                    }
                ]
            }
        }
        return body


def _ref(lid: str) -> Dict[str, Any]:
    return {"Ref": lid}


def _att(lid: str, attribute: str) -> Dict[str, Any]:
    return {"Fn::GetAtt": [lid, attribute]}


def _partition_arn(suffix: str) -> Dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, suffix]]}


def _assume_role(service: str) -> Dict[str, Any]:
    return {
        "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}],
        "Version": "2012-10-17",
    }


def _tags(name: str) -> List[Dict[str, str]]:
    return [{"Key": "Name", "Value": name}]


class _Refs:
    """How a template refers to one cluster's shared resources: locally or through imports."""

    def __init__(self, local: bool, **values: Dict[str, Any]) -> None:
        self.local = local
        self.values = values

    def __getattr__(self, name: str) -> Dict[str, Any]:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


class _Generator:
    def __init__(self, services: int, seed: int, services_per_cluster: int, clusters_per_stack: int,
                 cross_stack_every: int) -> None:
        self.total = services
        self.rng = random.Random(seed)
        self.per_cluster = services_per_cluster
        self.per_stack = clusters_per_stack
        self.cross_every = cross_stack_every
        self.summary = Summary()

    def templates(self) -> List[Template]:
        sizes = [self.per_cluster] * (self.total // self.per_cluster)
        if self.total % self.per_cluster:
            sizes.append(self.total % self.per_cluster)
        stacks: List[Template] = []
        for first in range(0, len(sizes), self.per_stack):
            number = first // self.per_stack + 1
            platform = Template(f"Platform{number:03d}")
            apps: Optional[Template] = None
            network = self._network(platform, number)
            for index in range(first, min(first + self.per_stack, len(sizes))):
                cross = self.cross_every > 0 and index % self.cross_every == self.cross_every - 1
                if cross and apps is None:
                    apps = Template(f"Apps{number:03d}")
                    apps.imports_from.append(platform.stack_name)
                self._cluster(platform, apps if cross else None, network, index, sizes[index])
            stacks.append(platform)
            if apps is not None:
                stacks.append(apps)
        return stacks

    # -- network ----------------------------------------------------------------------------------

    def _network(self, t: Template, number: int) -> Dict[str, Any]:
        vpc = t.add(["Network", "Vpc", "Resource"], "AWS::EC2::VPC", {
            "CidrBlock": f"10.{number % 250}.0.0/16",
            "EnableDnsHostnames": True,
            "EnableDnsSupport": True,
            "InstanceTenancy": "default",
            "Tags": _tags(f"{t.stack_name}/Network/Vpc"),
        })
        subnets: Dict[str, List[str]] = {"Public": [], "Private": []}
        block = 0
        for kind in ("Public", "Private"):
            for az in (1, 2):
                name = f"{kind}Subnet{az}"
                subnet = t.add(["Network", "Vpc", name, "Subnet"], "AWS::EC2::Subnet", {
                    "AvailabilityZone": {"Fn::Select": [az - 1, {"Fn::GetAZs": ""}]},
                    "CidrBlock": f"10.{number % 250}.{block}.0/24",
                    "MapPublicIpOnLaunch": kind == "Public",
                    "Tags": [
                        {"Key": "aws-cdk:subnet-name", "Value": kind},
                        {"Key": "aws-cdk:subnet-type", "Value": kind},
                        {"Key": "Name", "Value": f"{t.stack_name}/Network/Vpc/{name}"},
                    ],
                    "VpcId": _ref(vpc),
                })
                table = t.add(["Network", "Vpc", name, "RouteTable"], "AWS::EC2::RouteTable", {
                    "Tags": _tags(f"{t.stack_name}/Network/Vpc/{name}"), "VpcId": _ref(vpc),
                })
                t.add(["Network", "Vpc", name, "RouteTableAssociation"], "AWS::EC2::SubnetRouteTableAssociation", {
                    "RouteTableId": _ref(table), "SubnetId": _ref(subnet),
                })
                subnets[kind].append(subnet)
                block += 1
        t.add(["Network", "Vpc", "IGW"], "AWS::EC2::InternetGateway", {"Tags": _tags(f"{t.stack_name}/Network/Vpc")})
        return {"vpc": vpc, "public": subnets["Public"], "private": subnets["Private"], "exports": {}}

    # -- one cluster ------------------------------------------------------------------------------

    def _cluster(self, t: Template, apps: Optional[Template], network: Dict[str, Any], index: int, count: int) -> None:
        rng = self.rng
        name = f"Cluster{index + 1:04d}"
        min_size = rng.randint(2, 4)
        max_size = min_size + rng.randint(0, 3)
        instance_type = rng.choice(INSTANCE_TYPES)
        path = f"{t.stack_name}/{name}"

        cluster = t.add([name, "Cluster", "Resource"], "AWS::ECS::Cluster", {
            "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
        })
        instance_sg = t.add([name, "InstanceSecurityGroup", "Resource"], "AWS::EC2::SecurityGroup", {
            "GroupDescription": f"{path}/InstanceSecurityGroup",
            "SecurityGroupEgress": [
                {"CidrIp": "0.0.0.0/0", "Description": "Allow all outbound traffic by default", "IpProtocol": "-1"}
            ],
            "Tags": _tags(f"{path}/Asg"),
            "VpcId": _ref(network["vpc"]),
        })
        role = t.add([name, "InstanceRole", "Resource"], "AWS::IAM::Role", {
            "AssumeRolePolicyDocument": _assume_role("ec2.amazonaws.com"),
            "ManagedPolicyArns": [_partition_arn(":iam::aws:policy/AmazonSSMManagedInstanceCore")],
            "Tags": _tags(f"{path}/Asg"),
        })
        policy_parts = [name, "InstanceRole", "DefaultPolicy", "Resource"]
        t.add(policy_parts, "AWS::IAM::Policy", {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["ecs:DeregisterContainerInstance", "ecs:RegisterContainerInstance", "ecs:Submit*"],
                        "Condition": {"ArnEquals": {"ecs:cluster": _att(cluster, "Arn")}},
                        "Effect": "Allow",
                        "Resource": _att(cluster, "Arn"),
                    },
                    {
                        "Action": ["ecs:Poll", "ecs:StartTelemetrySession"],
                        "Condition": {"ArnEquals": {"ecs:cluster": _att(cluster, "Arn")}},
                        "Effect": "Allow",
                        "Resource": "*",
                    },
                    {
                        "Action": ["ecr:GetAuthorizationToken", "ecs:DiscoverPollEndpoint", "logs:CreateLogStream",
                                   "logs:PutLogEvents"],
                        "Effect": "Allow",
                        "Resource": "*",
                    },
                ],
                "Version": "2012-10-17",
            },
            "PolicyName": logical_id(policy_parts),
            "Roles": [_ref(role)],
        })
        profile = t.add([name, "LaunchTemplate", "Profile"], "AWS::IAM::InstanceProfile", {"Roles": [_ref(role)]})
        t.parameters[AMI_PARAMETER] = {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
        }
        launch_template = t.add([name, "LaunchTemplate", "Resource"], "AWS::EC2::LaunchTemplate", {
            "LaunchTemplateData": {
                "BlockDeviceMappings": [
                    {"DeviceName": "/dev/xvda",
                     "Ebs": {"DeleteOnTermination": True, "Encrypted": True, "VolumeSize": 30, "VolumeType": "gp3"}}
                ],
                "IamInstanceProfile": {"Arn": _att(profile, "Arn")},
                "ImageId": _ref(AMI_PARAMETER),
                "InstanceType": instance_type,
                "MetadataOptions": {"HttpPutResponseHopLimit": 1, "HttpTokens": "required"},
                "SecurityGroupIds": [_att(instance_sg, "GroupId")],
                "TagSpecifications": [
                    {"ResourceType": kind, "Tags": _tags(f"{path}/LaunchTemplate")} for kind in ("instance", "volume")
                ],
                "UserData": {"Fn::Base64": {"Fn::Join": ["", [
                    "#!/bin/bash\necho ECS_CLUSTER=",
                    _ref(cluster),
                    " >> /etc/ecs/ecs.config\nsudo iptables --insert FORWARD 1 --in-interface docker+ "
                    "--destination 169.254.169.254/32 --jump DROP\nsudo service iptables save\n"
                    "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config\n"
                    f"echo ECS_DYNAMIC_HOST_PORT_RANGE={DYNAMIC_RANGE[0]}-{DYNAMIC_RANGE[1]} >> /etc/ecs/ecs.config",
                ]]}},
            },
            "TagSpecifications": [{"ResourceType": "launch-template", "Tags": _tags(f"{path}/LaunchTemplate")}],
        }, DependsOn=[logical_id(policy_parts), role])
        asg = t.add([name, "Asg", "ASG"], "AWS::AutoScaling::AutoScalingGroup", {
            "LaunchTemplate": {
                "LaunchTemplateId": _ref(launch_template),
                "Version": _att(launch_template, "LatestVersionNumber"),
            },
            "MaxSize": str(max_size),
            "MinSize": str(min_size),
            "Tags": [{"Key": "Name", "PropagateAtLaunch": True, "Value": f"{path}/Asg"}],
            "VPCZoneIdentifier": [_ref(s) for s in network["private"]],
        }, UpdatePolicy={"AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": True}})
        provider = t.add([name, "CapacityProvider", "CapacityProvider"], "AWS::ECS::CapacityProvider", {
            "AutoScalingGroupProvider": {
                "AutoScalingGroupArn": _ref(asg),
                "ManagedDraining": "ENABLED",
                "ManagedScaling": {"Status": "ENABLED", "TargetCapacity": 100},
                "ManagedTerminationProtection": "DISABLED",
            },
        })
        t.add([name, "Cluster", "Cluster"], "AWS::ECS::ClusterCapacityProviderAssociations", {
            "CapacityProviders": [_ref(provider)],
            "Cluster": _ref(cluster),
            "DefaultCapacityProviderStrategy": [{"CapacityProvider": _ref(provider), "Weight": 1}],
        })

        self.summary.clusters += 1
        if apps is None:
            target, refs = t, _Refs(
                True, cluster=_ref(cluster), provider=_ref(provider), instance_sg=_att(instance_sg, "GroupId"),
                vpc=_ref(network["vpc"]), public=[_ref(s) for s in network["public"]],
            )
        else:
            self.summary.cross_stack_clusters += 1
            imported = network["exports"]
            if not imported:  # the VPC and public subnets are exported once per platform stack
                imported["vpc"] = {"Fn::ImportValue": t.export(_ref(network["vpc"]), f"Ref{network['vpc']}")}
                imported["public"] = [
                    {"Fn::ImportValue": t.export(_ref(s), f"Ref{s}")} for s in network["public"]
                ]
            target, refs = apps, _Refs(
                False,
                cluster={"Fn::ImportValue": t.export(_ref(cluster), f"Ref{cluster}")},
                provider={"Fn::ImportValue": t.export(_ref(provider), f"Ref{provider}")},
                instance_sg={"Fn::ImportValue": t.export(_att(instance_sg, "GroupId"), f"FnGetAtt{instance_sg}GroupId")},
                vpc=imported["vpc"], public=imported["public"],
            )
        self._services(target, name, refs, count, min_size, min_size * INSTANCE_MEMORY[instance_type] // 2)

    # -- services of one cluster ------------------------------------------------------------------

    def _kinds(self, count: int) -> List[str]:
        if count < 4:
            return ["dynamic"] * count
        rng = self.rng
        static = rng.randint(2, 3)
        host = rng.randint(1, 2)
        kinds = ["daemon"] + ["static"] * static + ["host"] * host
        kinds += ["dynamic"] * (count - len(kinds))
        return kinds[:count]

    def _sized(self, desired: int, left: List[int]) -> tuple:
        """A task size and count within the cluster's memory `left` (taken from it): smaller, then fewer."""
        memory = self.rng.choice(TASK_MEMORY)
        while memory > TASK_MEMORY[0] and desired * memory > left[0]:
            memory //= 2
        desired = max(1, min(desired, left[0] // memory))
        left[0] -= desired * memory
        return memory, desired

    def _services(self, t: Template, cname: str, refs: _Refs, count: int, instances: int, memory: int) -> None:
        rng = self.rng
        left = [memory]
        kinds = self._kinds(count)
        balancer: Optional[Dict[str, Any]] = None
        if "dynamic" in kinds:
            balancer = self._balancer(t, cname, refs)
        static_port, host_port, priority = 8080, 9000, 1
        for number, kind in enumerate(kinds, start=1):
            sname = f"{cname}Svc{number:02d}"
            self.summary.services += 1
            self.summary.kinds[kind] += 1
            if kind == "static":
                size, desired = self._sized(rng.randint(1, instances), left)
                mapping = {"ContainerPort": 80, "HostPort": static_port, "Protocol": "tcp"}
                static_port += 1
                task = self._task(t, sname, "bridge", [mapping], memory=size)
                self._service(t, sname, refs, task, desired=desired, strategy=rng.random() < 0.7,
                              minimum=0 if desired == 1 else 50, maximum=100)
            elif kind == "host":
                size, desired = self._sized(rng.randint(1, instances), left)
                mapping = {"ContainerPort": host_port, "HostPort": host_port, "Protocol": "tcp"}
                host_port += 1
                task = self._task(t, sname, "host", [mapping], memory=size)
                self._service(t, sname, refs, task, desired=desired, strategy=True,
                              minimum=0 if desired == 1 else 50, maximum=100)
            elif kind == "daemon":
                mapping = {"ContainerPort": 9100, "HostPort": 9100, "Protocol": "tcp"}
                size, _ = self._sized(instances, left)  # one task on every instance
                task = self._task(t, sname, "bridge", [mapping], image="quay.io/prometheus/node-exporter:v1.8.2",
                                  memory=size)
                self._service(t, sname, refs, task, daemon=True, minimum=0, maximum=100)
            else:
                assert balancer is not None
                mapping = {"ContainerPort": 80, "HostPort": 0, "Protocol": "tcp"}
                size, desired = self._sized(rng.randint(1, 6), left)
                task = self._task(t, sname, "bridge", [mapping], memory=size)
                group = t.add([sname, "TargetGroup", "Resource"], "AWS::ElasticLoadBalancingV2::TargetGroup", {
                    "HealthCheckIntervalSeconds": 10,
                    "HealthCheckPath": "/",
                    "HealthCheckPort": "traffic-port",
                    "Port": 80,
                    "Protocol": "HTTP",
                    "TargetGroupAttributes": [
                        {"Key": "deregistration_delay.timeout_seconds", "Value": "10"},
                        {"Key": "stickiness.enabled", "Value": "false"},
                    ],
                    "TargetType": "instance",
                    "VpcId": refs.vpc,
                })
                if balancer["default"] is None:
                    balancer["default"] = group
                else:
                    t.add([cname, "LoadBalancer", "Http", f"{sname}Rule", "Resource"],
                          "AWS::ElasticLoadBalancingV2::ListenerRule", {
                              "Actions": [{"TargetGroupArn": _ref(group), "Type": "forward"}],
                              "Conditions": [{"Field": "path-pattern",
                                              "PathPatternConfig": {"Values": [f"/svc{number:02d}/*"]}}],
                              "ListenerArn": _ref(balancer["listener"]),
                              "Priority": priority,
                          })
                    priority += 1
                self._service(t, sname, refs, task, desired=desired, strategy=True, minimum=100,
                              maximum=200, target_group=group, depends=[balancer["listener"]])
        if balancer is not None:
            t.resources[balancer["listener"]]["Properties"]["DefaultActions"] = [
                {"TargetGroupArn": _ref(balancer["default"]), "Type": "forward"}
            ]

    def _balancer(self, t: Template, cname: str, refs: _Refs) -> Dict[str, Any]:
        sg = t.add([cname, "LoadBalancer", "SecurityGroup", "Resource"], "AWS::EC2::SecurityGroup", {
            "GroupDescription": f"Automatically created Security Group for ELB {t.stack_name}{cname}LoadBalancer",
            "SecurityGroupEgress": [{"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic",
                                     "FromPort": 252, "IpProtocol": "icmp", "ToPort": 86}],
            "SecurityGroupIngress": [{"CidrIp": "0.0.0.0/0", "Description": "Allow from anyone on port 80",
                                      "FromPort": 80, "IpProtocol": "tcp", "ToPort": 80}],
            "VpcId": refs.vpc,
        })
        low, high = DYNAMIC_RANGE
        t.add([cname, "LoadBalancer", "SecurityGroup", f"to{cname}InstanceSecurityGroup{low}-{high}"],
              "AWS::EC2::SecurityGroupEgress", {
                  "Description": "Load balancer to target",
                  "DestinationSecurityGroupId": refs.instance_sg,
                  "FromPort": low,
                  "GroupId": _att(sg, "GroupId"),
                  "IpProtocol": "tcp",
                  "ToPort": high,
              })
        t.add([cname, "InstanceSecurityGroup", f"from{cname}LoadBalancerSecurityGroup{low}-{high}"],
              "AWS::EC2::SecurityGroupIngress", {
                  "Description": "Load balancer to target",
                  "FromPort": low,
                  "GroupId": refs.instance_sg,
                  "IpProtocol": "tcp",
                  "SourceSecurityGroupId": _att(sg, "GroupId"),
                  "ToPort": high,
              })
        alb = t.add([cname, "LoadBalancer", "Resource"], "AWS::ElasticLoadBalancingV2::LoadBalancer", {
            "LoadBalancerAttributes": [
                {"Key": "deletion_protection.enabled", "Value": "false"},
                {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
            ],
            "Scheme": "internet-facing",
            "SecurityGroups": [_att(sg, "GroupId")],
            "Subnets": refs.public,
            "Type": "application",
        })
        listener = t.add([cname, "LoadBalancer", "Http", "Resource"], "AWS::ElasticLoadBalancingV2::Listener", {
            "DefaultActions": [],
            "LoadBalancerArn": _ref(alb),
            "Port": 80,
            "Protocol": "HTTP",
        })
        return {"listener": listener, "default": None}

    def _task(self, t: Template, sname: str, mode: str, mappings: List[Dict[str, Any]],
              image: Optional[str] = None, memory: int = TASK_MEMORY[0]) -> str:
        log_group = t.add([sname, "TaskDefinition", "web", "LogGroup", "Resource"], "AWS::Logs::LogGroup", {
            "RetentionInDays": 30,
        }, UpdateReplacePolicy="Retain", DeletionPolicy="Retain")
        task_role = t.add([sname, "TaskDefinition", "TaskRole", "Resource"], "AWS::IAM::Role", {
            "AssumeRolePolicyDocument": _assume_role("ecs-tasks.amazonaws.com"),
        })
        execution_role = t.add([sname, "TaskDefinition", "ExecutionRole", "Resource"], "AWS::IAM::Role", {
            "AssumeRolePolicyDocument": _assume_role("ecs-tasks.amazonaws.com"),
        })
        policy_parts = [sname, "TaskDefinition", "ExecutionRole", "DefaultPolicy", "Resource"]
        t.add(policy_parts, "AWS::IAM::Policy", {
            "PolicyDocument": {
                "Statement": [{"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
                               "Resource": _att(log_group, "Arn")}],
                "Version": "2012-10-17",
            },
            "PolicyName": logical_id(policy_parts),
            "Roles": [_ref(execution_role)],
        })
        return t.add([sname, "TaskDefinition", "Resource"], "AWS::ECS::TaskDefinition", {
            "ContainerDefinitions": [{
                "Essential": True,
                "Image": image or self.rng.choice(IMAGES),
                "LogConfiguration": {
                    "LogDriver": "awslogs",
                    "Options": {"awslogs-group": _ref(log_group), "awslogs-stream-prefix": sname,
                                "awslogs-region": {"Ref": "AWS::Region"}},
                },
                "Memory": memory,
                "Name": "web",
                "PortMappings": mappings,
            }],
            "ExecutionRoleArn": _att(execution_role, "Arn"),
            "Family": f"{t.stack_name}{sname}TaskDefinition",
            "NetworkMode": mode,
            "RequiresCompatibilities": ["EC2"],
            "TaskRoleArn": _att(task_role, "Arn"),
        })

    def _service(self, t: Template, sname: str, refs: _Refs, task: str, *, desired: int = 1,
                 strategy: bool = False, daemon: bool = False, minimum: int, maximum: int,
                 target_group: Optional[str] = None, depends: Optional[List[str]] = None) -> None:
        properties: Dict[str, Any] = {}
        if strategy:
            properties["CapacityProviderStrategy"] = [{"CapacityProvider": refs.provider, "Weight": 1}]
        properties["Cluster"] = refs.cluster
        properties["DeploymentConfiguration"] = {
            "Alarms": {"AlarmNames": [], "Enable": False, "Rollback": False},
            "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
            "MaximumPercent": maximum,
            "MinimumHealthyPercent": minimum,
        }
        if not daemon:
            properties["DesiredCount"] = desired
        properties["EnableECSManagedTags"] = False
        if not strategy:
            properties["LaunchType"] = "EC2"
        if target_group is not None:
            properties["HealthCheckGracePeriodSeconds"] = 60
            properties["LoadBalancers"] = [
                {"ContainerName": "web", "ContainerPort": 80, "TargetGroupArn": _ref(target_group)}
            ]
        properties["SchedulingStrategy"] = "DAEMON" if daemon else "REPLICA"
        properties["TaskDefinition"] = _ref(task)
        extra: Dict[str, Any] = {}
        if depends:
            extra["DependsOn"] = list(depends)
        t.add([sname, "Service", "Service"], "AWS::ECS::Service", properties, **extra)


def _manifest(templates: List[Template]) -> Dict[str, Any]:
    artifacts: Dict[str, Any] = {}
    for template in templates:
        name = template.stack_name
        artifacts[f"{name}.assets"] = {
            "type": "cdk:asset-manifest",
            "properties": {"file": f"{name}.assets.json", "requiresBootstrapStackVersion": 6,
                           "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"},
        }
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {
                "templateFile": f"{name}.template.json",
                "terminationProtection": False,
                "validateOnSynth": False,
                "requiresBootstrapStackVersion": 6,
                "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version",
                "additionalDependencies": [f"{name}.assets"],
            },
            "dependencies": [*template.imports_from, f"{name}.assets"],
            "displayName": name,
        }
    return {"version": "55.0.0", "artifacts": artifacts}


def generate(outdir: str, services: int, *, seed: int = 1, services_per_cluster: int = SERVICES_PER_CLUSTER,
             clusters_per_stack: int = CLUSTERS_PER_STACK, cross_stack_every: int = CROSS_STACK_EVERY) -> Summary:
    """Write a cloud assembly with ``services`` ECS services into ``outdir`` (replaced if present)."""
    if services < 1:
        raise ValueError("services must be at least 1")
    generator = _Generator(services, seed, services_per_cluster, clusters_per_stack, cross_stack_every)
    templates = generator.templates()
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    summary = generator.summary
    summary.stacks = len(templates)
    for template in templates:
        summary.resources += len(template.resources)
        text = json.dumps(template.body(), indent=1)
        summary.bytes += len(text)
        with open(os.path.join(outdir, f"{template.stack_name}.template.json"), "w") as stream:
            stream.write(text)
        with open(os.path.join(outdir, f"{template.stack_name}.assets.json"), "w") as stream:
            json.dump({"version": "55.0.0", "files": {}, "dockerImages": {}}, stream, indent=1)
    with open(os.path.join(outdir, "manifest.json"), "w") as stream:
        json.dump(_manifest(templates), stream, indent=1)
    with open(os.path.join(outdir, "cdk.out"), "w") as stream:
        json.dump({"version": "55.0.0"}, stream)
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    summary = generate(args.outdir, args.services, seed=args.seed)
    print(
        f"{args.outdir}: {summary.services} services ({dict(sorted(summary.kinds.items()))}), "
        f"{summary.clusters} clusters ({summary.cross_stack_clusters} cross-stack), {summary.stacks} stacks, "
        f"{summary.resources} resources, {summary.bytes / 1e6:.1f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The workshop stack: what one `cdk deploy` gives, pinned by assertions and one snapshot."""

import json

import pytest
from aws_cdk.assertions import Match, Template

from stacks.bridge_lab_stack import STATIC_HOST_PORT, BridgeLabStack
from stacks.settings import LabSettings
from tests.conftest import make_app


def test_snapshot(lab_template, template_snapshot):
    assert template_snapshot(lab_template.to_json()) == template_snapshot.expected


def test_static_lab_maps_host_port_8080_to_nginx_80(lab_template):
    # The seed's mapping; changing the lab's static host port must fail here.
    assert STATIC_HOST_PORT == 8080
    lab_template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Family": "ecs-networking-demo-bridge-stat",
            "NetworkMode": "bridge",
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Name": "nginx",
                        "Image": "nginx:alpine",
                        "PortMappings": [{"ContainerPort": 80, "HostPort": 8080, "Protocol": "tcp"}],
                    }
                )
            ],
        },
    )


def test_dynamic_lab_maps_host_port_0_to_nginx_80(lab_template):
    lab_template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Family": "ecs-networking-demo-bridge-dyn",
            "ContainerDefinitions": [
                Match.object_like({"PortMappings": [{"ContainerPort": 80, "HostPort": 0, "Protocol": "tcp"}]})
            ],
        },
    )


def test_two_instances_and_a_service_per_lab(lab_template):
    lab_template.has_resource_properties("AWS::AutoScaling::AutoScalingGroup", {"MinSize": "2", "MaxSize": "2"})
    services = lab_template.find_resources("AWS::ECS::Service")
    assert sorted(s["Properties"]["DesiredCount"] for s in services.values()) == [2, 4]
    lab_template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 2)


def test_logical_ids_of_stateful_resources_are_stable(lab_template):
    resources = lab_template.to_json()["Resources"]
    pinned = {
        "NetworkVpc7FB7348F": "AWS::EC2::VPC",
        "CapacityClusterDB0BCD31": "AWS::ECS::Cluster",
        "CapacityAsgASGFA314709": "AWS::AutoScaling::AutoScalingGroup",
        "StaticServiceLoadBalancerA34221C7": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "DynamicServiceLoadBalancer54221F8D": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    }
    assert {logical_id: resources.get(logical_id, {}).get("Type") for logical_id in pinned} == pinned


def test_outputs_carry_the_lab_commands(lab_template):
    outputs = lab_template.to_json()["Outputs"]
    text = {name: str(output["Value"]) for name, output in outputs.items()}
    assert "ClusterName" in outputs
    for lab in ("Static", "Dynamic"):
        assert "--enable-execute-command --launch-type EC2" in text[f"{lab}RunTaskCommand"]
        assert "aws ecs execute-command" in text[f"{lab}ExecCommand"]
        assert '--container nginx --command "/bin/sh" --interactive' in text[f"{lab}ExecCommand"]
        assert "aws ecs describe-tasks" in text[f"{lab}DescribeTasksCommand"]
        assert "aws ecs stop-task" in text[f"{lab}StopTaskCommand"]
        assert "http://" in text[f"{lab}Url"]


def test_labs_knob_selects_what_is_built():
    stack = BridgeLabStack(make_app(), "Lab", settings=LabSettings(labs=frozenset({"static"})))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ECS::Service", 1)
    template.resource_count_is("AWS::ECS::TaskDefinition", 1)
    assert "DynamicUrl" not in template.to_json()["Outputs"]


def test_port_plan_fits_one_static_task_per_instance(lab_stack):
    # The static service fits exactly as many tasks as there can be instances; memory bounds the
    # dynamic one: six tasks of 256 MiB beside a static task in each t3.small's 1996 MiB.
    from constructs_lib.testing import assert_port_plan

    plan = assert_port_plan(lab_stack, fits={"StaticService": 2, "DynamicService": 12})
    [cluster] = plan["clusters"]
    assert cluster["capacity"]["instances_max"] == 2
    assert cluster["dynamic_range"] == [32768, 60999]
    assert cluster["offers"] == [{"instance_type": "t3.small", "cpu": 2048, "memory_mib": 1996, "awsvpc_enis": 2}]
    rows = {s["id"]: s for s in cluster["services"]}
    assert {key[:13]: (row["fits_by"], row["ask"]["memory_mib"]) for key, row in rows.items()} == {
        "DynamicServic": ("memory", 256),
        "StaticService": ("ports", 256),
    }
    # the dynamic service deploys at minimumHealthyPercent 100 and maximumPercent 200: the whole new
    # set of tasks starts beside the old one, and the instances' memory holds both
    dynamic = next(row for key, row in rows.items() if key.startswith("DynamicService"))
    assert dynamic["fits"] >= 2 * dynamic["desired"]


# Security of the lab: log writes and the key reach the lab's own log groups only.

LOG_WRITES = {"logs:CreateLogStream", "logs:PutLogEvents"}


def log_write_targets(template):
    """Every resource a role in ``template`` may write log events to: '*' or a log group's logical id."""
    resources = template.to_json()["Resources"]
    groups = {name for name, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    targets = set()
    for policy in (r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if not LOG_WRITES & set(actions):
                continue
            text = json.dumps(statement["Resource"])
            named = {group for group in groups if f'"{group}"' in text}
            targets |= named or {text.strip('"')}
    return targets, groups


def test_roles_write_logs_only_to_the_lab_log_groups(lab_template):
    # execution roles: their container log group; task roles (ECS Exec): the exec log group;
    # flow logs: the flow-log group; the instance role: none
    targets, groups = log_write_targets(lab_template)
    assert targets == groups
    assert not any("InstanceRole" in name for name, policy in lab_template.find_resources("AWS::IAM::Policy").items()
                   if "logs:" in json.dumps(policy))


def test_cdk_defaults_would_let_a_role_write_any_log_group():
    # The non-compliant case the lab test above must catch: CDK's own capacity and ECS Exec wiring.
    import aws_cdk as cdk
    from aws_cdk import aws_autoscaling as autoscaling, aws_ec2 as ec2, aws_ecs as ecs

    stack = cdk.Stack(make_app(), "Plain")
    vpc = ec2.Vpc(stack, "Vpc")
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    group = autoscaling.AutoScalingGroup(stack, "Asg", vpc=vpc, instance_type=ec2.InstanceType("t3.small"),
                                         machine_image=ecs.EcsOptimizedImage.amazon_linux2023())
    cluster.add_asg_capacity_provider(ecs.AsgCapacityProvider(stack, "Provider", auto_scaling_group=group))
    targets, groups = log_write_targets(Template.from_stack(stack))
    assert "*" in targets and not groups


def test_cloudwatch_logs_may_use_the_key_for_the_lab_log_groups_only(lab_template):
    [key] = lab_template.find_resources("AWS::KMS::Key").values()
    statements = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "logs." in json.dumps(s["Principal"])]
    patterns = set()
    for statement in statements:
        assert set(statement["Condition"]) == {"ArnLike"}
        [(context_key, arn)] = statement["Condition"]["ArnLike"].items()
        assert context_key == "kms:EncryptionContext:aws:logs:arn"
        *arn_head, pattern = arn["Fn::Join"][1]
        assert arn_head == ["arn:", {"Ref": "AWS::Partition"}, ":logs:", {"Ref": "AWS::Region"}, ":",
                            {"Ref": "AWS::AccountId"}]
        patterns.add(pattern.removeprefix(":log-group:"))
    encrypted = {name: group["Properties"]["LogGroupName"]["Fn::Join"][1][0]
                 for name, group in lab_template.find_resources("AWS::Logs::LogGroup").items()
                 if "KmsKeyId" in group["Properties"]}
    assert sorted(encrypted) == ["CapacityExecLogGroupBCA81072", "DynamicTaskDefinitionLogGroupA21B5AE3",
                                 "StaticTaskDefinitionLogGroup2504D96D"]
    assert patterns == {
        "/BridgeModeLab/Capacity/066846EB/ExecLogGroup-*",
        "/BridgeModeLab/StaticTaskDefinition/FB1A7122/LogGroup-*",
        "/BridgeModeLab/DynamicTaskDefinition/4BCC6E59/LogGroup-*",
    }
    assert patterns == {f"{prefix}*" for prefix in encrypted.values()}

"""BridgeCluster: cluster, launch template, Auto Scaling group and capacity provider."""

import json

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from constructs_lib import BridgeCluster, BridgeVpc, PortRange
from tests.conftest import make_stack


def build(**props):
    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc, **props)
    return capacity, Template.from_stack(stack)


@pytest.fixture(scope="module")
def built():
    return build()


@pytest.fixture(scope="module")
def template(built):
    return built[1]


def user_data_text(template):
    [lt] = template.find_resources("AWS::EC2::LaunchTemplate").values()
    return json.dumps(lt["Properties"]["LaunchTemplateData"]["UserData"])


def test_container_insights_and_encrypted_exec_logging(template):
    template.has_resource_properties(
        "AWS::ECS::Cluster",
        {
            "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
            "Configuration": {
                "ExecuteCommandConfiguration": {
                    "KmsKeyId": Match.any_value(),
                    "Logging": "OVERRIDE",
                    "LogConfiguration": {
                        "CloudWatchEncryptionEnabled": True,
                        "CloudWatchLogGroupName": Match.any_value(),
                    },
                }
            },
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": Match.any_value()})
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_launch_template_is_hardened(template):
    template.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {
            "LaunchTemplateData": Match.object_like(
                {
                    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
                    "BlockDeviceMappings": [
                        {
                            "DeviceName": "/dev/xvda",
                            "Ebs": {
                                "Encrypted": True,
                                "VolumeType": "gp3",
                                "VolumeSize": 30,
                                "DeleteOnTermination": True,
                            },
                        }
                    ],
                    "ImageId": {"Ref": Match.string_like_regexp("amazonlinux2023")},
                    "InstanceType": "t3.small",
                }
            )
        },
    )
    [lt] = template.find_resources("AWS::EC2::LaunchTemplate").values()
    assert "KeyName" not in lt["Properties"]["LaunchTemplateData"]


def test_ami_is_resolved_at_deploy_time_from_ssm(template):
    parameters = template.to_json()["Parameters"]
    ami = [p for name, p in parameters.items() if "amazonlinux2023" in name]
    assert ami and ami[0]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id" in ami[0]["Default"]


def test_group_in_private_subnets_with_notifications(template):
    template.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {
            "MinSize": "2",
            "MaxSize": "2",
            "LaunchTemplate": Match.object_like({"LaunchTemplateId": Match.any_value()}),
            "NotificationConfigurations": [Match.object_like({"TopicARN": Match.any_value()})],
            "VPCZoneIdentifier": [
                {"Ref": Match.string_like_regexp("PrivateSubnet1")},
                {"Ref": Match.string_like_regexp("PrivateSubnet2")},
            ],
        },
    )
    template.resource_count_is("AWS::AutoScaling::LaunchConfiguration", 0)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_capacity_provider_has_managed_scaling_and_draining(template):
    template.has_resource_properties(
        "AWS::ECS::CapacityProvider",
        {
            "AutoScalingGroupProvider": Match.object_like(
                {
                    "ManagedScaling": Match.object_like({"Status": "ENABLED", "TargetCapacity": 100}),
                    "ManagedDraining": "ENABLED",
                    "ManagedTerminationProtection": "DISABLED",
                }
            )
        },
    )
    template.has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {"DefaultCapacityProviderStrategy": [Match.object_like({"Weight": 1})]},
    )


def test_user_data_joins_cluster_and_pins_dynamic_range(template):
    text = user_data_text(template)
    assert "ECS_CLUSTER=" in text
    assert "ECS_DYNAMIC_HOST_PORT_RANGE=32768-60999" in text


def test_dynamic_range_is_exposed_and_configurable():
    capacity, template = build(dynamic_port_range=PortRange(40000, 49999))
    assert capacity.dynamic_port_range == PortRange(40000, 49999)
    assert "ECS_DYNAMIC_HOST_PORT_RANGE=40000-49999" in user_data_text(template)


def test_instance_security_group_has_no_ingress(template):
    for group in template.find_resources("AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group["Properties"]
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)


def test_instances_are_reached_through_session_manager(template):
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "ManagedPolicyArns": [
                {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AmazonSSMManagedInstanceCore"]]}
            ]
        },
    )


def test_max_instances_follow_managed_scaling():
    capacity, _ = build(min_capacity=1, max_capacity=3)
    assert capacity.max_instances == 3
    capacity, _ = build(min_capacity=1, max_capacity=3, managed_scaling=False)
    assert capacity.max_instances == 1


def test_arm_instance_types_get_the_arm_ami():
    _, template = build(instance_type=ec2.InstanceType("t4g.small"))
    assert any("arm64" in name for name in template.to_json()["Parameters"])


@pytest.mark.parametrize(
    "props, message",
    [
        ({"min_capacity": 3, "max_capacity": 2}, "max_capacity must be >= min_capacity"),
        ({"min_capacity": -1}, "min_capacity must be >= 0"),
        ({"desired_capacity": 5}, "desired_capacity must be between"),
        ({"target_capacity_percent": 0}, "target_capacity_percent must be 1-100"),
        ({"root_volume_size_gib": 8}, "root_volume_size_gib must be >= 30"),
    ],
)
def test_bad_sizes_are_rejected(props, message):
    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    with pytest.raises(ValueError, match=message):
        BridgeCluster(stack, "Capacity", vpc=network.vpc, **props)


def test_all_size_problems_are_reported_together():
    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    with pytest.raises(ValueError, match="min_capacity must be >= 0.*target_capacity_percent"):
        BridgeCluster(stack, "Capacity", vpc=network.vpc, min_capacity=-1, target_capacity_percent=0)


# The instance role: what the ECS agent needs, and no CloudWatch Logs permission.

LOG_WRITES = {"logs:CreateLogStream", "logs:PutLogEvents"}


def instance_role_statements(template):
    [policy] = [p for name, p in template.find_resources("AWS::IAM::Policy").items() if "InstanceRole" in name]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_instance_role_holds_the_agent_permissions_and_no_log_writes(template):
    cluster_arn = {"Fn::GetAtt": [Match.string_like_regexp("^CapacityCluster"), "Arn"]}
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("^CapacityInstanceRole")}],
            "PolicyDocument": {"Statement": Match.exact([
                {"Action": ["ecs:DeregisterContainerInstance", "ecs:RegisterContainerInstance", "ecs:Submit*"],
                 "Effect": "Allow", "Resource": cluster_arn},
                {"Action": ["ecs:Poll", "ecs:StartTelemetrySession"],
                 "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}, "Effect": "Allow", "Resource": "*"},
                {"Action": ["ecr:GetAuthorizationToken", "ecs:DiscoverPollEndpoint"], "Effect": "Allow", "Resource": "*"},
            ])},
        },
    )


def test_plain_cdk_capacity_lets_instances_write_any_log_group():
    # The grant BridgeCluster removes: CDK's ECS cluster gives its capacity log writes on '*'.
    from aws_cdk import aws_autoscaling as autoscaling, aws_ecs as ecs

    stack = make_stack()
    vpc = ec2.Vpc(stack, "Vpc")
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    group = autoscaling.AutoScalingGroup(
        stack, "Asg", vpc=vpc, instance_type=ec2.InstanceType("t3.small"),
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(),
    )
    cluster.add_asg_capacity_provider(ecs.AsgCapacityProvider(stack, "Provider", auto_scaling_group=group))
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    wildcard = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]
                if s["Resource"] == "*" and LOG_WRITES <= set(s["Action"])]
    assert wildcard, "CDK no longer grants log writes on '*': BridgeCluster's narrowing can go"


def test_log_grants_of_your_own_still_reach_the_instance_role():
    # Only CDK's agent statement is narrowed: a grant on a log group, or a statement on '*', passes.
    from aws_cdk import aws_iam as iam, aws_logs as logs

    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    agent_logs = logs.LogGroup(stack, "AgentLogs")
    agent_logs.grant_write(capacity.instance_role)
    capacity.instance_role.add_to_principal_policy(
        iam.PolicyStatement(actions=["logs:DescribeLogStreams", "logs:PutLogEvents"], resources=["*"])
    )
    statements = instance_role_statements(Template.from_stack(stack))
    agent_logs_id = stack.resolve(stack.get_logical_id(agent_logs.node.default_child))
    assert {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [agent_logs_id, "Arn"]}} in statements
    # (the policy minimizer merges it with the agent's statement on '*')
    assert any(s["Resource"] == "*" and {"logs:DescribeLogStreams", "logs:PutLogEvents"} <= set(s["Action"])
               for s in statements)


# The key: CloudWatch Logs may use it for the ECS Exec log group and nothing else.


def logs_service_statements(template):
    [key] = template.find_resources("AWS::KMS::Key").values()
    return [s for s in key["Properties"]["KeyPolicy"]["Statement"]
            if "logs." in json.dumps(s.get("Principal", {}))]


def test_key_lets_cloudwatch_logs_use_it_for_the_exec_log_group_only(template):
    [statement] = logs_service_statements(template)
    assert statement == {
        "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":logs:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
            ":log-group:/Test/Capacity/57E31F84/ExecLogGroup-*",
        ]]}}},
        "Effect": "Allow",
        "Principal": {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}},
        "Resource": "*",
    }
    # the exec log group's name is that prefix and a part of the stack's UUID
    [group] = [g for name, g in template.find_resources("AWS::Logs::LogGroup").items() if "ExecLogGroup" in name]
    assert group["Properties"]["LogGroupName"] == {"Fn::Join": ["", [
        "/Test/Capacity/57E31F84/ExecLogGroup-",
        {"Fn::Select": [0, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]},
    ]]}


def test_key_policy_refers_to_no_log_group(template):
    # a log group that uses the key depends on it: the key may not depend on the log group
    [key] = template.find_resources("AWS::KMS::Key").values()
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert groups and not any(logical_id in json.dumps(key) for logical_id in groups)


def test_ecs_exec_adds_no_account_wide_logs_statement_to_the_key():
    # GIVEN a service with ECS Exec on the cluster (CDK would grant logs on arn:...:logs:<region>:<account>:*)
    from aws_cdk import aws_ecs as ecs

    from constructs_lib import BridgeService, BridgeTaskDefinition, PortMapping

    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    web = BridgeTaskDefinition(stack, "Web", image=ecs.ContainerImage.from_registry("nginx:alpine"),
                               port_mappings=[PortMapping(80)])
    BridgeService(stack, "Service", cluster=capacity, task_definition=web)
    # THEN the key still serves the exec log group alone
    template = Template.from_stack(stack)
    [statement] = logs_service_statements(template)
    assert "ExecLogGroup-*" in json.dumps(statement["Condition"])

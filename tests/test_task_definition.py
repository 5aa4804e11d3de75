"""BridgeTaskDefinition: bridge mode on EC2, static and dynamic mappings, awslogs, init process."""

import json

import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match, Template

from constructs_lib import BridgeTaskDefinition, PortMapping
from tests.conftest import make_app, make_stack

IMAGE = ecs.ContainerImage.from_registry("nginx:alpine")


@pytest.fixture(scope="module")
def template():
    stack = make_stack()
    BridgeTaskDefinition(
        stack,
        "Web",
        image=IMAGE,
        container_name="nginx",
        port_mappings=[PortMapping(80, host_port=8080), PortMapping(53, protocol="udp")],
    )
    return Template.from_stack(stack)


def test_bridge_mode_on_ec2(template):
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition", {"NetworkMode": "bridge", "RequiresCompatibilities": ["EC2"]}
    )


def test_static_and_dynamic_mappings_with_protocol(template):
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Name": "nginx",
                        "Image": "nginx:alpine",
                        "PortMappings": [
                            {"ContainerPort": 80, "HostPort": 8080, "Protocol": "tcp"},
                            {"ContainerPort": 53, "HostPort": 0, "Protocol": "udp"},
                        ],
                    }
                )
            ]
        },
    )


def test_awslogs_and_init_process_for_ecs_exec(template):
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "LogConfiguration": Match.object_like({"LogDriver": "awslogs"}),
                        "LinuxParameters": Match.object_like({"InitProcessEnabled": True}),
                    }
                )
            ]
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})


def test_execution_role_is_limited_to_its_log_group(template):
    policies = template.find_resources("AWS::IAM::Policy")
    [execution] = [p for name, p in policies.items() if "ExecutionRole" in name]
    [statement] = execution["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    [log_group] = template.find_resources("AWS::Logs::LogGroup")
    assert statement["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}


def test_mappings_added_later_are_checked_at_synth():
    # GIVEN a task definition that maps tcp/8080 twice, the second time after construction
    app = make_app()
    stack = make_stack_in(app)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[PortMapping(80, host_port=8080)])
    web.add_port_mappings(PortMapping(81, host_port=8080))
    # WHEN the app synthesizes THEN the conflict is an error naming the port
    with pytest.raises(Exception, match="host port tcp/8080 is mapped twice"):
        app.synth()


def test_reserved_host_port_is_an_error():
    app = make_app()
    stack = make_stack_in(app)
    BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[PortMapping(22, host_port=51678)])
    with pytest.raises(Exception, match="host port 51678 is reserved by the ECS agent"):
        app.synth()


def test_same_port_on_tcp_and_udp_is_fine():
    stack = make_stack()
    BridgeTaskDefinition(
        stack, "Dns", image=IMAGE,
        port_mappings=[PortMapping(53, host_port=53), PortMapping(53, host_port=53, protocol="udp")],
    )
    Template.from_stack(stack)  # synthesizes without a validation error


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"container_port": 0}, "container_port 0 is outside 1-65535"),
        ({"container_port": 80, "host_port": 70000}, "host_port 70000 is outside"),
        ({"container_port": 80, "protocol": "sctp"}, "protocol 'sctp'"),
    ],
)
def test_bad_port_mappings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PortMapping(**kwargs)


def test_tiny_memory_limit_is_rejected():
    with pytest.raises(ValueError, match="memory_limit_mib must be at least 6"):
        BridgeTaskDefinition(make_stack(), "Web", image=IMAGE, memory_limit_mib=4)


def make_stack_in(app):
    import aws_cdk as cdk

    return cdk.Stack(app, "Test")


def test_container_logs_can_use_a_kms_key():
    from aws_cdk import aws_kms as kms

    stack = make_stack()
    key = kms.Key(stack, "Key")
    BridgeTaskDefinition(stack, "Web", image=IMAGE, log_encryption_key=key)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]}}
    )


# Tokens: a deploy-time container port is carried as it is; a deploy-time host port is refused,
# because static or dynamic must be known at synth.


def parameter(stack, name):
    import aws_cdk as cdk

    return cdk.CfnParameter(stack, name, type="Number", default=80).value_as_number


def test_token_container_port_is_carried_to_the_template():
    # GIVEN a container port that is a CloudFormation parameter
    app = make_app()
    stack = make_stack_in(app)
    port = parameter(stack, "ContainerPort")
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[PortMapping(port, host_port=8080)])
    # WHEN the app synthesizes THEN the mapping refers to the parameter and no check trips on it
    app.synth()
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"ContainerDefinitions": [Match.object_like(
            {"PortMappings": [{"ContainerPort": {"Ref": "ContainerPort"}, "HostPort": 8080, "Protocol": "tcp"}]}
        )]},
    )
    assert web.find_mapping(port) is web.port_mappings[0]
    assert str(web.port_mappings[0]) == "8080:<token>/tcp"


def test_token_host_port_is_refused_as_a_deploy_time_value():
    stack = make_stack()
    with pytest.raises(ValueError) as error:
        PortMapping(80, host_port=parameter(stack, "HostPort"))
    message = str(error.value)
    assert message.startswith("PortMapping host_port is a deploy-time value (a token)")
    assert "pass the port number, or leave host_port out for a dynamic mapping" in message
    assert "e+289" not in message and "\n" not in message


def test_token_protocol_is_refused_as_a_deploy_time_value():
    import aws_cdk as cdk

    stack = make_stack()
    protocol = cdk.CfnParameter(stack, "Protocol", default="tcp").value_as_string
    with pytest.raises(ValueError, match="protocol is a deploy-time value"):
        PortMapping(80, protocol=protocol)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"container_port": 80.5}, "container_port 80.5 is not a whole number"),
        ({"container_port": True}, "container_port True is not a whole number"),
        ({"container_port": 80, "host_port": "8080"}, "host_port '8080' is not a whole number"),
    ],
)
def test_ports_must_be_whole_numbers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PortMapping(**kwargs)


def test_an_encrypted_log_group_is_named_so_the_key_serves_it_alone():
    from aws_cdk import aws_kms as kms

    # GIVEN a key of the same stack
    stack = make_stack()
    key = kms.Key(stack, "Key")
    BridgeTaskDefinition(stack, "Web", image=IMAGE, log_encryption_key=key)
    template = Template.from_stack(stack)
    # THEN the log group's name is a prefix known at synth and a part of the stack's UUID
    prefix = "/Test/Web/23347330/LogGroup-"
    template.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": {"Fn::Join": ["", [prefix, Match.any_value()]]}})
    # AND CloudWatch Logs may use the key for that prefix only
    template.has_resource_properties(
        "AWS::KMS::Key",
        {"KeyPolicy": {"Statement": Match.array_with([{
            "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": {"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"}, ":logs:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
                f":log-group:{prefix}*",
            ]]}}},
            "Effect": "Allow",
            "Principal": {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}},
            "Resource": "*",
        }])}},
    )


def test_a_key_in_another_stack_serves_the_log_group_without_a_cycle():
    # GIVEN the key in a shared stack and the task definition in an app stack
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms

    app = make_app()
    shared = cdk.Stack(app, "Shared")
    key = kms.Key(shared, "Key")
    service = cdk.Stack(app, "Service")
    BridgeTaskDefinition(service, "Web", image=IMAGE, log_encryption_key=key)
    # WHEN the app synthesizes THEN only the app stack depends on the shared one
    assembly = app.synth()
    def stacks_needed_by(name):
        return [d.id for d in assembly.get_stack_by_name(name).dependencies if not d.id.endswith(".assets")]

    assert stacks_needed_by("Service") == ["Shared"]
    assert stacks_needed_by("Shared") == []
    policy = json.dumps(Template.from_stack(shared).to_json())
    assert ":log-group:/Service/Web/" in policy


def test_an_imported_key_leaves_a_warning_naming_what_its_policy_must_allow():
    from aws_cdk import aws_kms as kms
    from aws_cdk.assertions import Annotations

    stack = make_stack()
    key = kms.Key.from_key_arn(stack, "Key", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    BridgeTaskDefinition(stack, "Web", image=IMAGE, log_encryption_key=key)
    Annotations.from_stack(stack).has_warning(
        "/Test/Web/LogGroup", Match.string_like_regexp(r"KMS key is imported.*log groups named /Test/Web/\w+/LogGroup-\*")
    )


def test_without_a_key_the_log_group_keeps_a_generated_name(template):
    [group] = template.find_resources("AWS::Logs::LogGroup").values()
    assert "LogGroupName" not in group["Properties"] and "KmsKeyId" not in group["Properties"]

"""LoadBalancedBridgeService: ALB, listener, instance target group, and ingress on the right ports."""

import pytest
from aws_cdk import Duration, aws_certificatemanager as acm, aws_ecs as ecs
from aws_cdk.assertions import Match, Template

from constructs_lib import (
    BridgeCluster,
    BridgeTaskDefinition,
    BridgeVpc,
    LoadBalancedBridgeService,
    PortMapping,
    PortRange,
)
from tests.conftest import make_stack

IMAGE = ecs.ContainerImage.from_registry("nginx:alpine")


def build(mapping, *, dynamic_port_range=None, **props):
    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc, dynamic_port_range=dynamic_port_range)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, container_name="nginx", port_mappings=[mapping])
    service = LoadBalancedBridgeService(stack, "Lab", cluster=capacity, task_definition=web, **props)
    return service, Template.from_stack(stack)


@pytest.fixture(scope="module")
def dynamic():
    return build(PortMapping(80), desired_count=4)[1]


@pytest.fixture(scope="module")
def static():
    return build(PortMapping(80, host_port=8080), desired_count=2)[1]


def ingress_rules(template):
    return list(template.find_resources("AWS::EC2::SecurityGroupIngress").values())


def test_internet_facing_alb_drops_invalid_headers_and_logs_access(dynamic):
    dynamic.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.enabled", "Value": "true"},
                ]
            ),
        },
    )


def test_access_log_bucket_is_encrypted_private_and_tls_only(dynamic):
    dynamic.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    dynamic.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        ),
                        Match.object_like({"Sid": "AllowElbLogDelivery", "Action": "s3:PutObject"}),
                    ]
                )
            }
        },
    )


def test_instance_target_group_checks_the_traffic_port(dynamic):
    dynamic.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "TargetType": "instance",
            "HealthCheckPort": "traffic-port",
            "HealthCheckPath": "/",
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "deregistration_delay.timeout_seconds", "Value": "10"}]
            ),
        },
    )
    dynamic.has_resource_properties(
        "AWS::ECS::Service",
        {"LoadBalancers": [Match.object_like({"ContainerName": "nginx", "ContainerPort": 80})]},
    )


def test_http_listener_forwards_to_the_target_group(dynamic):
    dynamic.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 80, "Protocol": "HTTP", "DefaultActions": [Match.object_like({"Type": "forward"})]},
    )


def test_dynamic_mapping_opens_exactly_the_pinned_range_from_the_balancer(dynamic):
    [rule] = ingress_rules(dynamic)
    assert (rule["Properties"]["FromPort"], rule["Properties"]["ToPort"]) == (32768, 60999)
    assert rule["Properties"]["IpProtocol"] == "tcp"
    assert "SourceSecurityGroupId" in rule["Properties"]
    assert "CidrIp" not in rule["Properties"]


def test_balancer_egress_only_to_the_instances_on_that_range(dynamic):
    egress = list(dynamic.find_resources("AWS::EC2::SecurityGroupEgress").values())
    assert [(e["Properties"]["FromPort"], e["Properties"]["ToPort"]) for e in egress] == [(32768, 60999)]


def test_a_custom_dynamic_range_is_what_opens():
    _, template = build(PortMapping(80), dynamic_port_range=PortRange(49153, 51000))
    [rule] = ingress_rules(template)
    assert (rule["Properties"]["FromPort"], rule["Properties"]["ToPort"]) == (49153, 51000)


def test_static_mapping_opens_only_the_static_port(static):
    [rule] = ingress_rules(static)
    assert (rule["Properties"]["FromPort"], rule["Properties"]["ToPort"]) == (8080, 8080)


def test_balancer_is_open_to_clients_only_on_the_listener_port(static):
    static.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [
                Match.object_like({"CidrIp": "0.0.0.0/0", "FromPort": 80, "ToPort": 80, "IpProtocol": "tcp"})
            ]
        },
    )


def test_certificate_gives_https_and_a_redirect():
    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[PortMapping(80)])
    certificate = acm.Certificate.from_certificate_arn(
        stack, "Cert", "arn:aws:acm:us-east-1:111111111111:certificate/abc"
    )
    LoadBalancedBridgeService(stack, "Lab", cluster=capacity, task_definition=web, certificate=certificate)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 443, "Protocol": "HTTPS", "Certificates": [{"CertificateArn": Match.any_value()}]},
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "DefaultActions": [
                Match.object_like(
                    {"Type": "redirect", "RedirectConfig": Match.object_like({"Protocol": "HTTPS", "Port": "443"})}
                )
            ],
        },
    )


def test_access_logs_can_be_turned_off():
    _, template = build(PortMapping(80), access_logs=False)
    template.resource_count_is("AWS::S3::Bucket", 0)


def test_deregistration_delay_is_configurable():
    _, template = build(PortMapping(80), deregistration_delay=Duration.seconds(30))
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"TargetGroupAttributes": Match.array_with([{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])},
    )


def test_unmapped_container_port_is_rejected():
    with pytest.raises(ValueError, match="has no tcp mapping for port 8443"):
        build(PortMapping(80), container_port=8443)


def test_bucket_without_access_logs_is_rejected():
    from aws_cdk import aws_s3 as s3

    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[PortMapping(80)])
    bucket = s3.Bucket(stack, "Logs")
    with pytest.raises(ValueError, match="access_logs_bucket was given but access_logs is False"):
        LoadBalancedBridgeService(
            stack, "Lab", cluster=capacity, task_definition=web, access_logs=False, access_logs_bucket=bucket
        )


def test_task_definition_without_mappings_is_rejected():
    stack = make_stack()
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE)
    with pytest.raises(ValueError, match="maps no ports"):
        LoadBalancedBridgeService(stack, "Lab", cluster=capacity, task_definition=web)


def test_token_container_port_and_desired_count_reach_the_target_group_and_service():
    # GIVEN a container port and a desired count that are CloudFormation parameters
    import aws_cdk as cdk

    from tests.conftest import make_app

    app = make_app()
    stack = cdk.Stack(app, "Test")
    port = cdk.CfnParameter(stack, "ContainerPort", type="Number", default=80).value_as_number
    count = cdk.CfnParameter(stack, "DesiredCount", type="Number", default=2).value_as_number
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, container_name="nginx",
                               port_mappings=[PortMapping(port, host_port=8080)])
    LoadBalancedBridgeService(stack, "Lab", cluster=capacity, task_definition=web, desired_count=count,
                              min_healthy_percent=0, max_percent=100)
    # WHEN the app synthesizes THEN both are carried as references; the static port is opened
    app.synth()
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::ElasticLoadBalancingV2::TargetGroup", {"Port": {"Ref": "ContainerPort"}})
    template.has_resource_properties(
        "AWS::ECS::Service",
        {"DesiredCount": {"Ref": "DesiredCount"},
         "LoadBalancers": [{"ContainerName": "nginx", "ContainerPort": {"Ref": "ContainerPort"},
                            "TargetGroupArn": Match.any_value()}]},
    )
    assert [(r["Properties"]["FromPort"], r["Properties"]["ToPort"]) for r in ingress_rules(template)] == [(8080, 8080)]


def test_a_token_container_port_that_is_not_mapped_is_named_as_a_token():
    import aws_cdk as cdk

    stack = make_stack()
    other = cdk.CfnParameter(stack, "OtherPort", type="Number", default=81).value_as_number
    network = BridgeVpc(stack, "Network")
    capacity = BridgeCluster(stack, "Capacity", vpc=network.vpc)
    web = BridgeTaskDefinition(stack, "Web", image=IMAGE, port_mappings=[PortMapping(80)])
    with pytest.raises(ValueError, match=r"has no tcp mapping for port a deploy-time value \(token\)\. Did you"):
        LoadBalancedBridgeService(stack, "Lab", cluster=capacity, task_definition=web, container_port=other)

"""A BridgeService behind an Application Load Balancer, reachable on static or dynamic host ports."""

from __future__ import annotations

from typing import Optional

from aws_cdk import (
    Acknowledgment,
    Duration,
    RemovalPolicy,
    Validations,
    aws_certificatemanager as acm,
    aws_ec2 as ec2,
    aws_elasticloadbalancingv2 as elbv2,
    aws_s3 as s3,
)
from constructs import Construct

from constructs_lib.access_logs import enable_access_logs
from constructs_lib.cluster import BridgeCluster
from constructs_lib.ports import Number, describe
from constructs_lib.service import BridgeService
from constructs_lib.task_definition import BridgeTaskDefinition

WORLD = "0.0.0.0/0"


class LoadBalancedBridgeService(Construct):
    """An Application Load Balancer in front of a bridge-mode service on EC2 capacity.

    The target group registers instances (``instance`` targets) on whatever host port each task
    got, and its health check goes to that same port (``traffic-port``, written out). The
    instances accept traffic only from the balancer's security group and only on the ports the
    tasks can hold: the cluster's pinned dynamic range for a dynamic mapping, or the one static
    host port. The balancer drops invalid header fields and writes access logs to an encrypted
    bucket that refuses plain HTTP; with a certificate it listens on HTTPS and redirects HTTP.

    Example::

        web = LoadBalancedBridgeService(
            stack, "Dynamic", cluster=capacity, task_definition=dynamic_nginx, desired_count=4,
        )
        web.load_balancer.load_balancer_dns_name

    :param cluster: the cluster and capacity to run on.
    :param task_definition: the bridge-mode task definition to run.
    :param container_port: the container port the balancer sends traffic to.
        Default: - the task definition's first mapping. Constraint: the container must map it
        (a token matches the mapping made with the same token).
    :param desired_count: how many tasks to keep running. Default: 1. A token is accepted as
        ``BridgeService`` accepts it (its checks are left to the port plan; with a static host
        port, pass ``min_healthy_percent`` and ``max_percent`` too).
    :param min_healthy_percent: rollout's lower bound. Default: - see ``BridgeService``.
    :param max_percent: rollout's upper bound. Default: - see ``BridgeService``.
    :param internet_facing: put the balancer in public subnets with a public DNS name. Default: True.
    :param allowed_cidr: who may reach the listeners. Default: ``0.0.0.0/0`` (anyone; a lab).
    :param certificate: an ACM certificate; gives an HTTPS listener on 443 and an HTTP listener on
        80 that redirects to it. Default: - plain HTTP on 80.
    :param access_logs: write balancer access logs to S3. Default: True.
    :param access_logs_bucket: the bucket for them. Default: - a new SSE-S3 bucket that blocks
        public access and enforces TLS (SSE-S3 is the only encryption ALB log delivery supports).
        Providing it with ``access_logs=False`` is an error.
    :param drop_invalid_header_fields: drop HTTP headers with invalid names. Default: True.
    :param health_check_path: the path the target group checks. Default: ``"/"``.
    :param deregistration_delay: how long a draining target keeps its connections. Default: 10
        seconds, short enough for a lab's rollouts (ELB's own default is 300).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: BridgeCluster,
        task_definition: BridgeTaskDefinition,
        container_port: Optional[Number] = None,
        desired_count: Optional[Number] = None,
        min_healthy_percent: Optional[int] = None,
        max_percent: Optional[int] = None,
        internet_facing: Optional[bool] = None,
        allowed_cidr: Optional[str] = None,
        certificate: Optional[acm.ICertificate] = None,
        access_logs: Optional[bool] = None,
        access_logs_bucket: Optional[s3.IBucket] = None,
        drop_invalid_header_fields: Optional[bool] = None,
        health_check_path: Optional[str] = None,
        deregistration_delay: Optional[Duration] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        internet_facing = True if internet_facing is None else internet_facing
        allowed_cidr = allowed_cidr or WORLD
        access_logs = True if access_logs is None else access_logs
        drop_invalid_header_fields = True if drop_invalid_header_fields is None else drop_invalid_header_fields
        health_check_path = health_check_path or "/"
        deregistration_delay = deregistration_delay or Duration.seconds(10)
        if access_logs_bucket is not None and not access_logs:
            raise ValueError(
                f"LoadBalancedBridgeService '{construct_id}': access_logs_bucket was given but access_logs is False."
            )
        if not task_definition.port_mappings:
            raise ValueError(
                f"LoadBalancedBridgeService '{construct_id}': task definition "
                f"'{task_definition.node.id}' maps no ports; give it a PortMapping for the balancer."
            )
        if container_port is None:
            container_port = task_definition.port_mappings[0].container_port
        mapping = task_definition.find_mapping(container_port, "tcp")
        if mapping is None:
            raise ValueError(
                f"LoadBalancedBridgeService '{construct_id}': container '{task_definition.container_name}' "
                f"has no tcp mapping for port {describe(container_port)}. "
                "Did you call task_definition.add_port_mappings(PortMapping(...))?"
            )

        self.bridge_service = BridgeService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task_definition,
            desired_count=desired_count,
            min_healthy_percent=min_healthy_percent,
            max_percent=max_percent,
        )
        self.service = self.bridge_service.service
        vpc = cluster.cluster.vpc

        self.security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            description="Load balancer: listeners in, task host ports out",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=internet_facing,
            security_group=self.security_group,
            drop_invalid_header_fields=drop_invalid_header_fields,
        )
        self.access_logs_bucket: Optional[s3.IBucket] = None
        if access_logs:
            self.access_logs_bucket = access_logs_bucket or self._access_logs_bucket()
            enable_access_logs(self.load_balancer, self.access_logs_bucket)

        # Host ports the tasks can hold: the one static port, or the whole pinned dynamic range.
        if mapping.is_static:
            self.host_ports = ec2.Port.tcp(mapping.host_port)
        else:
            span = cluster.dynamic_port_range
            self.host_ports = ec2.Port.tcp_range(span.low, span.high)
        self.security_group.connections.allow_to(
            ec2.Connections(security_groups=[cluster.instance_security_group]),
            self.host_ports,
            "Load balancer to the tasks' host ports",
        )

        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=vpc,
            port=container_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.INSTANCE,
            deregistration_delay=deregistration_delay,
            health_check=elbv2.HealthCheck(
                path=health_check_path,
                port="traffic-port",
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.target_group.add_target(
            self.service.load_balancer_target(
                container_name=task_definition.container_name, container_port=container_port
            )
        )

        self.listener = self._listeners(certificate, allowed_cidr)
        if allowed_cidr == WORLD:
            Validations.of(self.security_group.node.default_child).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-EC23",
                    reason=(
                        "An internet-facing load balancer must accept its listener ports from anywhere; "
                        "only the listener ports are open, the instances behind it accept the balancer "
                        "alone. Pass allowed_cidr to narrow it."
                    ),
                )
            )

    def _listeners(self, certificate: Optional[acm.ICertificate], allowed_cidr: str) -> elbv2.ApplicationListener:
        peer = ec2.Peer.ipv4(allowed_cidr)
        self.security_group.add_ingress_rule(peer, ec2.Port.tcp(80), "HTTP from allowed clients")
        if certificate is None:
            return self.load_balancer.add_listener(
                "Http", port=80, open=False, default_target_groups=[self.target_group]
            )
        self.security_group.add_ingress_rule(peer, ec2.Port.tcp(443), "HTTPS from allowed clients")
        self.load_balancer.add_listener(
            "Http",
            port=80,
            open=False,
            default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port="443", permanent=True),
        )
        return self.load_balancer.add_listener(
            "Https",
            port=443,
            open=False,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_target_groups=[self.target_group],
        )

    def _access_logs_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(bucket.node.default_child).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-S1",
                reason=(
                    "This bucket is itself a log sink: it holds only the balancer's access logs, "
                    "written by the ELB log-delivery service. Logging access to it into another "
                    "bucket would move the same finding one bucket further. Pass access_logs_bucket "
                    "to use a company's central, audited log bucket instead."
                ),
            )
        )
        return bucket

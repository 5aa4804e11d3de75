"""The Auto Scaling family: Auto Scaling groups and the launch templates or launch configurations
their instances start from, with what the user data tells the ECS agent (see agent_settings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ...ports import AGENT_DEFAULT_RESERVED_PORTS, WINDOWS_AGENT_RESERVED_PORTS, WINDOWS_TASK_IAM_ROLE_PORT
from ..intrinsics import Key, Resolver, ResourceRef, Unknown
from .agent_settings import AgentSettings, agent_settings
from .entities import AutoScalingGroup
from .resources import FamilyBuilder, RawResource, References, Resources, items_of, mapping_of

_LAUNCH_SOURCES = ("AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration")
_NO_ZONES = Unknown("the template does not name them")


class AutoScalingBuilder(FamilyBuilder):
    """Reads Auto Scaling groups with their launch templates or configurations."""

    reads = frozenset({"AWS::AutoScaling::AutoScalingGroup", "AWS::EC2::Subnet", *_LAUNCH_SOURCES})
    named_by: ClassVar[dict[str, str]] = {
        "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
        "AWS::EC2::LaunchTemplate": "LaunchTemplateName",
        "AWS::AutoScaling::LaunchConfiguration": "LaunchConfigurationName",
    }

    def __init__(self, refs: References) -> None:
        super().__init__(refs)
        self.launch_sources: dict[Key, RawResource] = {}  # launch templates and configurations, by key
        self.subnets: dict[Key, RawResource] = {}
        self.auto_scaling_groups: dict[Key, AutoScalingGroup] = {}

    def index(self, raw: Resources) -> None:
        for kind in _LAUNCH_SOURCES:
            for item in self.each(raw, kind):
                self.launch_sources[item.key] = item
        for item in raw.get("AWS::EC2::Subnet", ()):
            self.subnets[item.key] = item

    def finish(self, fields: dict[str, Any]) -> None:
        fields["auto_scaling_groups"] = self.auto_scaling_groups

    def add(self, raw: Resources) -> None:
        for item in self.each(raw, "AWS::AutoScaling::AutoScalingGroup"):
            resolver, props = item.resolver, item.props
            instance_types: list[Any] = []
            source: RawResource | Unknown | None = None
            user_data: Any = None
            image: Any = None
            security_groups: tuple[Key | Unknown, ...] | Unknown = ()
            mixed = mapping_of(resolver.value(props.get("MixedInstancesPolicy")))
            mixed_template = mapping_of(resolver.value(mixed.get("LaunchTemplate")))
            spec = resolver.value(props.get("LaunchTemplate"))
            if spec is None and mixed_template:
                spec = resolver.value(mixed_template.get("LaunchTemplateSpecification"))
                for override in items_of(resolver.value(mixed_template.get("Overrides"))):
                    if isinstance(override, dict):
                        instance_types.append(resolver.value(override.get("InstanceType")))
            if isinstance(spec, dict):
                node = spec.get("LaunchTemplateId", spec.get("LaunchTemplateName"))
                found = self.refs.target(resolver, node, "AWS::EC2::LaunchTemplate", "launch template")
                source = self.launch_sources[found] if isinstance(found, tuple) else found
                if isinstance(source, RawResource):
                    data = mapping_of(source.resolver.value(source.props.get("LaunchTemplateData")))
                    if not instance_types:  # a mixed instances policy's overrides replace the template's type
                        instance_types.append(source.resolver.value(data.get("InstanceType")))
                    user_data = data.get("UserData")
                    image = data.get("ImageId")
                    security_groups = self._launch_template_groups(source.resolver, data)
            elif spec is not None:
                source = spec if isinstance(spec, Unknown) else Unknown("malformed LaunchTemplate")
            elif props.get("LaunchConfigurationName") is not None:
                found = self.refs.target(
                    resolver,
                    props.get("LaunchConfigurationName"),
                    "AWS::AutoScaling::LaunchConfiguration",
                    "launch configuration",
                )
                source = self.launch_sources[found] if isinstance(found, tuple) else found
                if isinstance(source, RawResource):
                    instance_types.append(source.resolver.value(source.props.get("InstanceType")))
                    user_data = source.props.get("UserData")
                    image = source.props.get("ImageId")
                    security_groups = self.refs.targets(
                        source.resolver, source.props.get("SecurityGroups"), "AWS::EC2::SecurityGroup", "security group"
                    )
            if isinstance(source, RawResource):
                template = source.resolver.template
                settings = agent_settings(
                    source.resolver,
                    user_data,
                    _windows_image(source.resolver, image),
                    lambda logical_id: self.refs.cfn_init.get((template, logical_id)),
                )
            else:
                reason = source or Unknown(f"Auto Scaling group {item.origin.label} has no launch template")
                settings = AgentSettings(reason, reason, None, None, attributes=reason)
                security_groups = reason
            reserved: tuple[int, ...] = AGENT_DEFAULT_RESERVED_PORTS
            if settings.windows:
                extra = (WINDOWS_TASK_IAM_ROLE_PORT,) if settings.task_iam_role else ()
                reserved = tuple(sorted((*WINDOWS_AGENT_RESERVED_PORTS, *extra)))
            unknown_types = [t for t in instance_types if not isinstance(t, str) and t is not None]
            sizes = [resolver.int_of(props.get(name)) for name in ("MinSize", "MaxSize", "DesiredCapacity")]
            created = self.refs.conditional.get(item.key)
            if created is not None:
                sizes = [created if size is not None else None for size in sizes]
            cluster = self._cluster_of(settings.cluster)
            meant_for = None
            if settings.ignored is not None:
                meant_for, cluster = (cluster if isinstance(cluster, tuple) else None), None
            if cluster is None:
                cluster = self.refs.find("AWS::ECS::Cluster", "default")  # where an unset ECS_CLUSTER goes
            self.auto_scaling_groups[item.key] = AutoScalingGroup(
                origin=item.origin,
                min_size=sizes[0],
                max_size=sizes[1],
                desired_capacity=sizes[2],
                cluster=cluster,
                dynamic_range=settings.dynamic_range,
                reserved_tcp=settings.reserved_tcp,
                reserved_udp=settings.reserved_udp,
                security_groups=security_groups,
                instance_types=tuple(dict.fromkeys(t for t in instance_types if isinstance(t, str))),
                os_type="windows" if settings.windows else "linux",
                agent_reserved=reserved,
                attributes=settings.attributes,
                availability_zones=self._zones(resolver, props),
                reserved_memory=settings.reserved_memory,
                instance_types_doubt=(
                    f"an instance type of capacity {item.origin.label} is set at deployment ({unknown_types[0]})"
                    if unknown_types
                    else None
                ),
                skipped=settings.ignored,
                meant_for=meant_for,
            )

    def _zones(self, resolver: Resolver, props: Mapping[str, Any]) -> tuple[str, ...] | Unknown:
        """The Availability Zones the group launches into: AvailabilityZones, else its subnets' zones."""
        zones = resolver.list_of(props.get("AvailabilityZones"))
        if isinstance(zones, list) and zones:
            named = [resolver.value(z) for z in zones]
            if all(isinstance(z, str) for z in named):
                return tuple(dict.fromkeys(named))
            return _NO_ZONES
        subnets = self.refs.targets(resolver, props.get("VPCZoneIdentifier"), "AWS::EC2::Subnet", "subnet")
        if isinstance(subnets, Unknown) or not subnets:
            return _NO_ZONES
        found = []
        for key in subnets:
            subnet = self.subnets.get(key) if isinstance(key, tuple) else None
            zone = subnet.resolver.value(subnet.props.get("AvailabilityZone")) if subnet is not None else None
            if not isinstance(zone, str):
                return _NO_ZONES
            found.append(zone)
        return tuple(dict.fromkeys(found))

    def _launch_template_groups(
        self, resolver: Resolver, data: Mapping[str, Any]
    ) -> tuple[Key | Unknown, ...] | Unknown:
        groups: list[Key | Unknown] = []
        nodes = [data.get("SecurityGroupIds"), data.get("SecurityGroups")]
        for interface in items_of(resolver.value(data.get("NetworkInterfaces"))):
            if isinstance(interface, dict):
                nodes.append(interface.get("Groups"))
        for node in nodes:
            found = self.refs.targets(resolver, node, "AWS::EC2::SecurityGroup", "security group")
            if isinstance(found, Unknown):
                return found
            groups.extend(found)
        return tuple(dict.fromkeys(groups))

    def _cluster_of(self, named: ResourceRef | str | Unknown | None) -> Key | Unknown | None:
        if named is None or isinstance(named, Unknown):
            return named
        if isinstance(named, ResourceRef):
            if self.refs.kind(named.key) == "AWS::ECS::Cluster":
                return named.key
            return Unknown(f"ECS_CLUSTER names {named.logical_id}, which is not a cluster")
        return self.refs.named("AWS::ECS::Cluster", named)


def _windows_image(resolver: Resolver, node: Any) -> bool:
    """Whether the AMI is an ECS-optimized Windows one: its SSM parameter path, or resolve:ssm name,
    says so (CDK's EcsOptimizedImage.windows() writes a parameter defaulting to
    /aws/service/ami-windows-latest/Windows_Server-...-ECS_Optimized/image_id)."""
    names: list[Any] = []
    if isinstance(node, dict) and isinstance(node.get("Ref"), str) and node["Ref"] in resolver.parameters:
        declared = resolver.parameters[node["Ref"]]
        if isinstance(declared, dict):
            names.append(declared.get("Default"))
    else:
        names.append(resolver.value(node))
    return any(isinstance(name, str) and "windows" in name.lower() for name in names)

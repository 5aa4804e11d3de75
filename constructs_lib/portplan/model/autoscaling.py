"""The Auto Scaling family: Auto Scaling groups and the launch templates or launch configurations
their instances start from, with what the user data tells the ECS agent (see agent_settings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..intrinsics import Key, Resolver, ResourceRef, Unknown
from .agent_settings import AgentSettings, agent_settings
from .entities import AutoScalingGroup
from .resources import FamilyBuilder, RawResource, References, Resources, items_of, mapping_of

_LAUNCH_SOURCES = ("AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration")


class AutoScalingBuilder(FamilyBuilder):
    """Reads Auto Scaling groups with their launch templates or configurations."""

    reads = frozenset({"AWS::AutoScaling::AutoScalingGroup", *_LAUNCH_SOURCES})
    named_by: ClassVar[dict[str, str]] = {
        "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
        "AWS::EC2::LaunchTemplate": "LaunchTemplateName",
        "AWS::AutoScaling::LaunchConfiguration": "LaunchConfigurationName",
    }

    def __init__(self, refs: References) -> None:
        super().__init__(refs)
        self.launch_sources: dict[Key, RawResource] = {}  # launch templates and configurations, by key
        self.auto_scaling_groups: dict[Key, AutoScalingGroup] = {}

    def index(self, raw: Resources) -> None:
        for kind in _LAUNCH_SOURCES:
            for item in self.each(raw, kind):
                self.launch_sources[item.key] = item

    def finish(self, fields: dict[str, Any]) -> None:
        fields["auto_scaling_groups"] = self.auto_scaling_groups

    def add(self, raw: Resources) -> None:
        for item in self.each(raw, "AWS::AutoScaling::AutoScalingGroup"):
            resolver, props = item.resolver, item.props
            instance_types: list[Any] = []
            source: RawResource | Unknown | None = None
            user_data: Any = None
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
                    instance_types.append(source.resolver.value(data.get("InstanceType")))
                    user_data = data.get("UserData")
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
                    security_groups = self.refs.targets(
                        source.resolver, source.props.get("SecurityGroups"), "AWS::EC2::SecurityGroup", "security group"
                    )
            if isinstance(source, RawResource):
                template = source.resolver.template
                settings = agent_settings(
                    source.resolver, user_data, lambda logical_id: self.refs.cfn_init.get((template, logical_id))
                )
            else:
                reason = source or Unknown(f"Auto Scaling group {item.origin.label} has no launch template")
                settings = AgentSettings(reason, reason, None, None)
                security_groups = reason
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
                instance_types=tuple(t for t in instance_types if isinstance(t, str)),
                skipped=settings.ignored,
                meant_for=meant_for,
            )

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

"""The Application Auto Scaling family: scalable targets on an ECS service's desired count.

Service auto scaling moves a service's desired count between MinCapacity and MaxCapacity
(`ecs:service:DesiredCount`); a scheduled action may move the bounds. The target names its service
in ResourceId, `service/<cluster name>/<service name>`, which CDK writes as
`Fn::Join ["", ["service/", {Ref: Cluster}, "/", {Fn::GetAtt: [Service, Name]}]]`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..intrinsics import Key, Part, Resolver, ResourceRef, Unknown
from .entities import ScalableTarget
from .resources import FamilyBuilder, RawResource, References, Resources, items_of, mapping_of

SCALABLE_DIMENSION = "ecs:service:DesiredCount"


class ApplicationAutoScalingBuilder(FamilyBuilder):
    """Reads AWS::ApplicationAutoScaling::ScalableTarget resources of ECS services."""

    reads = frozenset({"AWS::ApplicationAutoScaling::ScalableTarget"})
    named_by: ClassVar[dict[str, str]] = {"AWS::ECS::Service": "ServiceName"}

    def __init__(self, refs: References) -> None:
        super().__init__(refs)
        self.scalable_targets: dict[Key, ScalableTarget] = {}

    def add(self, raw: Resources) -> None:
        for item in self.each(raw, "AWS::ApplicationAutoScaling::ScalableTarget"):
            resolver, props = item.resolver, item.props
            namespace = resolver.str_of(props.get("ServiceNamespace"))
            dimension = resolver.str_of(props.get("ScalableDimension"))
            if namespace != "ecs" and not isinstance(namespace, Unknown):
                continue
            if dimension != SCALABLE_DIMENSION and not isinstance(dimension, Unknown):
                continue
            service = self._service(item)
            if isinstance(namespace, Unknown) or isinstance(dimension, Unknown):
                service = Unknown("its ServiceNamespace or ScalableDimension is set at deployment")
            self.scalable_targets[item.key] = ScalableTarget(
                item.origin,
                service,
                resolver.int_of(props.get("MinCapacity")),
                _most(resolver, props),
            )

    def finish(self, fields: dict[str, Any]) -> None:
        fields["scalable_targets"] = self.scalable_targets
        scaling: dict[Key, ScalableTarget] = {}
        for target in self.scalable_targets.values():
            key = target.service
            if not isinstance(key, tuple):
                continue
            previous = scaling.get(key)
            if previous is None or _above(target.max_capacity, previous.max_capacity):
                scaling[key] = target
        fields["scaling"] = scaling

    def _service(self, item: RawResource) -> Key | Unknown:
        """The service ResourceId names: a reference to it, or its literal ServiceName."""
        parts = item.resolver.parts(item.props.get("ResourceId"))
        segments = _segments(parts)
        if isinstance(segments, Unknown):
            return segments
        if len(segments) != 3 or segments[0] != "service":
            unknown = next((p for p in parts if isinstance(p, Unknown)), None)
            if unknown is not None:
                return Unknown(f"its ResourceId is unknown ({unknown.reason})")
            return Unknown(f"ResourceId is not service/<cluster>/<service> ({_spelled(parts)})")
        named = segments[2]
        if isinstance(named, Unknown):
            return Unknown(f"the service in its ResourceId is unknown ({named.reason})")
        if isinstance(named, ResourceRef):
            if self.refs.kind(named.key) == "AWS::ECS::Service":
                return named.key
            return Unknown(f"its ResourceId names {named.logical_id}, which is not an ECS service")
        found = self.refs.named("AWS::ECS::Service", named)
        if found is None:
            return Unknown(f"service {named!r} of its ResourceId is not defined in the templates given")
        return found


def _segments(parts: list[Part]) -> list[str | ResourceRef | Unknown] | Unknown:
    """ResourceId split on '/': literal segments, or one reference (or unknown value) each."""
    segments: list[str | ResourceRef | Unknown] = []
    current: list[str] = []
    pending: ResourceRef | Unknown | None = None
    for part in parts:
        if isinstance(part, str):
            pieces = part.split("/")
            for index, piece in enumerate(pieces):
                if index:
                    segments.append(pending if pending is not None else "".join(current))
                    current, pending = [], None
                if piece:
                    if pending is not None:
                        return Unknown(f"a ResourceId segment mixes text and a reference ({_spelled(parts)})")
                    current.append(piece)
        else:
            if current or pending is not None:
                return Unknown(f"a ResourceId segment mixes text and a reference ({_spelled(parts)})")
            pending = part
    segments.append(pending if pending is not None else "".join(current))
    return segments


def _spelled(parts: list[Part]) -> str:
    return "".join(p if isinstance(p, str) else "${...}" for p in parts)


def _most(resolver: Resolver, props: Any) -> int | Unknown | None:
    """MaxCapacity, raised by any scheduled action's MinCapacity or MaxCapacity above it."""
    most = resolver.int_of(props.get("MaxCapacity"))
    for action in items_of(resolver.value(props.get("ScheduledActions"))):
        bounds = mapping_of(resolver.value(mapping_of(action).get("ScalableTargetAction")))
        for name in ("MaxCapacity", "MinCapacity"):
            value = resolver.int_of(bounds.get(name))
            if isinstance(value, Unknown):
                return Unknown(f"a scheduled action's {name} is unknown ({value.reason})")
            if _above(value, most):
                most = value
    return most


def _above(value: int | Unknown | None, than: int | Unknown | None) -> bool:
    return isinstance(value, int) and (not isinstance(than, int) or value > than)

"""What every resource-family builder shares: resources as their templates have them, and the
references between resources of the templates given (Ref, Fn::GetAtt, imports, literal names)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ..intrinsics import Key, Notes, Resolver, ResourceRef, Unknown, as_str
from .entities import Origin

EMPTY: Mapping[str, Any] = {}


class RawResource:
    """A resource of a type the model reads, as its template has it; its origin is made on demand."""

    __slots__ = ("resolver", "path", "logical_id", "resource", "props", "_origin")

    def __init__(self, resolver: Resolver, path: str, logical_id: str, resource: dict[str, Any]) -> None:
        self.resolver = resolver
        self.path = path
        self.logical_id = logical_id
        self.resource = resource
        properties = resource.get("Properties")
        if type(properties) is dict and len(properties) == 1 and "Fn::If" in properties:
            properties = resolver.mapping(properties)
        self.props: Mapping[str, Any] = properties if type(properties) is dict else EMPTY
        self._origin: Origin | None = None

    @property
    def key(self) -> Key:
        """The resource's identity across templates."""
        return (self.resolver.template, self.logical_id)

    @property
    def origin(self) -> Origin:
        """Its template, logical id and construct path (from `aws:cdk:path` metadata)."""
        if self._origin is None:
            metadata = self.resource.get("Metadata")
            path = metadata.get("aws:cdk:path") if type(metadata) is dict else None
            self._origin = Origin(
                self.resolver.template, self.path, self.logical_id, path if type(path) is str else None
            )
        return self._origin


Resources = Mapping[str, list[RawResource]]
"""One template's resources of the types the model reads, by type."""


class References:
    """Which resources the templates define, and which of them a reference or a literal name designates.

    `kinds` maps each template to its logical ids and their types; `names` maps, for the types that
    other resources may name by a literal string (a cluster's ClusterName, ...), each name to its
    resource. Names looked for in vain are kept in `missed_names`, so that a caller reading templates
    one at a time can tell when a later template defines one.

    `notes` is shared with the resolvers (the defaults each resource's values rest on, the
    remedies of unknowns); `conditional` holds the resources whose `Condition` is unknown, with why;
    `cfn_init` the `AWS::CloudFormation::Init` metadata of any resource, for the user data that runs it.
    """

    def __init__(self, named_types: Mapping[str, str], notes: Notes | None = None) -> None:
        self.kinds: dict[str, Mapping[str, Any]] = {}
        self.name_properties = dict(named_types)
        self.names: dict[str, dict[str, Key]] = {kind: {} for kind in named_types}
        self.missed_names: set[tuple[str, str]] = set()
        self.notes = notes or Notes()
        self.conditional: dict[Key, Unknown] = {}
        self.cfn_init: dict[Key, tuple[Resolver, Any]] = {}  # resources with AWS::CloudFormation::Init

    def register_names(self, raw: Resources) -> None:
        """Note the literal names of one template's resources."""
        for kind, name_property in self.name_properties.items():
            for item in raw.get(kind, ()):
                name = item.resolver.value(item.props.get(name_property))
                if isinstance(name, str):
                    self.names[kind].setdefault(name, item.key)

    def kind(self, key: Key) -> Any:
        """The CloudFormation type of a resource of the templates given."""
        return self.kinds.get(key[0], EMPTY).get(key[1])

    def named(self, kind: str, name: str) -> Key | None:
        """The resource of type `kind` a literal name (or ARN) designates, if the templates define it."""
        key = self.find(kind, name)
        if key is None:
            self.missed_names.add((kind, name))
        return key

    def find(self, kind: str, name: str) -> Key | None:
        """`named` without noting a miss."""
        names = self.names[kind]
        key = names.get(name)
        if key is None and name.startswith("arn:"):
            name = name.rsplit("/", 1)[-1]
            key = names.get(name)
        if key is None and kind == "AWS::ECS::TaskDefinition" and ":" in name:
            key = names.get(name.rsplit(":", 1)[0])  # family:revision
        return key

    def target(self, resolver: Resolver, node: Any, kind: str, label: str) -> Key | Unknown | None:
        """Resolve `node` to a resource of CloudFormation type `kind` (`label` names it for users)."""
        if type(node) is dict and len(node) == 1:
            # Fast path for the common Ref / Fn::GetAtt to a resource of the same template.
            name = node.get("Ref")
            if name is None:
                attribute = node.get("Fn::GetAtt")
                name = attribute[0] if type(attribute) is list and len(attribute) == 2 else None
            if type(name) is str and resolver.resources.get(name) == kind:
                return (resolver.template, name)
        return self.resolved_target(resolver.value(node), kind, label)

    def resolved_target(self, value: Any, kind: str, label: str) -> Key | Unknown | None:
        """`target` for a value already resolved."""
        if value is None or isinstance(value, Unknown):
            return value
        if isinstance(value, ResourceRef):
            if self.kind(value.key) == kind:
                return value.key
            return Unknown(f"{value.logical_id} in {value.template} is not a {label}")
        if isinstance(value, str):
            key = self.named(kind, value) if kind in self.names else None
            if key is not None:
                return key
            return Unknown(f"{label} {value!r} is not defined in the templates given")
        return Unknown(f"a {type(value).__name__} where a {label} is expected")

    def targets(self, resolver: Resolver, node: Any, kind: str, label: str) -> tuple[Key | Unknown, ...] | Unknown:
        """Resolve a list of references to resources of type `kind`; absent entries are left out."""
        items = resolver.list_of(node)
        if items is None:
            return ()
        if isinstance(items, Unknown):
            return items
        found = (self.target(resolver, item, kind, label) for item in items)
        return tuple(t for t in found if t is not None)


class FamilyBuilder:
    """Models the resources of one family (ECS, Auto Scaling, ELBv2, EC2) from the templates given.

    A subclass declares the types it `reads` and those other resources may name by a literal
    (`named_by`: type -> the property holding the name); the model builder hands it each template's
    resources twice: `index` (before any template is modelled: what other resources look up) and
    `add` (model them), then asks it to `finish` its part of the `PortPlan`.
    """

    reads: ClassVar[frozenset[str]] = frozenset()
    named_by: ClassVar[Mapping[str, str]] = {}

    def __init__(self, refs: References) -> None:
        self.refs = refs

    def each(self, raw: Resources, kind: str) -> Iterator[RawResource]:
        """One template's resources of type `kind`; while one is modelled, the parameter defaults its
        values rest on are noted against it."""
        items = raw.get(kind, ())
        if not items or not items[0].resolver.may_assume:
            return iter(items)  # no default to note: no need to follow which resource reads it
        return self._focused(items)

    def _focused(self, items: list[RawResource]) -> Iterator[RawResource]:
        notes = self.refs.notes
        try:
            for item in items:
                notes.focus = item.key
                yield item
        finally:
            notes.focus = None

    def index(self, raw: Resources) -> None:
        """Register what other resources look up in this family (launch templates, ...)."""

    def add(self, raw: Resources) -> None:
        """Model one template's resources of this family."""
        raise NotImplementedError

    def finish(self, fields: dict[str, Any]) -> None:
        """Join what spans templates and put this family's `PortPlan` fields into `fields`."""
        raise NotImplementedError


def mapping_of(value: Any) -> Mapping[str, Any]:
    """A resolved value as a mapping; anything else reads as an empty one."""
    return value if isinstance(value, dict) else EMPTY


def items_of(value: Any) -> list[Any]:
    """A list property's items; a lone mapping counts as a list of one."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def keyword(resolver: Resolver, node: Any, default: str | None) -> Any:
    """A keyword property (SchedulingStrategy, LaunchType, ...) in upper case; `default` when absent."""
    if node is None:
        return default
    text = node if type(node) is str else as_str(resolver.value(node))
    if text is None:
        return default
    return text.upper() if type(text) is str else text


def lowercase(value: Any, default: str) -> str | Unknown:
    """A resolved value as lower-case text; `default` when absent."""
    text = as_str(value)
    if text is None:
        return default
    return text.lower() if isinstance(text, str) else text

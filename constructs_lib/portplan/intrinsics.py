"""Resolve CloudFormation intrinsic functions within the templates given.

Values are resolved lazily, one property at a time, so the cost stays linear in what the rules
read. What the templates do not determine becomes an explicit `Unknown(reason)`; a reference to a
resource becomes a `ResourceRef`, even when it crosses stacks through `Fn::ImportValue`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str]
"""A resource's identity: (template display name, logical id)."""

_MAX_DEPTH = 32
_PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::URLSuffix",
    }
)
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the templates do not determine; `reason` says why, for the user."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """A `Ref` or `Fn::GetAtt` to a resource of one of the given templates."""

    template: str
    logical_id: str
    attribute: str | None = None

    @property
    def key(self) -> Key:
        """The referenced resource's identity."""
        return (self.template, self.logical_id)


Part = str | ResourceRef | Unknown
"""One piece of a rendered string: literal text, a reference, or something unknown."""


def as_int(value: Any) -> int | Unknown | None:
    """Read a resolved value as an integer: None when absent, `Unknown` when not a number."""
    if type(value) is int or value is None or isinstance(value, Unknown):
        return value
    if isinstance(value, bool):
        return Unknown(f"{value!r} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else Unknown(f"{value!r} is not a whole number")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return Unknown(f"{value!r} is not a number")
    if isinstance(value, ResourceRef):
        return Unknown(f"{_describe(value)} is not known before deployment")
    return Unknown(f"a {type(value).__name__} where a number is expected")


def as_str(value: Any) -> str | Unknown | None:
    """Read a resolved value as a string (numbers are spelled out): None when absent."""
    if type(value) is str or value is None or isinstance(value, (str, Unknown)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, ResourceRef):
        return Unknown(f"{_describe(value)} is not known before deployment")
    return Unknown(f"a {type(value).__name__} where a string is expected")


def _describe(ref: ResourceRef) -> str:
    if ref.attribute:
        return f"the {ref.attribute} of {ref.logical_id}"
    return f"a reference to {ref.logical_id}"


class Resolver:
    """Resolves the intrinsic functions of one template.

    `resources` only needs to tell which logical ids exist (a mapping from logical id to anything);
    `exports` is the table of exports shared by all templates read (see ExportTable).
    """

    def __init__(self, template: str, body: Mapping[str, Any], stack_name: str) -> None:
        self.template = template
        self.stack_name = stack_name
        resources = body.get("Resources")
        self.resources: Mapping[str, Any] = resources if isinstance(resources, dict) else {}
        parameters = body.get("Parameters")
        self.parameters: Mapping[str, Any] = parameters if isinstance(parameters, dict) else {}
        mappings = body.get("Mappings")
        self.mappings: Mapping[str, Any] = mappings if isinstance(mappings, dict) else {}
        self.exports: ExportTable | None = None

    # -- values ---------------------------------------------------------------------------------

    def value(self, node: Any, depth: int = 0) -> Any:
        """Resolve an intrinsic function at the top of `node`; literals come back unchanged.

        Nested mappings and lists are not resolved here: callers resolve the fields they read.
        """
        if type(node) is not dict or len(node) != 1:
            return node
        name, arg = next(iter(node.items()))
        if name == "Ref":
            return self._ref(arg)
        if not isinstance(name, str) or not name.startswith("Fn::"):
            return node
        if depth > _MAX_DEPTH:
            return Unknown("references nest too deeply (a cycle?)")
        handler = _FUNCTIONS.get(name)
        if handler is None:
            return Unknown(f"{name} is not evaluated")
        return handler(self, arg, depth + 1)

    def int_of(self, node: Any) -> int | Unknown | None:
        """Resolve `node` and read it as an integer."""
        return node if type(node) is int else as_int(self.value(node))

    def str_of(self, node: Any) -> str | Unknown | None:
        """Resolve `node` and read it as a string."""
        return node if type(node) is str else as_str(self.value(node))

    def list_of(self, node: Any) -> list[Any] | Unknown | None:
        """Resolve `node` and read it as a list (items still unresolved)."""
        if type(node) is list:
            return node
        value = self.value(node)
        if value is None or isinstance(value, (list, Unknown)):
            return value
        return Unknown(f"a {type(value).__name__} where a list is expected")

    def parts(self, node: Any, depth: int = 0) -> list[Part]:
        """Render `node` as a string made of literal text, references and unknowns.

        Used for user data, where references (the cluster) must survive as themselves.
        """
        if isinstance(node, str):
            return [node]
        if isinstance(node, (bool, int, float)):
            return [as_str(node)]  # type: ignore[list-item]
        if depth > _MAX_DEPTH:
            return [Unknown("text nests too deeply")]
        if type(node) is dict and len(node) == 1:
            name, arg = next(iter(node.items()))
            if name == "Fn::Base64":
                return self.parts(arg, depth + 1)
            if name == "Fn::Join":
                return self._join_parts(arg, depth + 1)
            if name == "Fn::Sub":
                return self._sub_parts(arg, depth + 1)
        value = self.value(node, depth)
        if isinstance(value, (ResourceRef, Unknown)):
            return [value]
        if value is not node or isinstance(value, (str, int, float)):
            return self.parts(value, depth + 1)
        return [Unknown(f"a {type(node).__name__} where text is expected")]

    # -- functions ------------------------------------------------------------------------------

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            return Unknown("Ref to something that is not a name")
        if name in self.resources:
            return ResourceRef(self.template, name)
        if name == "AWS::StackName":
            return self.stack_name
        if name == "AWS::NoValue":
            return Unknown("AWS::NoValue")
        if name in self.parameters:
            return Unknown(f"parameter {name} of {self.template} is set at deployment")
        if name in _PSEUDO_PARAMETERS:
            return Unknown(f"pseudo parameter {name} is set at deployment")
        return Unknown(f"Ref to {name}, which {self.template} does not define")

    def _get_att(self, arg: Any, depth: int) -> Any:
        if isinstance(arg, str) and "." in arg:
            logical_id, attribute = arg.split(".", 1)
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            logical_id, attribute = arg[0], self.value(arg[1], depth)
        else:
            return Unknown("malformed Fn::GetAtt")
        if logical_id not in self.resources:
            return Unknown(f"Fn::GetAtt of {logical_id}, which {self.template} does not define")
        if not isinstance(attribute, str):
            return Unknown(f"Fn::GetAtt of {logical_id} with a computed attribute name")
        return ResourceRef(self.template, logical_id, attribute)

    def _import_value(self, arg: Any, depth: int) -> Any:
        name = as_str(self.value(arg, depth))
        if not isinstance(name, str):
            return Unknown(f"an import whose name is unknown ({name or 'missing'})")
        if self.exports is None:
            return Unknown(f"import {name!r} is not exported by any template given")
        return self.exports.resolve(name, depth)

    def _join(self, arg: Any, depth: int) -> Any:
        text = ""
        for part in self._join_parts(arg, depth):
            if not isinstance(part, str):
                return part if isinstance(part, Unknown) else as_str(part)
            text += part
        return text

    def _join_parts(self, arg: Any, depth: int) -> list[Part]:
        if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[0], str):
            return [Unknown("malformed Fn::Join")]
        delimiter = arg[0]
        items = self.value(arg[1], depth)
        if isinstance(items, Unknown):
            return [items]
        if not isinstance(items, list):
            return [Unknown("Fn::Join of something that is not a list")]
        parts: list[Part] = []
        for index, item in enumerate(items):
            if index and delimiter:
                parts.append(delimiter)
            parts.extend(self.parts(item, depth))
        return parts

    def _sub_value(self, arg: Any, depth: int) -> Any:
        text = ""
        for part in self._sub_parts(arg, depth):
            if not isinstance(part, str):
                return part if isinstance(part, Unknown) else as_str(part)
            text += part
        return text

    def _sub_parts(self, arg: Any, depth: int) -> list[Part]:
        variables: Mapping[str, Any] = {}
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            template, variables = arg
        else:
            template = arg
        if not isinstance(template, str):
            return [Unknown("malformed Fn::Sub")]
        parts: list[Part] = []
        position = 0
        for match in _SUB_VARIABLE.finditer(template):
            parts.append(template[position : match.start()])
            position = match.end()
            name = match.group(1).strip()
            if name.startswith("!"):
                parts.append("${" + name[1:] + "}")
            elif name in variables:
                parts.extend(self.parts(variables[name], depth))
            elif "." in name and not name.startswith("AWS::"):
                parts.extend(self.parts({"Fn::GetAtt": name}, depth))
            else:
                parts.extend(self.parts({"Ref": name}, depth))
        parts.append(template[position:])
        return [part for part in parts if part != ""]

    def _select(self, arg: Any, depth: int) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unknown("malformed Fn::Select")
        index = as_int(self.value(arg[0], depth))
        items = self.value(arg[1], depth)
        if isinstance(index, Unknown) or index is None:
            return index or Unknown("Fn::Select without an index")
        if isinstance(items, Unknown):
            return items
        if not isinstance(items, list) or not 0 <= index < len(items):
            return Unknown("Fn::Select out of range")
        return self.value(items[index], depth)

    def _split(self, arg: Any, depth: int) -> Any:
        if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[0], str) or not arg[0]:
            return Unknown("malformed Fn::Split")
        source = as_str(self.value(arg[1], depth))
        if not isinstance(source, str):
            return source or Unknown("Fn::Split of nothing")
        return source.split(arg[0])

    def _find_in_map(self, arg: Any, depth: int) -> Any:
        if not isinstance(arg, list) or len(arg) < 3:
            return Unknown("malformed Fn::FindInMap")
        keys = [as_str(self.value(item, depth)) for item in arg[:3]]
        node: Any = self.mappings
        for key in keys:
            if not isinstance(key, str):
                return key or Unknown("Fn::FindInMap with a missing key")
            if not isinstance(node, dict) or key not in node:
                return Unknown(f"Fn::FindInMap: no {key!r} in the mapping")
            node = node[key]
        return self.value(node, depth)

    def _base64(self, arg: Any, depth: int) -> Any:
        # The model keeps the plain text: nothing compares encoded strings.
        return self.value(arg, depth)


def _conditional(resolver: Resolver, arg: Any, depth: int) -> Unknown:
    return Unknown("Fn::If depends on a condition evaluated at deployment")


_FUNCTIONS = {
    "Fn::GetAtt": Resolver._get_att,
    "Fn::ImportValue": Resolver._import_value,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub_value,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Base64": Resolver._base64,
    "Fn::If": _conditional,
}


class ExportTable:
    """The exports of the templates read so far, by export name, shared by their resolvers.

    An export name given twice with different values is ambiguous and resolves to `Unknown`.
    `missed` keeps the names imports looked for in vain (or read before a second definition made
    them ambiguous), so that a caller reading templates one at a time can tell when a later template
    changed what an earlier one imported.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Resolver, Any] | Unknown] = {}
        self._resolved: dict[str, Any] = {}
        self.missed: set[str] = set()

    def add(self, resolver: Resolver, outputs: Mapping[str, Any]) -> None:
        """Register the exported outputs of the template `resolver` reads; the resolver joins the table."""
        resolver.exports = self
        for output in outputs.values():
            if not isinstance(output, dict) or not isinstance(output.get("Export"), dict):
                continue
            name = as_str(resolver.value(output["Export"].get("Name")))
            if not isinstance(name, str) or "Value" not in output:
                continue
            entry = (resolver, output["Value"])
            previous = self._entries.get(name)
            if previous is None:
                self._entries[name] = entry
            elif not isinstance(previous, Unknown) and (previous[0] is not resolver or previous[1] != entry[1]):
                self._entries[name] = Unknown(f"export {name!r} is defined by several templates")
                if name in self._resolved:  # an import already read the first definition
                    del self._resolved[name]
                    self.missed.add(name)

    def defines(self, name: str) -> bool:
        """Whether a template read so far exports `name`."""
        return name in self._entries

    def resolve(self, name: str, depth: int) -> Any:
        """The value exported as `name`, resolved in the exporting template."""
        if name in self._resolved:
            return self._resolved[name]
        found = self._entries.get(name)
        if found is None:
            self.missed.add(name)
            return Unknown(f"import {name!r} is not exported by any template given")
        value = found if isinstance(found, Unknown) else found[0].value(found[1], depth)
        self._resolved[name] = value
        return value

    def close(self) -> None:
        """Forget the resolvers (which refer back to the table), so that memory is freed at once."""
        self._entries.clear()
        self._resolved.clear()

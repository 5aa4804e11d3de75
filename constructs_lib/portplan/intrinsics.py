"""Resolve CloudFormation intrinsic functions within the templates given.

Values are resolved lazily, one property at a time, so the cost stays linear in what the rules
read. What the templates do not determine becomes an explicit `Unknown(reason)`; a reference to a
resource becomes a `ResourceRef`, even when it crosses stacks (`Fn::ImportValue`,
`Fn::GetStackOutput`, a nested stack's parameters and outputs).

A parameter takes the value given for it (`--parameter`, or the parent stack's `Parameters`), else
its `Default`; a value that rests on a default is noted as an `Assumption`, so that findings can
say so. `Conditions` are evaluated once per template from those values; `Fn::If` takes its branch
and `AWS::NoValue` reads as absent (None). What stays open is `Unknown`, and the way to supply it is
kept beside its reason (`Notes.remedies`).

Bounded on any input: what a template names and may use many times (a mapping entry, a parameter,
a condition, an output or export) is resolved once and remembered; every resolution, across names
and templates too, carries one depth that stops at `_MAX_DEPTH` (a cycle, or a chain longer than any
template needs, becomes `Unknown`); and text built by `Fn::Join` and `Fn::Sub` stops at
`MAX_TEXT` characters or `_MAX_PARTS` pieces (CloudFormation's own limits are far below).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

Key = tuple[str, str]
"""A resource's identity: (template display name, logical id)."""

_MAX_DEPTH = 64
MAX_TEXT = 1_000_000
"""The longest text `Fn::Join` and `Fn::Sub` build; longer is `Unknown` (user data is at most 16 KB)."""
_MAX_PARTS = 100_000
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
        text = value.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        # ASCII digits only, as CloudFormation reads them (int() also takes `٣`, `1_000`, and raises
        # past 4,300 digits).
        if digits.isascii() and digits.isdigit() and len(digits) <= 4300:
            return int(text)
        return Unknown(f"{_clipped(value)!r} is not a number")
    if isinstance(value, ResourceRef):
        return Unknown(f"{_describe(value)} is not known before deployment")
    return Unknown(f"a {type(value).__name__} where a number is expected")


def _clipped(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


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


class Assumption(NamedTuple):
    """A parameter read at its `Default` because no value was given for it."""

    template: str
    name: str
    value: str

    def describe(self, template: str | None = None) -> str:
        """`DesiredCount=2, its default` (`..., its default in T` when `template` is another one)."""
        where = "" if template is None or template == self.template else f" in {self.template}"
        return f"{self.name}={self.value}, its default{where}"


class Notes:
    """What resolving values teaches beyond the values: the defaults they rest on, and how to
    supply what stays unknown.

    One `Notes` is shared by the resolvers of one model build. While `focus` names a resource,
    every default read is noted against it (`assumed`); `capture` collects the defaults a single
    resolution reads. `remedies` maps the reason of an `Unknown` to the way a user supplies it.
    """

    def __init__(self) -> None:
        self.focus: Key | None = None
        self.assumed: dict[Key, set[Assumption]] = defaultdict(set)
        self.remedies: dict[str, str] = {}
        self.missed_children: set[tuple[str, str]] = set()  # (template, stack resource) read before linked
        self._captures: list[set[Assumption]] = []

    def note(self, assumed: frozenset[Assumption]) -> None:
        """Record that the value being resolved rests on `assumed`."""
        if self.focus is not None:
            self.assumed[self.focus].update(assumed)
        for captured in self._captures:
            captured.update(assumed)

    @contextmanager
    def capture(self) -> Iterator[set[Assumption]]:
        """Collect the defaults read inside the block (they are noted on the focus too)."""
        captured: set[Assumption] = set()
        self._captures.append(captured)
        try:
            yield captured
        finally:
            self._captures.pop()

    def unknown(self, reason: str, remedy: str) -> Unknown:
        """An `Unknown` whose `remedy` says how to supply it."""
        self.remedies.setdefault(reason, remedy)
        return Unknown(reason)


_Tracked = tuple[Any, frozenset[Assumption]]
_STACK_TYPES = frozenset({"AWS::CloudFormation::Stack", "AWS::Serverless::Application"})
"""Resources whose template is another stack: CloudFormation nested stacks and SAM applications."""


def is_intrinsic(node: Any) -> bool:
    """Whether `node` is a call of an intrinsic function (`Ref`, `Fn::*`, `Condition`)."""
    if type(node) is not dict or len(node) != 1:
        return False
    name = next(iter(node))
    return type(name) is str and (name == "Ref" or name == "Condition" or name.startswith("Fn::"))


class Resolver:
    """Resolves the intrinsic functions of one template instance.

    `stack_name` is what `AWS::StackName` resolves to (None for a nested stack, whose name is
    generated at deployment). `given` holds the parameter values given for a top-level stack;
    for a nested stack, `parent` is its parent's resolver and `passed` the `Parameters` property of
    the parent's stack resource. `exports` (the table shared by all templates read), `notes` and
    `children` (nested stack resources -> their template's resolver, or why it is unknown) are set
    by the model builder.
    """

    def __init__(
        self,
        template: str,
        body: Mapping[str, Any],
        stack_name: str | None,
        *,
        given: Mapping[str, str] | None = None,
        parent: Resolver | None = None,
        passed: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.stack_name = stack_name
        resources = body.get("Resources")
        self.resources: Mapping[str, Any] = resources if isinstance(resources, dict) else {}
        parameters = body.get("Parameters")
        self.parameters: Mapping[str, Any] = parameters if isinstance(parameters, dict) else {}
        mappings = body.get("Mappings")
        self.mappings: Mapping[str, Any] = mappings if isinstance(mappings, dict) else {}
        conditions = body.get("Conditions")
        self.conditions: Mapping[str, Any] = conditions if isinstance(conditions, dict) else {}
        outputs = body.get("Outputs")
        self.outputs: Mapping[str, Any] = outputs if isinstance(outputs, dict) else {}
        self.given: Mapping[str, str] = given or {}
        self.parent = parent
        self.passed = passed
        self.exports: ExportTable | None = None
        self.notes = Notes()
        self.children: dict[str, Resolver | Unknown] = {}
        self.absent: dict[str, str] = {}  # resources left out by a false Condition -> why
        self._parameter_values: dict[str, _Tracked] = {}
        self._condition_values: dict[str, _Tracked] = {}
        self._mapped: dict[tuple[str, str, str], _Tracked] = {}  # Fn::FindInMap keys -> value
        self._output_values: dict[str, _Tracked] = {}
        self._evaluating: set[str] = set()

    @property
    def may_assume(self) -> bool:
        """Whether a value of this template may rest on a parameter default (its own, or a parent's)."""
        if self.parent is not None:
            return True
        for declaration in self.parameters.values():
            if isinstance(declaration, dict) and "Default" in declaration:
                kind = declaration.get("Type")
                if not (isinstance(kind, str) and kind.startswith("AWS::SSM::Parameter::Value<")):
                    return True
        return False

    # -- values ---------------------------------------------------------------------------------

    def value(self, node: Any, depth: int = 0) -> Any:
        """Resolve an intrinsic function at the top of `node`; literals come back unchanged.

        Nested mappings and lists are not resolved here: callers resolve the fields they read.
        `AWS::NoValue` (directly or as the branch `Fn::If` takes) resolves to None: absent.
        """
        if type(node) is not dict or len(node) != 1:
            return node
        name, arg = next(iter(node.items()))
        if name == "Ref":
            return self._ref(arg, depth)
        if not isinstance(name, str) or not name.startswith("Fn::"):
            return node
        if depth > _MAX_DEPTH:
            return Unknown("references nest too deeply (a cycle?)")
        handler = _FUNCTIONS.get(name)
        if handler is None:
            return Unknown(f"{name} is not evaluated")
        return handler(self, arg, depth + 1)

    def tracked(self, node: Any, depth: int = 0) -> _Tracked:
        """Resolve `node`; also return the parameter defaults the value rests on. `depth` is that of
        the resolution asking (another template's, for a value crossing templates)."""
        if depth > _MAX_DEPTH:
            return Unknown("references nest too deeply (a cycle?)"), frozenset()
        with self.notes.capture() as captured:
            value = self.value(node, depth)
        return value, frozenset(captured)

    def output(self, name: str, depth: int = 0) -> _Tracked | None:
        """The value of this template's output `name` and the defaults it rests on, resolved once;
        None when there is no such output."""
        found = self._output_values.get(name)
        if found is None:
            declared = self.outputs.get(name)
            if type(declared) is not dict or "Value" not in declared:
                return None
            self._output_values[name] = (Unknown(f"output {name} of {self.template} refers to itself"), frozenset())
            found = self._output_values[name] = self.tracked(declared["Value"], depth)
        return found

    def int_of(self, node: Any) -> int | Unknown | None:
        """Resolve `node` and read it as an integer."""
        return node if type(node) is int else as_int(self.value(node))

    def str_of(self, node: Any) -> str | Unknown | None:
        """Resolve `node` and read it as a string."""
        return node if type(node) is str else as_str(self.value(node))

    def branch(self, node: Any, depth: int = 0) -> Any:
        """`node` with any `Fn::If` at its top replaced by the branch it takes, unresolved otherwise.

        None when that is `AWS::NoValue`; `Unknown` when the condition is unknown.
        """
        while type(node) is dict and len(node) == 1 and depth <= _MAX_DEPTH:
            name, arg = next(iter(node.items()))
            if name == "Ref" and arg == "AWS::NoValue":
                return None
            if name != "Fn::If":
                return node
            chosen = self._chosen(arg, depth)
            if isinstance(chosen, Unknown):
                return chosen
            node, depth = chosen, depth + 1
        return node

    def mapping(self, node: Any, depth: int = 0) -> dict[str, Any] | Unknown | None:
        """Resolve `node` as a mapping (a property group, a list entry): None when absent."""
        node = self.branch(node, depth)
        if type(node) is dict and not is_intrinsic(node):
            return node
        if node is None or isinstance(node, Unknown):
            return node
        value = self.value(node, depth)
        if value is None or isinstance(value, Unknown):
            return value
        if type(value) is dict and not is_intrinsic(value):
            return value
        return Unknown(f"a {type(value).__name__} where a mapping is expected")

    def list_of(self, node: Any, depth: int = 0) -> list[Any] | Unknown | None:
        """Resolve `node` and read it as a list; items still unresolved, those `AWS::NoValue` left out
        (an item whose `Fn::If` condition is unknown stays, as that `Unknown`)."""
        if type(node) is not list:
            value = self.value(node, depth)
            if value is None or isinstance(value, Unknown):
                return value
            if not isinstance(value, list):
                return Unknown(f"a {type(value).__name__} where a list is expected")
            node = value
        for item in node:
            if type(item) is dict and len(item) == 1:
                break
        else:
            return node  # nothing to choose between: the list as written
        items = []
        for item in node:
            chosen = self.branch(item, depth) if type(item) is dict and len(item) == 1 else item
            if chosen is not None:
                items.append(chosen)
        return items

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
            if name == "Fn::If":
                chosen = self._chosen(arg, depth)
                return [chosen] if isinstance(chosen, Unknown) else self.parts(chosen, depth + 1)
        value = self.value(node, depth)
        if value is None:
            return []
        if isinstance(value, (ResourceRef, Unknown)):
            return [value]
        if value is not node or isinstance(value, (str, int, float)):
            return self.parts(value, depth + 1)
        return [Unknown(f"a {type(node).__name__} where text is expected")]

    # -- parameters and conditions --------------------------------------------------------------

    def condition(self, name: Any, depth: int = 0) -> bool | Unknown:
        """The value of the template's condition `name`, evaluated once per template."""
        if not isinstance(name, str):
            return Unknown("a condition name that is not a string")
        found = self._condition_values.get(name)
        if found is None:
            if name not in self.conditions:
                return Unknown(f"condition {name} is not defined in {self.template}")
            if name in self._evaluating:
                return Unknown(f"condition {name} of {self.template} refers to itself")
            self._evaluating.add(name)
            try:
                with self.notes.capture() as captured:
                    result = self._truth(self.conditions[name], depth + 1)
            finally:
                self._evaluating.discard(name)
            if isinstance(result, Unknown):
                # One condition resting on another names the first and the root cause, not the chain.
                cause = result.reason.split(" is unknown: ", 1)[-1] if result.reason.startswith("condition ") else result.reason
                result = Unknown(f"condition {name} of {self.template} is unknown: {cause}")
            found = self._condition_values[name] = (result, frozenset(captured))
        value, assumed = found
        if assumed:
            self.notes.note(assumed)
        return value  # type: ignore[no-any-return]

    def _truth(self, node: Any, depth: int) -> bool | Unknown:
        if depth > _MAX_DEPTH:
            return Unknown("conditions nest too deeply")
        if isinstance(node, bool):
            return node
        if isinstance(node, str) and node.lower() in ("true", "false"):
            return node.lower() == "true"
        if type(node) is not dict or len(node) != 1:
            return Unknown("a malformed condition")
        name, arg = next(iter(node.items()))
        if name == "Condition":
            return self.condition(arg, depth + 1)
        if name == "Fn::Equals":
            if not isinstance(arg, list) or len(arg) != 2:
                return Unknown("a malformed Fn::Equals")
            left, right = (self._comparable(self.value(item, depth + 1), depth + 1) for item in arg)
            if isinstance(left, Unknown):
                return left
            if isinstance(right, Unknown):
                return right
            return left == right
        if name == "Fn::Not":
            inner = self._truth(arg[0], depth + 1) if isinstance(arg, list) and len(arg) == 1 else None
            if inner is None:
                return Unknown("a malformed Fn::Not")
            return inner if isinstance(inner, Unknown) else not inner
        if name in ("Fn::And", "Fn::Or"):
            if not isinstance(arg, list) or not arg:
                return Unknown(f"a malformed {name}")
            deciding = name == "Fn::Or"  # the value that decides alone: True for Or, False for And
            unknown: Unknown | None = None
            for item in arg:
                truth = self._truth(item, depth + 1)
                if isinstance(truth, Unknown):
                    unknown = unknown or truth
                elif truth is deciding:
                    return deciding
            return unknown if unknown is not None else not deciding
        value = self.value(node, depth + 1)
        if isinstance(value, bool):
            return value
        return value if isinstance(value, Unknown) else Unknown(f"{name} is not a condition")

    @staticmethod
    def _comparable(value: Any, depth: int) -> Any:
        """Fn::Equals compares strings: numbers as CloudFormation spells them, lists item by item."""
        if isinstance(value, list):
            if depth > _MAX_DEPTH:
                return Unknown("Fn::Equals of lists nested too deeply")
            items = [Resolver._comparable(item, depth + 1) for item in value]
            return next((i for i in items if isinstance(i, Unknown)), items)
        text = as_str(value)
        return Unknown("Fn::Equals of an absent value") if text is None else text

    def _chosen(self, arg: Any, depth: int = 0) -> Any:
        """The branch `Fn::If [condition, then, else]` takes, unresolved; Unknown when it cannot tell."""
        if not isinstance(arg, list) or len(arg) != 3:
            return Unknown("malformed Fn::If")
        truth = self.condition(arg[0], depth + 1)
        if isinstance(truth, Unknown):
            return truth
        return arg[1] if truth else arg[2]

    def _parameter(self, name: str, depth: int) -> Any:
        found = self._parameter_values.get(name)
        if found is None:
            found = self._parameter_values[name] = self._parameter_value(name, depth)
        value, assumed = found
        if assumed:
            self.notes.note(assumed)
        return value

    def _parameter_value(self, name: str, depth: int) -> _Tracked:
        declaration = self.parameters[name]
        declaration = declaration if isinstance(declaration, dict) else {}
        kind = declaration.get("Type")
        kind = kind if isinstance(kind, str) else "String"
        if name in self.given:
            return _typed(self.given[name], kind), frozenset()
        if self.parent is not None and self.passed is not None and name in self.passed:
            value, assumed = self.parent.tracked(self.passed[name], depth + 1)
            return _typed(value, kind), assumed
        default = declaration.get("Default")
        if kind.startswith("AWS::SSM::Parameter::Value<"):
            reason = f"parameter {name} of {self.template} is read from SSM parameter {default!r} at deployment"
            return self.notes.unknown(reason, self._supply(name)), frozenset()
        if default is not None:
            text = as_str(default)
            if not isinstance(text, str):
                return Unknown(f"the default of parameter {name} of {self.template} is not a value"), frozenset()
            return _typed(text, kind), frozenset({Assumption(self.template, name, text)})
        if self.parent is not None:
            reason = (
                f"parameter {name} of {self.template} has no default and its parent stack does not pass it "
                "(CloudFormation refuses such a stack)"
            )
            return self.notes.unknown(reason, f"pass {name} in the Parameters of its parent's stack resource"), frozenset()
        reason = f"parameter {name} of {self.template} has no default and no value was given"
        return self.notes.unknown(reason, self._supply(name)), frozenset()

    def _supply(self, name: str) -> str:
        if self.parent is not None:
            return f"pass {name} in the Parameters of its parent's stack resource"
        return f"pass --parameter {name}=VALUE (the port-plan CLI)"

    # -- functions ------------------------------------------------------------------------------

    def _ref(self, name: Any, depth: int) -> Any:
        if not isinstance(name, str):
            return Unknown("Ref to something that is not a name")
        if name in self.resources:
            return ResourceRef(self.template, name)
        if name in self.parameters:
            return self._parameter(name, depth)
        if name == "AWS::StackName":
            if self.stack_name is None:
                return Unknown(f"the name of nested stack {self.template} is generated at deployment")
            return self.stack_name
        if name == "AWS::NoValue":
            return None
        if name in _PSEUDO_PARAMETERS:
            return Unknown(f"pseudo parameter {name} is set at deployment")
        if name in self.absent:
            return Unknown(self.absent[name])
        return Unknown(f"Ref to {name}, which {self.template} does not define")

    def _get_att(self, arg: Any, depth: int) -> Any:
        if isinstance(arg, str) and "." in arg:
            logical_id, attribute = arg.split(".", 1)
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            logical_id, attribute = arg[0], self.value(arg[1], depth)
        else:
            return Unknown("malformed Fn::GetAtt")
        if logical_id not in self.resources:
            if logical_id in self.absent:
                return Unknown(self.absent[logical_id])
            return Unknown(f"Fn::GetAtt of {logical_id}, which {self.template} does not define")
        if not isinstance(attribute, str):
            return Unknown(f"Fn::GetAtt of {logical_id} with a computed attribute name")
        if attribute.startswith("Outputs.") and self._kind(logical_id) in _STACK_TYPES:
            return self._nested_output(logical_id, attribute[len("Outputs.") :], depth)
        return ResourceRef(self.template, logical_id, attribute)

    def _kind(self, logical_id: str) -> Any:
        resource = self.resources.get(logical_id)
        return resource.get("Type") if type(resource) is dict else resource

    def _nested_output(self, logical_id: str, output: str, depth: int) -> Any:
        child = self.children.get(logical_id)
        if child is None:
            self.notes.missed_children.add((self.template, logical_id))
            return Unknown(f"the template of nested stack {logical_id} of {self.template} is not among the templates given")
        if isinstance(child, Unknown):
            return child
        found = child.output(output, depth + 1)
        if found is None:
            return Unknown(f"nested stack {logical_id} ({child.template}) has no output {output}")
        value, assumed = found
        if assumed:
            self.notes.note(assumed)
        return value

    def _import_value(self, arg: Any, depth: int) -> Any:
        with self.notes.capture() as built_from:  # defaults the name rests on, for the remedy
            name = as_str(self.value(arg, depth))
        if not isinstance(name, str):
            return Unknown(f"an import whose name is unknown ({name or 'missing'})")
        if self.exports is None:
            return Unknown(f"import {name!r} is not exported by any template given")
        value, assumed = self.exports.resolve(name, self.notes, frozenset(built_from), depth + 1)
        if assumed:
            self.notes.note(assumed)
        return value

    def _stack_output(self, arg: Any, depth: int) -> Any:
        spec = self.value(arg, depth)
        if type(spec) is not dict:
            return Unknown("malformed Fn::GetStackOutput")
        stack, output = as_str(self.value(spec.get("StackName"), depth)), as_str(self.value(spec.get("OutputName"), depth))
        if not isinstance(stack, str) or not isinstance(output, str):
            return Unknown("Fn::GetStackOutput of a stack or output whose name is unknown")
        if self.exports is None:
            return Unknown(f"stack {stack!r} is not among the templates given")
        value, assumed = self.exports.stack_output(stack, output, self.notes, depth + 1)
        if assumed:
            self.notes.note(assumed)
        return value

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
        items = self.list_of(self.value(arg[1], depth), depth)
        if isinstance(items, Unknown):
            return [items]
        if not isinstance(items, list):
            return [Unknown("Fn::Join of something that is not a list")]
        parts: list[Part] = []
        size = 0
        for index, item in enumerate(items):
            if index and delimiter:
                parts.append(delimiter)
                size += len(delimiter)
            more = self.parts(item, depth)
            parts.extend(more)
            size += _text_size(more)
            if size > MAX_TEXT or len(parts) > _MAX_PARTS:
                return [_too_long("Fn::Join")]
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
        position = size = 0
        rendered: dict[str, list[Part]] = {}  # each variable once, however often the text names it
        for match in _SUB_VARIABLE.finditer(template):
            parts.append(template[position : match.start()])
            position = match.end()
            name = match.group(1).strip()
            if name.startswith("!"):
                more: list[Part] = ["${" + name[1:] + "}"]
            elif name in rendered:
                more = rendered[name]
            elif name in variables:
                more = rendered[name] = self.parts(variables[name], depth)
            elif "." in name and not name.startswith("AWS::"):
                more = rendered[name] = self.parts({"Fn::GetAtt": name}, depth)
            else:
                more = rendered[name] = self.parts({"Ref": name}, depth)
            parts.extend(more)
            size += _text_size(more)
            if size > MAX_TEXT or len(parts) > _MAX_PARTS:
                return [_too_long("Fn::Sub")]
        parts.append(template[position:])
        return [part for part in parts if part != ""]

    def _select(self, arg: Any, depth: int) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unknown("malformed Fn::Select")
        index = as_int(self.value(arg[0], depth))
        items = self.list_of(self.value(arg[1], depth), depth)
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
                return Unknown(f"Fn::FindInMap: no {_clipped(key)!r} in the mapping")
            node = node[key]
        if type(node) is not dict:
            return node
        # An entry may be used many times, and may itself read other entries: resolve it once.
        entry = (keys[0], keys[1], keys[2])  # type: ignore[assignment]
        found = self._mapped.get(entry)  # type: ignore[arg-type]
        if found is None:
            self._mapped[entry] = (Unknown(f"Fn::FindInMap {'/'.join(entry)} refers to itself"), frozenset())  # type: ignore[index]
            with self.notes.capture() as captured:
                value = self.value(node, depth)
            found = self._mapped[entry] = (value, frozenset(captured))  # type: ignore[index]
        value, assumed = found
        if assumed:
            self.notes.note(assumed)
        return value

    def _base64(self, arg: Any, depth: int) -> Any:
        # The model keeps the plain text: nothing compares encoded strings.
        return self.value(arg, depth)

    def _if(self, arg: Any, depth: int) -> Any:
        chosen = self._chosen(arg, depth)
        return chosen if isinstance(chosen, Unknown) else self.value(chosen, depth)


def _text_size(parts: list[Part]) -> int:
    return sum(len(part) for part in parts if type(part) is str)


def _too_long(function: str) -> Unknown:
    return Unknown(f"{function} builds a text longer than {MAX_TEXT:,} characters")


def _typed(value: Any, kind: str) -> Any:
    """A parameter value as templates read it: list types split on commas."""
    if isinstance(value, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
        return [item.strip() for item in value.split(",")] if value else []
    return value


_FUNCTIONS = {
    "Fn::GetAtt": Resolver._get_att,
    "Fn::ImportValue": Resolver._import_value,
    "Fn::GetStackOutput": Resolver._stack_output,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub_value,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Base64": Resolver._base64,
    "Fn::If": Resolver._if,
}


def _same(left: Any, right: Any) -> bool:
    """Whether two values read from templates are equal; values too deep to compare are not."""
    try:
        return bool(left == right)
    except RecursionError:
        return False


class ExportTable:
    """The exports and stack outputs of the templates read so far, shared by their resolvers.

    Exports are found by export name (`Fn::ImportValue`), outputs by stack and output name
    (`Fn::GetStackOutput`, CDK's weak cross-stack references). A name defined twice with different
    values is ambiguous and resolves to `Unknown`. `missed` keeps the export names, and
    `missed_stacks` the stack names, looked for in vain (or read before a second definition made
    them ambiguous), so that a caller reading templates one at a time can tell when a later
    template changed what an earlier one read.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Resolver, Any] | Unknown] = {}
        self._resolved: dict[str, _Tracked] = {}
        self._stacks: dict[str, Resolver | Unknown] = {}
        self._stacks_read: set[str] = set()
        self.missed: set[str] = set()
        self.missed_stacks: set[str] = set()

    def add(self, resolver: Resolver, outputs: Mapping[str, Any]) -> None:
        """Register the outputs of the template `resolver` reads; the resolver joins the table."""
        resolver.exports = self
        if resolver.stack_name is not None:
            name = resolver.stack_name
            previous = self._stacks.get(name)
            if previous is None:
                self._stacks[name] = resolver
            elif previous is not resolver:
                self._stacks[name] = Unknown(f"several templates given have the stack name {name!r}")
                if name in self._stacks_read:  # a reference already read the first one
                    self.missed_stacks.add(name)
        for output in outputs.values():
            if not isinstance(output, dict) or not isinstance(output.get("Export"), dict):
                continue
            name = as_str(resolver.value(output["Export"].get("Name")))
            if not isinstance(name, str) or "Value" not in output:
                continue
            entry = (resolver, output["Value"])
            previous_entry = self._entries.get(name)
            if previous_entry is None:
                self._entries[name] = entry
            elif not isinstance(previous_entry, Unknown) and (
                previous_entry[0] is not resolver or not _same(previous_entry[1], entry[1])
            ):
                self._entries[name] = Unknown(f"export {name!r} is defined by several templates")
                if name in self._resolved:  # an import already read the first definition
                    del self._resolved[name]
                    self.missed.add(name)

    def defines(self, name: str) -> bool:
        """Whether a template read so far exports `name`."""
        return name in self._entries

    def has_stack(self, name: str) -> bool:
        """Whether a template read so far is the stack `name`."""
        return name in self._stacks

    def resolve(
        self, name: str, notes: Notes, built_from: frozenset[Assumption] = frozenset(), depth: int = 0
    ) -> _Tracked:
        """The value exported as `name`, resolved in the exporting template, and the defaults it rests
        on; `built_from` are the defaults the import's name was built from (for the remedy)."""
        if name in self._resolved:
            return self._resolved[name]
        found = self._entries.get(name)
        if found is None:
            self.missed.add(name)
            return self._not_exported(name, notes, built_from), frozenset()
        if isinstance(found, Unknown):
            result: _Tracked = (found, frozenset())
        else:
            self._resolved[name] = (Unknown(f"export {name!r} refers to itself"), frozenset())
            result = found[0].tracked(found[1], depth)
        self._resolved[name] = result
        return result

    def _not_exported(self, name: str, notes: Notes, built_from: frozenset[Assumption]) -> Unknown:
        """Why an import finds nothing, naming exports that differ only before the last `:` (a stack
        name: templates often build both from AWS::StackName) and the parameter that would match them."""
        reason = f"import {name!r} is not exported by any template given"
        tail = name.rsplit(":", 1)[-1] if ":" in name else None
        similar = sorted(
            (resolver.template, export)
            for export, entry in self._entries.items()
            if tail is not None and export.endswith(":" + tail) and not isinstance(entry, Unknown)
            for resolver in (entry[0],)
        )
        if not similar:
            return notes.unknown(reason, f"pass the template that exports {name!r} too")
        shown = ", ".join(f"{template} exports {export!r}" for template, export in similar[:3])
        reason += f" ({shown})"
        remedies = []
        for assumption in sorted(built_from):
            if name.count(assumption.value) != 1 or not assumption.value:
                continue
            before, after = name.split(assumption.value)
            for _, export in similar:
                if export.startswith(before) and export.endswith(after) and len(export) > len(before) + len(after):
                    value = export[len(before) : len(export) - len(after)]
                    remedies.append(f"pass --parameter {assumption.name}={value} (the import then names {export!r})")
        remedies.append(f"pass the template that exports {name!r} too")
        return notes.unknown(reason, ", or ".join(dict.fromkeys(remedies)))

    def stack_output(self, stack: str, output: str, notes: Notes, depth: int = 0) -> _Tracked:
        """Output `output` of the stack named `stack` (Fn::GetStackOutput), and the defaults it rests on."""
        found = self._stacks.get(stack)
        self._stacks_read.add(stack)
        if found is None:
            self.missed_stacks.add(stack)
            reason = f"stack {stack!r} is not among the templates given"
            return notes.unknown(reason, f"pass the template of stack {stack!r} too"), frozenset()
        if isinstance(found, Unknown):
            return found, frozenset()
        value = found.output(output, depth)
        if value is None:
            return Unknown(f"stack {stack!r} has no output {output}"), frozenset()
        return value

    def close(self) -> None:
        """Forget the resolvers (which refer back to the table), so that memory is freed at once."""
        self._entries.clear()
        self._resolved.clear()
        self._stacks.clear()

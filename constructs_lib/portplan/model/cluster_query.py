"""memberOf placement constraints: ECS's cluster query language, decided per Auto Scaling group.

An expression is `subject operator [argument]`, combined with and (&&), or (||), not (!) and
parentheses; `in` and `not_in` take a list `[a, b]`, `matches` (=~) and `not_matches` (!~) a Java
regular expression that must match the whole value (Amazon ECS Developer Guide, "Create
expressions to define container instances for Amazon ECS tasks").

A group's instances are described by what the templates tell about them: the attributes
`ecs.instance-type` (its instance types), `ecs.cpu-architecture` (x86_64 or arm64, from the
instance-type facts), `ecs.os-type` (linux or windows), `ecs.availability-zone` (when the
template names the zones) and the custom attributes its user data sets (ECS_INSTANCE_ATTRIBUTES).
The expression is evaluated on every kind of instance the group can start (each instance type in
each zone): it decides the group when all kinds agree. Any other subject (agentVersion,
registeredAt, task:group, ...) is known only at run time: `Unknown` naming the expression.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..instance_types import instance_type
from ..intrinsics import Part, ResourceRef, Unknown
from .entities import AutoScalingGroup

BUILT_IN = ("ecs.instance-type", "ecs.cpu-architecture", "ecs.os-type", "ecs.availability-zone")
"""The built-in attributes the templates can tell."""

_TOKEN = re.compile(r"\s*(\(|\)|\[|\]|,|&&|\|\||==|!=|>=|<=|=~|!~|>|<|!in\b|!exists\b|!|[^\s()\[\],=!<>~&|]+)")
_OPERATORS = {
    "==": "==", "equals": "==",
    "!=": "!=", "not_equals": "!=",
    ">": ">", "greater_than": ">",
    ">=": ">=", "greater_than_equal": ">=",
    "<": "<", "less_than": "<",
    "<=": "<=", "less_than_equal": "<=",
    "exists": "exists",
    "!exists": "!exists", "not_exists": "!exists",
    "in": "in",
    "!in": "!in", "not_in": "!in",
    "=~": "=~", "matches": "=~",
    "!~": "!~", "not_matches": "!~",
}  # fmt: skip
_NEGATED = {"!=": "==", "!exists": "exists", "!in": "in", "!~": "=~"}


def symbol(part: ResourceRef | Unknown) -> str:
    """A value set at deployment, written as a symbol: the same value gives the same symbol wherever it
    appears (an attribute in the user data, and the expression comparing it), so they still compare."""
    if isinstance(part, ResourceRef):
        identity = f"ref {part.template}/{part.logical_id}/{part.attribute or ''}"
    else:
        identity = f"unknown {part.reason}"
    # A digest: the symbol must read as one word to the expression's tokenizer.
    return "\x00" + hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16] + "\x00"


def symbolic_text(parts: list[Part]) -> str:
    """Rendered text (see Resolver.parts) with its deploy-time values as symbols."""
    return "".join(p if isinstance(p, str) else symbol(p) for p in parts)


def readable(text: str) -> str:
    """Text for messages: each deploy-time symbol shown as ${...}."""
    return re.sub("\x00[^\x00]*\x00", "${...}", text)


class QueryError(Exception):
    """An expression this module cannot read."""


@dataclass(frozen=True, slots=True)
class _Compare:
    subject: str
    operator: str
    argument: str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class _Not:
    operand: Any


@dataclass(frozen=True, slots=True)
class _Both:
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class _Either:
    left: Any
    right: Any


Instance = Mapping[str, "str | Unknown | None"]
"""What one kind of instance tells: attribute name -> value, None (not set) or Unknown."""


def member_of(expression: str | Unknown, group: AutoScalingGroup) -> bool | Unknown:
    """Whether every instance of `group` satisfies `expression` (True), none does (False), or which
    do cannot be told from the templates (Unknown, naming the expression)."""
    if isinstance(expression, Unknown):
        return Unknown(f"a memberOf expression is unknown ({expression.reason})")
    shown = readable(expression)
    try:
        tree = parse(expression)
    except QueryError as error:
        return Unknown(f"memberOf expression {shown!r} cannot be read ({error})")
    verdicts: set[bool] = set()
    for instance in instances(group):
        verdict = _evaluate(tree, instance)
        if isinstance(verdict, Unknown):
            return Unknown(f"memberOf expression {shown!r} cannot be decided on capacity {group.origin.label}: {verdict.reason}")
        verdicts.add(verdict)
    if len(verdicts) == 1:
        return verdicts.pop()
    return Unknown(
        f"memberOf expression {shown!r} holds on some instances of capacity {group.origin.label} and not "
        "on others (it mixes instance types or zones), and how many of each it runs is not known"
    )


def instances(group: AutoScalingGroup) -> Iterator[Instance]:
    """Every kind of instance the group can start: one per instance type and zone."""
    types: list[str | Unknown] = list(group.instance_types) or [
        Unknown(f"the instance type of capacity {group.origin.label} is unknown")
    ]
    if group.instance_types_doubt is not None:
        types.append(Unknown(group.instance_types_doubt))
    zones: list[str | Unknown] = (
        list(group.availability_zones)
        if isinstance(group.availability_zones, tuple) and group.availability_zones
        else [Unknown(f"the Availability Zones of capacity {group.origin.label} are not named in the template")]
    )
    custom = group.attributes
    for kind, zone in itertools.product(types, zones):
        instance: dict[str, str | Unknown | None] = {
            "ecs.instance-type": kind,
            "ecs.cpu-architecture": _architecture(kind),
            "ecs.os-type": group.os_type,
            "ecs.availability-zone": zone,
        }
        if isinstance(custom, Unknown):
            instance[""] = custom  # any custom attribute is unknown
        else:
            instance.update(custom)
        yield instance


def _architecture(kind: str | Unknown) -> str | Unknown:
    if isinstance(kind, Unknown):
        return kind
    facts = instance_type(kind)
    if facts is None:
        return Unknown(f"instance type {kind} is not in the instance-type facts")
    if "arm64" in facts.architectures and "x86_64" not in facts.architectures:
        return "arm64"
    if "x86_64" in facts.architectures:
        return "x86_64"
    return Unknown(f"the CPU architecture of instance type {kind} is not x86_64 or arm64")


# -- parsing ------------------------------------------------------------------------------------------


def parse(expression: str) -> Any:
    """The expression as a tree; QueryError when it does not follow the language."""
    tokens = _tokens(expression)
    parser = _Parser(tokens)
    tree = parser.disjunction()
    if parser.position != len(tokens):
        raise QueryError(f"unexpected {tokens[parser.position]!r}")
    return tree


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    text = expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"unexpected text at {text[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    if not tokens:
        raise QueryError("it is empty")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise QueryError("it ends too early")
        self.position += 1
        return token

    def disjunction(self) -> Any:
        tree = self.conjunction()
        while self.peek() in ("||", "or"):
            self.take()
            tree = _Either(tree, self.conjunction())
        return tree

    def conjunction(self) -> Any:
        tree = self.negation()
        while self.peek() in ("&&", "and"):
            self.take()
            tree = _Both(tree, self.negation())
        return tree

    def negation(self) -> Any:
        if self.peek() in ("!", "not"):
            self.take()
            return _Not(self.negation())
        if self.peek() == "(":
            self.take()
            tree = self.disjunction()
            if self.take() != ")":
                raise QueryError("a parenthesis is not closed")
            return tree
        return self.comparison()

    def comparison(self) -> _Compare:
        subject = self.take()
        if subject in _OPERATORS or subject in ("(", ")", "[", "]", ","):
            raise QueryError(f"{subject!r} where a subject is expected")
        word = self.take()
        operator = _OPERATORS.get(word)
        if operator is None:
            raise QueryError(f"unknown operator {word!r}")
        if operator in ("exists", "!exists"):
            return _Compare(subject, operator, None)
        if operator in ("in", "!in"):
            if self.take() != "[":
                raise QueryError(f"{word} needs a list [a, b, ...]")
            items = []
            while True:
                items.append(self.take())
                separator = self.take()
                if separator == "]":
                    break
                if separator != ",":
                    raise QueryError("a list item is followed by neither ',' nor ']'")
            return _Compare(subject, operator, tuple(items))
        return _Compare(subject, operator, self.take())


# -- evaluating ---------------------------------------------------------------------------------------


def _evaluate(tree: Any, instance: Instance) -> bool | Unknown:
    """Kleene's three-valued logic: False beats Unknown in `and`, True beats it in `or`."""
    if isinstance(tree, _Compare):
        return _compare(tree, instance)
    if isinstance(tree, _Not):
        value = _evaluate(tree.operand, instance)
        return value if isinstance(value, Unknown) else not value
    left, right = _evaluate(tree.left, instance), _evaluate(tree.right, instance)
    decisive = isinstance(tree, _Either)  # True decides an `or`, False an `and`
    for value in (left, right):
        if value is decisive:
            return decisive
    for value in (left, right):
        if isinstance(value, Unknown):
            return value
    return not decisive


def _compare(node: _Compare, instance: Instance) -> bool | Unknown:
    if not node.subject.startswith("attribute:"):
        return Unknown(f"{node.subject} is known only when the instances run")
    name = node.subject[len("attribute:") :]
    if name in instance:
        value = instance[name]
    elif name.startswith("ecs."):
        return Unknown(f"attribute {name} is not one the templates tell (they tell {', '.join(BUILT_IN)})")
    elif isinstance(instance.get(""), Unknown):
        value = instance[""]
    else:
        return Unknown(
            f"custom attribute {name} is not set by the instances' user data (ECS_INSTANCE_ATTRIBUTES); it may be "
            "put on them later"
        )
    if isinstance(value, Unknown):
        return value
    operator = node.operator
    if operator in _NEGATED:
        found = _compare(_Compare(node.subject, _NEGATED[operator], node.argument), instance)
        return found if isinstance(found, Unknown) else not found
    if operator == "exists":
        return value is not None
    if value is None:
        return False
    if operator in ("==", "in"):
        arguments = (node.argument,) if operator == "==" else tuple(node.argument or ())
        if value in arguments:
            return True  # the same text, symbols included: the same value at deployment
        if "\x00" in value or any("\x00" in str(a) for a in arguments):
            return Unknown(f"attribute {name} or the value it is compared with is set at deployment")
        return False
    if "\x00" in value:
        return Unknown(f"attribute {name} is set at deployment")
    if operator == "=~":
        try:
            return re.fullmatch(str(node.argument), value) is not None
        except re.error:
            return Unknown(f"pattern {node.argument!r} cannot be read")
    return Unknown(f"ordering comparisons ({operator}) on attribute {name} are not decided here")

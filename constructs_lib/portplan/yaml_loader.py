"""YAML templates, with CloudFormation's short-form tags turned into their long forms.

Kept apart from the reader so that PyYAML is imported only when a YAML file is actually read.

Bounded on any input: the document is composed from the parser's events by a loop (libyaml's own
composer recurses once per level and overflows the C stack on deep input), nesting is limited to
`MAX_YAML_DEPTH` levels, and aliases may not make the document more than `ALIAS_ALLOWANCE` plus
`ALIAS_RATIO` times its own node count when expanded (an alias bomb of a few lines otherwise
expands to billions of nodes for whatever walks the values later). CloudFormation itself accepts
neither aliases nor hash merges; the checker reads them within those bounds.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_YAML_DEPTH = 100
"""Mappings and lists nested deeper than this are refused (CloudFormation templates use about 15)."""
ALIAS_ALLOWANCE = 100_000
ALIAS_RATIO = 10
"""Aliases may expand a document to ALIAS_ALLOWANCE + ALIAS_RATIO * (nodes written) nodes, no more."""

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FUNCTIONS = (
    "Base64",
    "Cidr",
    "And",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "GetAtt",
    "Transform",
    "ToJsonString",
    "Length",
)
_UNSUPPORTED = ("binary", "omap", "pairs", "set")
"""Standard tags CloudFormation does not support (timestamps are read as text instead)."""


class YamlError(Exception):
    """A YAML document that does not parse: `where` (line and column, if known) and `problem`."""

    def __init__(self, problem: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.problem = problem
        self.where = where


class _Refused(yaml.MarkedYAMLError):
    """A document this loader will not read (too deep, aliases expanding too far)."""


class _TemplateLoader(_BASE):  # type: ignore[misc]
    """A safe loader that knows CloudFormation's tags, leaves dates as text, and composes the
    document iteratively within the bounds above."""

    def get_single_node(self) -> Node | None:
        self.get_event()  # stream start
        document = None
        if not self.check_event(StreamEndEvent):
            self.get_event()  # document start
            document = self._compose()
            self.get_event()  # document end
        if not self.check_event(StreamEndEvent):
            event = self.get_event()
            raise _Refused(None, None, "a second document (a template is one YAML document)", event.start_mark)
        self.get_event()
        return document

    def _compose(self) -> Node:
        """The document's root node, built from parser events with an explicit stack."""
        anchors: dict[str, tuple[Node, int]] = {}  # anchor -> (node, expanded size)
        open_anchors: set[str] = set()
        stack: list[tuple[Node, str | None, list[int], list[Node]]] = []  # (node, anchor, [size], [pending key])
        written = expanded = 0
        get_event, resolve = self.get_event, self.resolve
        while True:
            event = get_event()
            kind = type(event)
            node: Node
            size = 1
            if kind is ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(ScalarNode, event.value, event.implicit)
                node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
                written += 1
                expanded += 1
                if event.anchor is not None:
                    self._anchor(event, node, anchors, open_anchors)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(stack) >= MAX_YAML_DEPTH:
                    raise _Refused(None, None, f"nests deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
                node_kind = MappingNode if kind is MappingStartEvent else SequenceNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(node_kind, None, event.implicit)
                node = node_kind(tag, [], event.start_mark, None, event.flow_style)
                written += 1
                expanded += 1
                if event.anchor is not None:
                    if event.anchor in anchors or event.anchor in open_anchors:
                        raise _Refused(None, None, "a duplicate anchor", event.start_mark)
                    open_anchors.add(event.anchor)
                stack.append((node, event.anchor, [1], []))
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                node, anchor, total, _ = stack.pop()
                node.end_mark = event.end_mark
                size = total[0]
                if anchor is not None:
                    open_anchors.discard(anchor)
                    anchors[anchor] = (node, size)
            elif kind is AliasEvent:
                found = anchors.get(event.anchor)
                if found is None:
                    problem = "an alias to a node that contains it" if event.anchor in open_anchors else "an undefined alias"
                    raise _Refused(None, None, problem, event.start_mark)
                node, size = found
                expanded += size
                if expanded > ALIAS_ALLOWANCE + ALIAS_RATIO * written:
                    raise _Refused(
                        None,
                        None,
                        f"aliases expand the document past {ALIAS_ALLOWANCE:,} + {ALIAS_RATIO} x its {written:,} nodes "
                        "(CloudFormation accepts no aliases)",
                        event.start_mark,
                    )
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise _Refused(None, None, f"unexpected {kind.__name__}", event.start_mark)
            if not stack:
                return node
            parent, _, total, pending = stack[-1]
            total[0] += size
            if type(parent) is SequenceNode:
                parent.value.append(node)
            elif pending:
                parent.value.append((pending.pop(), node))
            else:
                pending.append(node)

    @staticmethod
    def _anchor(event: Any, node: Node, anchors: dict[str, tuple[Node, int]], open_anchors: set[str]) -> None:
        if event.anchor in anchors or event.anchor in open_anchors:
            raise _Refused(None, None, "a duplicate anchor", event.start_mark)
        anchors[event.anchor] = (node, 1)

    def construct_undefined(self, node: Node) -> Any:
        # The tag's own text is not repeated: it comes from the file and may hold anything.
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "a tag the port plan does not read (CloudFormation's are !Ref, !GetAtt, !Sub, !Join and the other "
            "short forms of its functions)",
            node.start_mark,
        )

    def construct_yaml_int(self, node: Node) -> Any:
        try:
            return super().construct_yaml_int(_short_number(node))
        except (ValueError, IndexError):  # YAML 1.1 forms PyYAML cannot convert, such as `0b_`
            raise _Refused(None, None, "a malformed number", node.start_mark) from None

    def construct_yaml_float(self, node: Node) -> Any:
        try:
            return super().construct_yaml_float(_short_number(node))
        except (ValueError, IndexError):
            raise _Refused(None, None, "a malformed number", node.start_mark) from None


def _short_number(node: Node) -> Node:
    """The node, unless its number is written with more digits than Python converts (4,300)."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
    if limit and len(node.value) > limit:
        raise _Refused(None, None, f"a number written with more than {limit:,} digits", node.start_mark)
    return node


def _construct_node(loader: Any, node: Node) -> Any:
    if isinstance(node, ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


def _long_form(key: str) -> Any:
    # A generator, as PyYAML's own collection constructors are: the value is filled in once the
    # caller holds the container, so nested functions are built by a loop, not by recursion.
    def construct(loader: Any, node: Node) -> Any:
        holder: dict[str, Any] = {}
        yield holder
        value = _construct_node(loader, node)
        if key == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1) if "." in value else [value]
        holder[key] = value

    return construct


def _timestamp_as_text(loader: Any, node: Node) -> Any:
    return loader.construct_scalar(node)


_TemplateLoader.add_constructor("!Ref", _long_form("Ref"))
_TemplateLoader.add_constructor("!Condition", _long_form("Condition"))
for _name in _FUNCTIONS:
    _TemplateLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))
_TemplateLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
_TemplateLoader.add_constructor("tag:yaml.org,2002:int", _TemplateLoader.construct_yaml_int)
_TemplateLoader.add_constructor("tag:yaml.org,2002:float", _TemplateLoader.construct_yaml_float)
for _name in _UNSUPPORTED:
    _TemplateLoader.add_constructor(f"tag:yaml.org,2002:{_name}", _TemplateLoader.construct_undefined)
_TemplateLoader.add_constructor(None, _TemplateLoader.construct_undefined)


def parse_yaml(data: bytes | str) -> Any:
    """Parse one YAML document; raise YamlError with a one-line message on failure."""
    try:
        return yaml.load(data, Loader=_TemplateLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(str(error.problem or error.context or "malformed").split())
        where = f"at line {mark.line + 1} column {mark.column + 1}" if mark else None
        raise YamlError(problem, where) from None
    except RecursionError:
        raise YamlError("merge keys (<<) or keys nest too deeply") from None
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as error:
        raise YamlError(" ".join(str(error).split())) from None

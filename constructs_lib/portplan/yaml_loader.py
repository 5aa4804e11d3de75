"""YAML templates, with CloudFormation's short-form tags turned into their long forms.

Kept apart from the reader so that PyYAML is imported only when a YAML file is actually read.
"""

from __future__ import annotations

from typing import Any

import yaml

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


class YamlError(Exception):
    """A YAML document that does not parse: `where` (line and column, if known) and `problem`."""

    def __init__(self, problem: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.problem = problem
        self.where = where


class _TemplateLoader(_BASE):  # type: ignore[misc]
    """A safe loader that knows CloudFormation's tags and leaves dates as text."""


def _construct_node(loader: Any, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _long_form(key: str) -> Any:
    def construct(loader: Any, node: yaml.Node) -> dict[str, Any]:
        value = _construct_node(loader, node)
        if key == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1) if "." in value else [value]
        return {key: value}

    return construct


def _timestamp_as_text(loader: Any, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)


_TemplateLoader.add_constructor("!Ref", _long_form("Ref"))
_TemplateLoader.add_constructor("!Condition", _long_form("Condition"))
for _name in _FUNCTIONS:
    _TemplateLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))
_TemplateLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def parse_yaml(data: bytes | str) -> Any:
    """Parse one YAML document; raise YamlError with a one-line message on failure."""
    try:
        return yaml.load(data, Loader=_TemplateLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(str(error.problem or error.context or "malformed").split())
        where = f"at line {mark.line + 1} column {mark.column + 1}" if mark else None
        raise YamlError(problem, where) from None
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError) as error:
        raise YamlError(" ".join(str(error).split())) from None

"""Parameter values given on the command line: `--parameter NAME=VALUE` and `--parameter STACK:NAME=VALUE`.

`NAME=VALUE` sets parameter NAME of every top-level stack that declares it; `STACK:NAME=VALUE` only
of the stack whose name (the cloud assembly's stack name, else the template's file name without
its suffixes) or display path is STACK, and wins over `NAME=VALUE` there. A nested stack's
parameters come from its parent's stack resource, never from the command line. A value given for
no parameter of any top-level stack, or one CloudFormation would refuse (not among the parameter's
AllowedValues, not a number for a Number parameter), is an input error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .reader import LoadedTemplate, PortPlanInputError

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A Number parameter's value: an integer or a decimal in ASCII digits (Python's float() also takes
`nan`, `inf`, `1_000` and other scripts' digits)."""


@dataclass(frozen=True)
class _Given:
    text: str
    stack: str | None
    name: str
    value: str


@dataclass
class ParameterValues:
    """Parameter values given by the user, and which of them a stack used."""

    items: list[_Given] = field(default_factory=list)
    _used: set[int] = field(default_factory=set)
    _nested: dict[str, str] = field(default_factory=dict)  # parameter name -> a nested template declaring it

    @classmethod
    def parse(cls, texts: Iterable[str]) -> ParameterValues:
        """Read `NAME=VALUE` / `STACK:NAME=VALUE` items; a malformed one is a PortPlanInputError."""
        items = []
        for text in texts:
            target, equals, value = text.partition("=")
            stack, colon, name = target.rpartition(":")
            if not equals or not name.strip():
                raise PortPlanInputError(f"--parameter {text}: expected NAME=VALUE or STACK:NAME=VALUE")
            items.append(_Given(text, stack.strip() if colon else None, name.strip(), value))
        return cls(items)

    def for_stack(self, template: LoadedTemplate) -> dict[str, str]:
        """The values given for the parameters `template` declares (a top-level stack)."""
        declared = template.body.get("Parameters")
        declared = declared if isinstance(declared, dict) else {}
        if template.parent is not None:
            for name in declared:
                self._nested.setdefault(str(name), template.name)
            return {}
        values: dict[str, str] = {}
        for index, item in enumerate(self.items):  # STACK:NAME after NAME, so it wins
            if item.stack is None and item.name in declared:
                values[item.name] = self._checked(item, template, declared[item.name])
                self._used.add(index)
        for index, item in enumerate(self.items):
            if item.stack is not None and item.stack in (template.stack_name, template.name) and item.name in declared:
                values[item.name] = self._checked(item, template, declared[item.name])
                self._used.add(index)
        return values

    def check_all_used(self) -> None:
        """Raise PortPlanInputError for a value no top-level stack took."""
        for index, item in enumerate(self.items):
            if index in self._used:
                continue
            if item.name in self._nested:
                raise PortPlanInputError(
                    f"--parameter {item.text}: parameter {item.name} belongs to nested stack "
                    f"{self._nested[item.name]}, whose parent sets it: give its value to the parent's parameter instead"
                )
            if item.stack is not None:
                raise PortPlanInputError(
                    f"--parameter {item.text}: no top-level stack {item.stack} given declares parameter {item.name}"
                )
            raise PortPlanInputError(
                f"--parameter {item.text}: no top-level template given declares parameter {item.name}"
            )

    @staticmethod
    def _checked(item: _Given, template: LoadedTemplate, declaration: Any) -> str:
        declaration = declaration if isinstance(declaration, Mapping) else {}
        allowed = declaration.get("AllowedValues")
        if isinstance(allowed, list) and allowed and item.value not in [str(v) for v in allowed]:
            shown = ", ".join(str(v) for v in allowed[:10])
            raise PortPlanInputError(
                f"--parameter {item.text}: {template.name} allows only {shown} for parameter {item.name}"
            )
        if declaration.get("Type") == "Number" and not _NUMBER.fullmatch(item.value.strip()):
            raise PortPlanInputError(f"--parameter {item.text}: parameter {item.name} of {template.name} is a Number")
        return item.value

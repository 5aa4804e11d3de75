"""The nested-stack family: AWS::CloudFormation::Stack and SAM AWS::Serverless::Application
resources whose template is not among those read (the reader links the others)."""

from __future__ import annotations

from typing import Any

from ..intrinsics import Unknown
from ..reader import STACK_TYPES
from .entities import Origin
from .resources import FamilyBuilder, References, Resources


class NestedStackBuilder(FamilyBuilder):
    """Notes the nested stacks whose template is not read, with why."""

    reads = STACK_TYPES

    def __init__(self, refs: References) -> None:
        super().__init__(refs)
        self.unlinked: list[tuple[Origin, Unknown]] = []

    def add(self, raw: Resources) -> None:
        for kind in sorted(self.reads):
            for item in raw.get(kind, ()):
                child = item.resolver.children.get(item.logical_id)
                if isinstance(child, Unknown):
                    self.unlinked.append((item.origin, child))

    def finish(self, fields: dict[str, Any]) -> None:
        fields["unlinked_stacks"] = tuple(self.unlinked)

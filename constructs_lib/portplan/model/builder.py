"""Build the port plan's model from templates: each resource family's builder reads its types.

`build_model` reads the resources of the types some family reads, once, and resolves references
within the templates given, across stacks too (`Fn::ImportValue` of another template's export).
Adding a resource type is adding a `FamilyBuilder` to `FAMILIES` (or a type to a family's `reads`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ..intrinsics import ExportTable, Resolver
from ..reader import LoadedTemplate
from .application_autoscaling import ApplicationAutoScalingBuilder
from .autoscaling import AutoScalingBuilder
from .ec2 import Ec2Builder
from .ecs import EcsBuilder
from .elbv2 import Elbv2Builder
from .entities import PortPlan
from .pools import assign_pools
from .resources import FamilyBuilder, RawResource, References, mapping_of

FAMILIES: tuple[type[FamilyBuilder], ...] = (
    EcsBuilder,
    AutoScalingBuilder,
    Elbv2Builder,
    Ec2Builder,
    ApplicationAutoScalingBuilder,
)
"""The resource families the model reads, each with the CloudFormation types it models."""


class TemplatesOutOfOrder(Exception):
    """Templates read one at a time referred to one that came later: read them all at once instead."""


def build_model(templates: Iterable[LoadedTemplate]) -> PortPlan:
    """Build the port plan of `templates`, resolving references across them.

    A sequence is read as a whole: references may point anywhere in it. Any other iterable is
    consumed one template at a time, each modelled and let go before the next is read, which keeps
    memory small; a template must then come after those it imports from (cloud assemblies list
    stacks that way), else TemplatesOutOfOrder is raised: read the templates as a sequence then.
    """
    builder = ModelBuilder()
    try:
        if isinstance(templates, Sequence):
            for raw in [builder.index(template) for template in templates]:
                builder.add(raw)
        else:
            for template in templates:
                builder.add(builder.index(template))
            if builder.forward_references():
                raise TemplatesOutOfOrder("a template refers to one read after it")
        return builder.finish()
    finally:
        builder.exports.close()


class ModelBuilder:
    """Turns templates into model objects: `index` each template, `add` it, then `finish`.

    `index` registers what other templates may refer to (exports, named resources, launch
    templates); `add` hands the template's resources to their families; `finish` lets each family
    join what spans templates and assigns the capacity pools.
    """

    def __init__(self) -> None:
        self.exports = ExportTable()
        self.template_paths: dict[str, str] = {}
        named: dict[str, str] = {}
        for family in FAMILIES:
            named.update(family.named_by)
        self.refs = References(named)
        self.families = [family(self.refs) for family in FAMILIES]
        self.read_types = frozenset().union(*(family.reads for family in FAMILIES))

    def index(self, template: LoadedTemplate) -> dict[str, list[RawResource]]:
        """Register what other templates may refer to; return the template's resources by type."""
        resolver = Resolver(template.name, template.body, template.stack_name or template.name)
        self.exports.add(resolver, mapping_of(template.body.get("Outputs")))
        self.template_paths[template.name] = template.path
        kinds: dict[str, Any] = {}
        raw: dict[str, list[RawResource]] = defaultdict(list)
        read_types = self.read_types
        for logical_id, resource in resolver.resources.items():
            if type(resource) is dict:
                kind = kinds[logical_id] = resource.get("Type")
                if kind in read_types:
                    raw[kind].append(RawResource(resolver, template.path, logical_id, resource))
        # The resolver needs only which resources exist and their types: let the template go.
        resolver.resources = self.refs.kinds[template.name] = kinds
        self.refs.register_names(raw)
        for family in self.families:
            family.index(raw)
        return raw

    def add(self, raw: dict[str, list[RawResource]]) -> None:
        """Model the resources of one indexed template."""
        for family in self.families:
            family.add(raw)

    def forward_references(self) -> bool:
        """Whether a template looked for an export or a named resource that a later one defines."""
        if any(self.exports.defines(name) for name in self.exports.missed):
            return True
        return any(self.refs.find(kind, name) is not None for kind, name in self.refs.missed_names)

    def finish(self) -> PortPlan:
        """Join what spans templates and assign the capacity pools."""
        fields: dict[str, Any] = {}
        for family in self.families:
            family.finish(fields)
        plan = PortPlan(template_paths=self.template_paths, **fields)
        pools, landing = assign_pools(plan)
        return dataclasses.replace(plan, pools=pools, landing=landing)

"""Build the port plan's model from templates: each resource family's builder reads its types.

`build_model` reads the resources of the types some family reads, once, and resolves references
within the templates given, across stacks too (`Fn::ImportValue` of another template's export,
`Fn::GetStackOutput`, a nested stack's parameters and outputs). Resources whose `Condition` is
false are left out. Adding a resource type is adding a `FamilyBuilder` to `FAMILIES` (or a type
to a family's `reads`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..intrinsics import ExportTable, Notes, Resolver, Unknown
from ..parameters import ParameterValues
from ..reader import STACK_TYPES, LoadedTemplate, PortPlanInputError
from .application_autoscaling import ApplicationAutoScalingBuilder
from .autoscaling import AutoScalingBuilder
from .ec2 import Ec2Builder
from .ecs import EcsBuilder
from .elbv2 import Elbv2Builder
from .entities import PortPlan
from .pools import assign_pools
from .resources import FamilyBuilder, RawResource, References, mapping_of
from .stacks import NestedStackBuilder

FAMILIES: tuple[type[FamilyBuilder], ...] = (
    EcsBuilder,
    AutoScalingBuilder,
    Elbv2Builder,
    Ec2Builder,
    ApplicationAutoScalingBuilder,
    NestedStackBuilder,
)
"""The resource families the model reads, each with the CloudFormation types it models."""


class TemplatesOutOfOrder(Exception):
    """Templates read one at a time referred to one that came later: read them all at once instead."""


def build_model(templates: Iterable[LoadedTemplate], parameters: ParameterValues | None = None) -> PortPlan:
    """Build the port plan of `templates`, resolving references across them.

    `parameters` are the values given for the top-level stacks' parameters (else their defaults);
    a value no stack takes raises PortPlanInputError.

    A sequence is read as a whole: references may point anywhere in it. Any other iterable is
    consumed one template at a time, each modelled and let go before the next is read, which keeps
    memory small; a template must then come after those it imports from (cloud assemblies list
    stacks that way), else TemplatesOutOfOrder is raised: read the templates as a sequence then.
    """
    builder = ModelBuilder(parameters)
    try:
        if isinstance(templates, Sequence):
            indexed = []
            for template in templates:
                with _about(template):
                    indexed.append(builder.index(template))
            for template, raw in zip(templates, indexed):
                with _about(template):
                    builder.add(raw)
        else:
            for template in templates:
                with _about(template):
                    builder.add(builder.index(template))
            if builder.forward_references():
                raise TemplatesOutOfOrder("a template refers to one read after it")
        return builder.finish()
    finally:
        builder.exports.close()


@contextmanager
def _about(template: LoadedTemplate) -> Iterator[None]:
    """Turn a failure while modelling `template` into a PortPlanInputError naming it: a user
    reports the file, never a traceback."""
    try:
        yield
    except PortPlanInputError:
        raise
    except RecursionError:
        raise PortPlanInputError(f"{template.name}: nests too deeply to check") from None
    except MemoryError:
        raise PortPlanInputError(f"{template.name}: out of memory while checking it") from None
    except Exception as error:  # noqa: BLE001 - a bug shows as one line naming the file (the cause stays chained)
        detail = " ".join(str(error).split())[:300]
        raise PortPlanInputError(
            f"{template.name}: internal error ({type(error).__name__}: {detail}); please report it"
        ) from error


class ModelBuilder:
    """Turns templates into model objects: `index` each template, `add` it, then `finish`.

    `index` registers what other templates may refer to (exports, named resources, launch
    templates); `add` hands the template's resources to their families; `finish` lets each family
    join what spans templates and assigns the capacity pools.
    """

    def __init__(self, parameters: ParameterValues | None = None) -> None:
        self.exports = ExportTable()
        self.notes = Notes()
        self.parameters = parameters or ParameterValues()
        self.template_paths: dict[str, str] = {}
        self.resolvers: dict[str, Resolver] = {}
        self.passed: dict[tuple[str, str], Any] = {}  # (parent, stack resource) -> its Parameters
        named: dict[str, str] = {}
        for family in FAMILIES:
            named.update(family.named_by)
        self.refs = References(named, self.notes)
        self.families = [family(self.refs) for family in FAMILIES]
        self.read_types = frozenset().union(*(family.reads for family in FAMILIES))

    def index(self, template: LoadedTemplate) -> dict[str, list[RawResource]]:
        """Register what other templates may refer to; return the template's resources by type."""
        raw: dict[str, list[RawResource]] = defaultdict(list)
        resolver = self._resolver(template)
        if resolver is None:
            return raw
        self.exports.add(resolver, mapping_of(template.body.get("Outputs")))
        self.template_paths[template.name] = template.path
        kinds: dict[str, Any] = {}
        read_types = self.read_types
        notes = self.notes
        created = self.refs.conditional.get((template.parent or "", template.parent_resource or ""))
        for logical_id, resource in resolver.resources.items():
            if type(resource) is not dict:
                continue
            kind = resource.get("Type")
            if type(kind) is not str:
                kind = None  # not a type at all: nothing refers to it by type
            if "Condition" in resource and (condition := resource["Condition"]) is not None:
                notes.focus = (template.name, logical_id)
                truth = resolver.condition(condition)
                notes.focus = None
                if truth is False:
                    resolver.absent[logical_id] = f"{logical_id} of {template.name} is not created: condition {condition} is false"
                    continue
                if isinstance(truth, Unknown):
                    self.refs.conditional[(template.name, logical_id)] = Unknown(
                        f"whether {logical_id} is created depends on {truth.reason}"
                    )
            if created is not None:
                self.refs.conditional.setdefault((template.name, logical_id), created)
            kinds[logical_id] = kind
            if "Metadata" in resource:
                metadata = resource["Metadata"]
                if type(metadata) is dict and "AWS::CloudFormation::Init" in metadata:
                    self.refs.cfn_init[(template.name, logical_id)] = (resolver, metadata["AWS::CloudFormation::Init"])
            if kind in STACK_TYPES:
                properties = resource.get("Properties")
                parameters = properties.get("Parameters") if type(properties) is dict else None
                self.passed[(template.name, logical_id)] = parameters
            if kind in read_types:
                raw[kind].append(RawResource(resolver, template.path, logical_id, resource))
        # The resolver needs only which resources exist and their types: let the template go.
        resolver.resources = self.refs.kinds[template.name] = kinds
        self.refs.register_names(raw)
        for family in self.families:
            family.index(raw)
        return raw

    def _resolver(self, template: LoadedTemplate) -> Resolver | None:
        """The resolver of one template instance: a top-level stack with the values given for its
        parameters, or a nested stack fed by its parent's stack resource; None when that stack
        resource is not created (its condition is false) or its parent was not read."""
        given = self.parameters.for_stack(template)
        if template.parent is None:
            resolver = Resolver(template.name, template.body, template.stack_name or template.name, given=given)
        else:
            parent = self.resolvers.get(template.parent)
            resource = template.parent_resource or ""
            if parent is None or resource in parent.absent or resource not in parent.resources:
                return None
            passed = parent.mapping(self.passed.get((template.parent, resource)))
            resolver = Resolver(
                template.name, template.body, None, parent=parent, passed=passed if isinstance(passed, dict) else {}
            )
            parent.children[resource] = resolver
        resolver.notes = self.notes
        for logical_id, reason, remedy in template.unlinked:
            resolver.children[logical_id] = self.notes.unknown(reason, remedy)
        self.resolvers[template.name] = resolver
        return resolver

    def add(self, raw: dict[str, list[RawResource]]) -> None:
        """Model the resources of one indexed template."""
        for family in self.families:
            family.add(raw)

    def forward_references(self) -> bool:
        """Whether a template looked for an export or a named resource that a later one defines."""
        if any(self.exports.defines(name) for name in self.exports.missed):
            return True
        if any(self.exports.has_stack(name) for name in self.exports.missed_stacks):
            return True
        for template, logical_id in self.notes.missed_children:
            found = self.resolvers.get(template)
            if found is not None and logical_id in found.children:
                return True
        return any(self.refs.find(kind, name) is not None for kind, name in self.refs.missed_names)

    def finish(self) -> PortPlan:
        """Join what spans templates and assign the capacity pools."""
        self.parameters.check_all_used()
        fields: dict[str, Any] = {}
        for family in self.families:
            family.finish(fields)
        plan = PortPlan(
            template_paths=self.template_paths,
            assumptions={key: frozenset(found) for key, found in self.notes.assumed.items() if found},
            remedies=dict(self.notes.remedies),
            conditional=dict(self.refs.conditional),
            **fields,
        )
        pools, landing = assign_pools(plan)
        return dataclasses.replace(plan, pools=pools, landing=landing)

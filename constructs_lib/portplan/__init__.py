"""The port plan: check ECS host ports, capacity and balancer paths in CloudFormation templates.

Plain Python over the templates' JSON: no aws_cdk import, so the CLI starts no jsii runtime.
Data flows one way: templates -> reader -> model -> rules -> findings -> doors (CLI, CDK plugin).

    from constructs_lib.portplan import check_paths
    for finding in check_paths(["cdk.out"]):
        print(finding.severity, finding.rule, finding.message)
"""

from __future__ import annotations

from collections.abc import Sequence

from ._gc import paused_gc
from .findings import Finding
from .intrinsics import Unknown
from .model import PortPlan, TemplatesOutOfOrder, build_model
from .parameters import ParameterValues
from .reader import LoadedTemplate, PortPlanInputError, iter_templates, load_templates
from .rules import RULES, Rule, decided_services, run_rules

__all__ = [
    "RULES",
    "Finding",
    "LoadedTemplate",
    "ParameterValues",
    "PortPlan",
    "PortPlanInputError",
    "Rule",
    "TemplatesOutOfOrder",
    "Unknown",
    "build_model",
    "check_paths",
    "check_templates",
    "decided_services",
    "iter_templates",
    "load_templates",
    "plan_paths",
    "run_rules",
]


def check_templates(templates: Sequence[LoadedTemplate]) -> list[Finding]:
    """Run every rule on templates already loaded; findings come deduplicated and in a stable order."""
    with paused_gc():
        return run_rules(build_model(templates))


def plan_paths(paths: Sequence[str], parameters: Sequence[str] = ()) -> PortPlan:
    """Read the templates under `paths` and build their port plan.

    `parameters` are `NAME=VALUE` or `STACK:NAME=VALUE` values for the top-level stacks' parameters
    (see `parameters.ParameterValues`); the others take their defaults.
    Templates are modelled one at a time and let go (cloud assemblies list producers first); when
    one refers to a template read after it, all are read again and modelled together.
    Raises PortPlanInputError (a one-line message naming the file or value) for input that cannot be read.
    """
    with paused_gc():
        try:
            return build_model(iter_templates(paths), ParameterValues.parse(parameters))
        except TemplatesOutOfOrder:
            return build_model(load_templates(paths), ParameterValues.parse(parameters))


def check_paths(paths: Sequence[str], parameters: Sequence[str] = ()) -> list[Finding]:
    """Load templates from files, directories or cloud assemblies and check them.

    Raises PortPlanInputError (a one-line message naming the file or value) for input that cannot be read.
    """
    with paused_gc():
        return run_rules(plan_paths(paths, parameters))

"""The synth door of the port plan: a CDK policy-validation plugin.

Register it once per app; it reads every synthesized template, checks the port plan, and
fails ``cdk synth`` on errors (warnings print and pass)::

    Validations.of(app).add_plugins(PortPlanChecks())

Accept a finding on the construct it is reported on (the rules table says which), with a reason
the report keeps::

    Validations.of(task_definition).acknowledge(
        Acknowledgment(id="port-plan::static-port-in-dynamic-range", reason="...")
    )

A finding reported on a task definition is about its services' tasks: an acknowledgment on every
service that runs the task definition (or on a construct above each) accepts it too, and the
report keeps it under those services with their reasons.

Nested stacks are checked with their parents (their templates are the parents' file assets), and
their findings carry the nested constructs' paths. Stacks inside a ``Stage`` are checked too, but
the CDK CLI keeps only the findings of the stacks it selects, and ``cdk synth`` without stack
names selects the top-level stacks alone: so, when the CLI runs the app, the errors in a Stage's
stacks that are not acknowledged are also reported without a construct (one violation per rule),
which no selection drops, and synth fails. ``cdk synth '**'`` shows them where they are.

Templates it cannot read (or a limit of the port plan's reader: see the README's "Safe on any
input") fail synth with one violation that names the file and the problem, never a Python
traceback through jsii; files it skipped are named on stderr, one line each.
"""

from __future__ import annotations

import os
import sys
import typing
import warnings
from typing import Dict, List, Optional, Sequence

import aws_cdk as cdk
import jsii
from constructs import IConstruct

from constructs_lib.portplan import RULES, Finding, PortPlan, PortPlanInputError, build_model, load_templates, run_rules
from constructs_lib.portplan._gc import paused_gc
from constructs_lib.portplan.reader import SkippedPathWarning
from constructs_lib.portplan.terminal import printable

PLUGIN_NAME = "port-plan"
PLUGIN_VERSION = "0.1.0"
INPUT_RULE = "unreadable-input"
"""The rule name of the one violation reported when the templates cannot be checked at all."""
CLI_VERSION_ENV = "CDK_CLI_VERSION"
"""Set by the CDK CLI in the environment of the app it runs."""


@jsii.implements(cdk.IPolicyValidationPlugin)
class PortPlanChecks:
    """Checks host ports, capacity, deployments and balancer paths of every ECS service.

    :param rules: the rule ids to run. Default: - every rule in the catalogue
        (``constructs_lib.portplan.RULES``). An unknown id is an error.
    """

    def __init__(self, *, rules: Optional[Sequence[str]] = None) -> None:
        known = [rule.id for rule in RULES]
        if rules is not None:
            unknown = sorted(set(rules) - set(known))
            if unknown:
                raise ValueError(
                    f"PortPlanChecks: unknown rule ids {', '.join(unknown)}; known: {', '.join(known)}."
                )
        self._rules = list(rules) if rules is not None else known

    @property
    def name(self) -> str:
        """Shown in the validation report; acknowledgments use ``port-plan::<rule>``."""
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return PLUGIN_VERSION

    @property
    def rule_ids(self) -> List[str]:
        return list(self._rules)

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        stacks = list(context.stack_templates)
        paths = [stack.template_path for stack in stacks]
        try:
            with warnings.catch_warnings(record=True) as skipped, paused_gc():
                warnings.simplefilter("always", SkippedPathWarning)
                plan = build_model(load_templates(paths))
                checked = run_rules(plan)
        except PortPlanInputError as error:
            return _failure(str(error))
        except MemoryError:
            return _failure("out of memory while checking the templates")
        except Exception as error:  # noqa: BLE001 - a clear failure, not a traceback through jsii
            detail = " ".join(str(error).split())[:300]
            return _failure(f"internal error ({type(error).__name__}: {detail}); please report it")
        for message in dict.fromkeys(str(w.message) for w in skipped if issubclass(w.category, SkippedPathWarning)):
            print(f"{PLUGIN_NAME}: {printable(message)}", file=sys.stderr)
        findings = [f for f in checked if f.rule in self._rules]
        app = context.app_construct
        covering = [_acknowledging_services(app, plan, f) for f in findings]
        violations = [_violation(f, services) for f, services in zip(findings, covering)]
        if os.environ.get(CLI_VERSION_ENV):  # only the CDK CLI filters the report by the stacks it selects
            staged = {os.path.realpath(s.template_path) for s in stacks if _in_stage(s.template_path)}
            open_findings = [f for f, services in zip(findings, covering) if not services]
            violations += _stage_summaries(app, open_findings, staged)
        return cdk.PolicyValidationPluginReport(
            success=not any(f.severity == "error" for f in findings),
            violations=violations,
            plugin_version=PLUGIN_VERSION,
        )


def _failure(message: str) -> cdk.PolicyValidationPluginReport:
    """A failed report whose one violation says why the templates could not be checked."""
    return cdk.PolicyValidationPluginReport(
        success=False,
        violations=[
            cdk.PolicyViolation(
                rule_name=INPUT_RULE,
                description=f"the port plan cannot check the synthesized templates: {printable(message)}",
                fix="fix the template or file named; if it is as CDK wrote it, report it with this message",
                severity="error",
                violating_resources=[
                    cdk.PolicyViolatingResource(resource_logical_id="", template_path="", locations=[])
                ],
            )
        ],
        plugin_version=PLUGIN_VERSION,
    )


def _in_stage(template_path: str) -> bool:
    """Whether a stack's template lies in a Stage's nested cloud assembly (`assembly-<stage>`)."""
    return os.path.basename(os.path.dirname(os.path.abspath(template_path))).startswith("assembly-")


def _stage_summaries(app: IConstruct, findings: Sequence[Finding], staged: set[str]) -> List[cdk.PolicyViolation]:
    """One violation per rule, without a construct, that lists the errors found in Stages' stacks
    and not acknowledged: the CDK CLI drops the located ones unless it selected those stacks."""
    by_rule: Dict[str, List[str]] = {}
    for finding in findings:
        if finding.severity != "error" or not _from_stage(finding, staged):
            continue
        path = finding.path or _construct_path(app, finding.template_path, finding.resource)
        if path and _acknowledged(app, path, f"{PLUGIN_NAME}::{finding.rule}"):
            continue
        where = path or f"{finding.template}: {finding.resource}"
        by_rule.setdefault(finding.rule, []).append(f"[{where}] {finding.message}")
    summaries = []
    for rule, found in sorted(by_rule.items()):
        listed = "; ".join(found)
        summaries.append(
            cdk.PolicyViolation(
                rule_name=rule,
                description=f"{len(found)} error{'s' if len(found) != 1 else ''} in the stacks of a Stage, which "
                f"`cdk synth` without stack names does not select: {listed}",
                fix="fix each one, or acknowledge it on its construct; `cdk synth '**'` shows them where they are",
                severity="error",
                violating_resources=[
                    cdk.PolicyViolatingResource(resource_logical_id="", template_path="", locations=[])
                ],
            )
        )
    return summaries


def _from_stage(finding: Finding, staged: set[str]) -> bool:
    """Whether the finding's template is a Stage's stack, or a nested stack beside one."""
    path = os.path.realpath(finding.template_path) if finding.template_path else ""
    return path in staged or (bool(path) and _in_stage(path))


def _construct_path(app: IConstruct, template_path: str, logical_id: str) -> Optional[str]:
    """The construct path of a resource, for templates synthesized without path metadata
    (`--no-path-metadata`): the CfnElement with that logical id in the stack of that template."""
    template = os.path.basename(template_path)
    for construct in app.node.find_all():
        if cdk.CfnElement.is_cfn_element(construct):
            element = typing.cast(cdk.CfnElement, construct)
            if element.stack.template_file == template and element.stack.resolve(element.logical_id) == logical_id:
                return element.node.path
    return None


def _acknowledged(app: IConstruct, path: str, rule: str) -> bool:
    """Whether `rule` is acknowledged on the construct at `path` or any construct above it."""
    node: Optional[IConstruct] = app
    parts = path.split("/")
    for depth in range(len(parts) + 1):
        if node is None:
            return False
        for entry in node.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY and isinstance(entry.data, dict):
                if rule in entry.data:
                    return True
        if depth < len(parts):
            node = node.node.try_find_child(parts[depth])
    return False


def _acknowledging_services(app: IConstruct, plan: PortPlan, finding: Finding) -> List[str]:
    """For a finding on a task definition: the construct paths of the services that run it, when
    every one of them acknowledges the finding's rule (on itself or above); else none."""
    key = (finding.template, finding.resource)
    if key not in plan.task_definitions:
        return []
    services = [s for s in plan.services.values() if s.task_definition == key]
    paths = [s.origin.path or _construct_path(app, s.origin.template_path, s.origin.logical_id) for s in services]
    rule = f"{PLUGIN_NAME}::{finding.rule}"
    if not paths or not all(path and _acknowledged(app, path, rule) for path in paths):
        return []
    return [path for path in paths if path]


def _violation(finding: Finding, acknowledging_services: Sequence[str] = ()) -> cdk.PolicyViolation:
    """The finding as CDK reports it; placed under the services that acknowledge it, if given, so
    that CDK finds their acknowledgments (it looks on the resource's construct path and above)."""
    def resource(construct_path: Optional[str]) -> cdk.PolicyViolatingResource:
        return cdk.PolicyViolatingResource(
            resource_logical_id=finding.resource,
            template_path=finding.template_path,
            locations=["Properties"],
            construct_path=construct_path,
        )

    return cdk.PolicyViolation(
        rule_name=finding.rule,
        description=printable(finding.message),
        fix=printable(finding.fix),
        severity=finding.severity,
        violating_resources=[resource(p) for p in acknowledging_services] or [resource(None)],
    )

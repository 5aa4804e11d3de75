"""The synth door of the port plan: a CDK policy-validation plugin.

Register it once per app; it reads every synthesized template, checks the port plan, and
fails ``cdk synth`` on errors (warnings print and pass)::

    Validations.of(app).add_plugins(PortPlanChecks())

Accept a finding on the construct that causes it, with a reason the report keeps::

    Validations.of(service).acknowledge(
        Acknowledgment(id="port-plan::static-port-in-dynamic-range", reason="...")
    )
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import aws_cdk as cdk
import jsii

from constructs_lib.portplan import RULES, Finding, check_templates, load_templates

PLUGIN_NAME = "port-plan"
PLUGIN_VERSION = "0.1.0"


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
        paths = [stack.template_path for stack in context.stack_templates]
        findings = [f for f in check_templates(load_templates(paths)) if f.rule in self._rules]
        return cdk.PolicyValidationPluginReport(
            success=not any(f.severity == "error" for f in findings),
            violations=[_violation(f) for f in findings],
            plugin_version=PLUGIN_VERSION,
        )


def _violation(finding: Finding) -> cdk.PolicyViolation:
    return cdk.PolicyViolation(
        rule_name=finding.rule,
        description=finding.message,
        fix=finding.fix,
        severity=finding.severity,
        violating_resources=[
            cdk.PolicyViolatingResource(
                resource_logical_id=finding.resource,
                template_path=finding.template_path,
                locations=["Properties"],
            )
        ],
    )

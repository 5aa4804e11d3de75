"""What the rules report: one `Finding` per problem and resource."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found in the port plan, attached to the resource a user would change.

    `template` is the template's display name, `resource` its logical id, `path` the construct path
    from `aws:cdk:path` metadata (None when the template has none), `template_path` the template's
    absolute file path.
    """

    rule: str
    severity: str
    template: str
    resource: str
    path: str | None
    message: str
    fix: str
    template_path: str = ""

    def as_dict(self) -> dict[str, str | None]:
        """The finding as the CLI's JSON prints it."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "template": self.template,
            "resource": self.resource,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }


def ordered(findings: Iterable[Finding], rule_order: dict[str, int]) -> list[Finding]:
    """Deduplicate and sort: by template, resource, the rule's place in the catalogue, message."""
    unique = {(f.template, f.resource, f.rule, f.message): f for f in findings}
    return sorted(
        unique.values(),
        key=lambda f: (f.template, f.resource, rule_order.get(f.rule, len(rule_order)), f.message),
    )

"""A rule's metadata, as the catalogue lists it, and the findings it reports."""

from __future__ import annotations

from dataclasses import dataclass

from ..findings import Finding
from ..model import Origin


@dataclass(frozen=True)
class Rule:
    """One entry of the catalogue: a stable id, its severity, the resource its findings are reported on
    (where an acknowledgment accepts them), what it checks, why it matters, the fix.

    A rule module holds its `RULE` and one pure function `check(plan) -> Iterable[Finding]`.
    """

    id: str
    severity: str
    reported_on: str
    info: str
    why: str
    fix: str

    def finding(self, origin: Origin, message: str, fix: str) -> Finding:
        """A finding of this rule on the resource `origin` names."""
        return Finding(
            rule=self.id,
            severity=self.severity,
            template=origin.template,
            resource=origin.logical_id,
            path=origin.path,
            message=message,
            fix=fix,
            template_path=origin.template_path,
        )

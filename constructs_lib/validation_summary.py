"""One line per check from the validation report `cdk synth` writes (`cdk.out/validation-report.json`).

    python -m constructs_lib.validation_summary cdk.out --plugin port-plan --plugin AwsSolutions

prints, for the workshop lab::

    port plan: passed, 0 errors, 0 warnings
    cdk-nag AwsSolutions: passed, 0 errors, 0 warnings, 11 acknowledged
    acknowledgments kept: 11, each with its reason, in cdk.out/validation-report.json

CDK lists a plugin in the report only when it has something to say (a finding or an
acknowledgment), so a plugin the app registered and the report leaves out passed with nothing
found: name the app's plugins with `--plugin` to have a line for each. Every plugin in the report
gets its line as well. A finding is one rule on one construct.

Exit status: 0 when the summary was written; 2 when the report is missing or unreadable (one line
on stderr). The summary never changes a synth's verdict: the plugins decide that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

REPORT_FILE = "validation-report.json"
"""The file CDK writes into the cloud assembly when any validation plugin is registered."""

CDK_NAG_PACKS = frozenset(
    {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5", "PCI.DSS.321", "ServerlessChecks"}
)
"""cdk-nag's packs, by the plugin name each reports under."""

_LABELS = {"port-plan": "port plan"}
_ERRORS = ("error", "fatal")


class ReportError(Exception):
    """The report cannot be read; the message is one line naming the file."""


@dataclass(frozen=True)
class PluginSummary:
    """What one plugin found: open errors and warnings, and acknowledged findings."""

    name: str
    passed: bool
    errors: int = 0
    warnings: int = 0
    acknowledged: int = 0

    @property
    def label(self) -> str:
        """`port plan`, `cdk-nag AwsSolutions`, or the plugin's own name."""
        if self.name in CDK_NAG_PACKS:
            return f"cdk-nag {self.name}"
        return _LABELS.get(self.name, self.name)

    def line(self) -> str:
        counts = [_count(self.errors, "error"), _count(self.warnings, "warning")]
        if self.acknowledged:
            counts.append(f"{self.acknowledged} acknowledged")
        return f"{self.label}: {'passed' if self.passed else 'failed'}, {', '.join(counts)}"


def report_path(path: str) -> str:
    """The report inside a cloud assembly directory, or `path` itself when it names a file."""
    return os.path.join(path, REPORT_FILE) if os.path.isdir(path) else path


def read_report(path: str) -> Mapping[str, Any]:
    """The report's JSON; ReportError when it is missing, not JSON, or not a validation report."""
    try:
        with open(path, encoding="utf-8") as stream:
            report = json.load(stream)
    except FileNotFoundError:
        raise ReportError(
            f"{path}: no validation report (synth stopped before the checks ran, or the app registers no plugin)"
        ) from None
    except OSError as error:
        raise ReportError(f"{path}: cannot read: {error.strerror or error}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: not JSON: {' '.join(str(error).split())}") from None
    if not isinstance(report, dict) or not isinstance(report.get("pluginReports"), list):
        raise ReportError(f"{path}: not a CDK validation report (no pluginReports list)")
    return report


def summarize(report: Mapping[str, Any], plugins: Iterable[str] = ()) -> list[PluginSummary]:
    """One summary per plugin: those named in `plugins` first (passed and clean when the report
    leaves them out), then the others in the report's order."""
    found: dict[str, PluginSummary] = {}
    for entry in report.get("pluginReports", ()):
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("pluginName", "unnamed plugin"))
        violations = _findings(entry.get("violations"))
        found[name] = PluginSummary(
            name=name,
            passed=entry.get("conclusion") != "failure",
            errors=sum(count for severity, count in violations if severity in _ERRORS),
            warnings=sum(count for severity, count in violations if severity not in _ERRORS),
            acknowledged=sum(count for _, count in _findings(entry.get("suppressedViolations"))),
        )
    named = list(dict.fromkeys(plugins))
    summaries = [found.get(name, PluginSummary(name=name, passed=True)) for name in named]
    return summaries + [summary for name, summary in found.items() if name not in named]


def render(summaries: Sequence[PluginSummary], path: str) -> str:
    """The lines `main` prints: one per plugin, then the acknowledgments kept."""
    lines = [summary.line() for summary in summaries]
    kept = sum(summary.acknowledged for summary in summaries)
    kept_line = f"acknowledgments kept: {kept}, each with its reason, in {path}" if kept else "acknowledgments kept: 0"
    lines.append(kept_line)
    return "\n".join(lines) + "\n"


def _findings(violations: Any) -> list[tuple[str, int]]:
    """(severity, findings) per violation: one finding per construct it names, at least one."""
    if not isinstance(violations, list):
        return []
    found = []
    for violation in violations:
        if not isinstance(violation, dict):
            continue
        constructs = violation.get("violatingConstructs")
        found.append((str(violation.get("severity", "error")), max(len(constructs or ()), 1)))
    return found


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary of a cloud assembly's validation report; return the exit status."""
    parser = _Parser(
        prog="validation-summary",
        description="One line per check from the validation report cdk synth writes into a cloud assembly.",
    )
    parser.add_argument("path", metavar="PATH", help=f"a cloud assembly (cdk.out) or its {REPORT_FILE}")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="a plugin the app registers, e.g. port-plan or AwsSolutions (repeat): the report leaves out "
        "plugins that found nothing",
    )
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    path = report_path(arguments.path)
    try:
        report = read_report(path)
    except ReportError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(summarize(report, arguments.plugin), path))
    return 0


if __name__ == "__main__":
    sys.exit(main())

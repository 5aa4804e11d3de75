"""A snapshot kit for CDK stacks, for pytest and syrupy.

Load it from a ``conftest.py``::

    pytest_plugins = ["constructs_lib.testing"]

and snapshot a stack's template in a test::

    def test_my_stack(template_snapshot):
        stack = MyStack(App(), "MyStack")
        assert template_snapshot(stack) == template_snapshot.expected

The template is masked first (``mask_template``): asset hashes, the bootstrap-version rule and
parameter, and CDK's analytics metadata change with CDK releases and assets, not with your
stack, so they never break a snapshot.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable, Dict

import pytest

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
MASK = "<asset-hash>"

__all__ = ["mask_template", "template_of", "template_snapshot"]


def mask_template(template: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of ``template`` without what changes between CDK releases and asset builds."""
    masked = copy.deepcopy(template)
    resources = masked.get("Resources", {})
    for logical_id in [k for k, v in resources.items() if v.get("Type") == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    masked.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    masked.get("Parameters", {}).pop("BootstrapVersion", None)
    masked.get("Rules", {}).pop("CheckBootstrapVersion", None)
    for section in ("Conditions", "Parameters", "Rules"):
        if section in masked and not masked[section]:
            del masked[section]
    return json.loads(ASSET_HASH.sub(MASK, json.dumps(masked)))


def template_of(stack: Any) -> Dict[str, Any]:
    """The synthesized template of a CDK stack, as a dict."""
    from aws_cdk.assertions import Template  # deferred: starts the jsii runtime

    return Template.from_stack(stack).to_json()


class _TemplateSnapshot:
    """Callable fixture value: ``template_snapshot(stack) == template_snapshot.expected``."""

    def __init__(self, snapshot: Any) -> None:
        from syrupy.extensions.json import JSONSnapshotExtension

        self.expected = snapshot.use_extension(JSONSnapshotExtension)

    def __call__(self, stack_or_template: Any) -> Dict[str, Any]:
        template = stack_or_template if isinstance(stack_or_template, dict) else template_of(stack_or_template)
        return mask_template(template)


@pytest.fixture
def template_snapshot(snapshot: Any) -> Callable[[Any], Dict[str, Any]]:
    """Snapshot a stack's masked template with syrupy's JSON extension (one file per test)."""
    return _TemplateSnapshot(snapshot)

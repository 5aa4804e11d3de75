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

Pin how many tasks of each service fit (the ``plan`` command's ``fits``) with::

    def test_port_plan(app_with_my_stack):
        assert_port_plan(my_stack, fits={"StaticService": 2, "DynamicService": 12})

A key names a service by its logical id or by whole segments of its construct path; the value
is how many of its tasks fit by ports, CPU, memory and ENIs together, or ``None`` when nothing
bounds it (a task placed off EC2, or of unknown size, with dynamic mappings only) or the
templates leave it open.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import pytest

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
MASK = "<asset-hash>"

__all__ = ["assert_port_plan", "mask_template", "port_plan_of", "template_of", "template_snapshot"]


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


def port_plan_of(scope: Any) -> Dict[str, Any]:
    """The port plan (the ``plan`` command's JSON) of a stack's app, an app or stage, or a cloud
    assembly directory. Services carry their construct path even when the app writes no path
    metadata."""
    if isinstance(scope, (str, os.PathLike)):
        directory, paths = os.fspath(scope), {}
    else:
        import aws_cdk as cdk  # deferred: starts the jsii runtime

        stage = scope if isinstance(scope, cdk.Stage) else cdk.Stage.of(scope)
        directory, paths = stage.synth().directory, _service_paths(stage)
    from constructs_lib.portplan.plan import build_plan, read_plan

    plan, sources = read_plan([directory])
    data = build_plan(plan, sources.stacks)
    for cluster in data["clusters"]:
        for service in cluster["services"]:
            service["path"] = service["path"] or paths.get((cluster["stack"], service["id"]))
    return data


def assert_port_plan(scope: Any, *, fits: Mapping[str, Optional[int]]) -> Dict[str, Any]:
    """Assert how many tasks of each named service fit at once; return the whole plan.

    ``fits`` maps a service, named by its logical id or by whole segments of its construct path
    (``"StaticService"``, ``"MyStack/StaticService"``), to the expected ``fits``: an int (by
    ports, CPU, memory and ENIs together), or ``None`` where nothing bounds the service or the
    number is left open. A name that matches no service, or more than one, fails the assertion too.
    """
    data = port_plan_of(scope)
    services = [service for cluster in data["clusters"] for service in cluster["services"]]
    problems: List[str] = []
    for name, expected in fits.items():
        matches = [s for s in services if _names(name, s)]
        if len(matches) != 1:
            known = ", ".join(sorted(s["path"] or s["id"] for s in services)) or "none"
            problems.append(f"{name!r} matches {len(matches)} services (services: {known})")
        elif matches[0]["fits"] != expected:
            problems.append(f"{name!r} fits {matches[0]['fits']}, expected {expected}")
    if problems:
        raise AssertionError("port plan differs: " + "; ".join(problems))
    return data


def _names(name: str, service: Mapping[str, Any]) -> bool:
    if name == service["id"]:
        return True
    path = service.get("path")
    return bool(path) and f"/{name.strip('/')}/" in f"/{path}/"


def _service_paths(stage: Any) -> Dict[Tuple[str, str], str]:
    """(stack name, logical id) -> construct path of every ECS service under ``stage``."""
    import aws_cdk as cdk
    from aws_cdk import aws_ecs as ecs

    paths = {}
    for node in stage.node.find_all():
        if isinstance(node, ecs.CfnService):
            stack = cdk.Stack.of(node)
            paths[(stack.stack_name, stack.resolve(stack.get_logical_id(node)))] = node.node.path
    return paths

"""Property tests: random bytes, random JSON and random YAML never crash a command.

Whatever the files hold, `check`, `plan` and `diagram` (to Mermaid) end with 0, 1 or 2, and with 2
print exactly one line on stderr and nothing else; no traceback. The JSON and YAML are built from
CloudFormation's own vocabulary (resource types the model reads, intrinsic functions, property
names, nested stacks naming each other), so that they reach past the parser into the resolver and
the model. Deterministic and fast under the `ci` hypothesis profile (tests/conftest.py).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constructs_lib.cli import main
from portplan_builders import balanced_app, static_app

EXAMPLES = int(__import__("os").environ.get("FUZZ_EXAMPLES", "40"))
FILES = ("a.json", "b.yaml", "c.template")
TYPES = (
    "AWS::ECS::Cluster",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::AutoScaling::LaunchConfiguration",
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::CloudFormation::Stack",
    "AWS::Serverless::Application",
)
NAMES = ("A", "B", "Cluster", "Service", "Task", "Asg", "Param", "Cond", "M", "K", "AWS::NoValue", "AWS::StackName")
KEYS = (
    "Ref",
    "Condition",
    "Fn::Join",
    "Fn::Sub",
    "Fn::If",
    "Fn::FindInMap",
    "Fn::GetAtt",
    "Fn::ImportValue",
    "Fn::GetStackOutput",
    "Fn::Select",
    "Fn::Split",
    "Fn::Equals",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
    "Fn::Base64",
    "Cluster",
    "DesiredCount",
    "TaskDefinition",
    "ContainerDefinitions",
    "PortMappings",
    "HostPort",
    "ContainerPort",
    "ContainerPortRange",
    "Protocol",
    "NetworkMode",
    "LaunchType",
    "SchedulingStrategy",
    "CapacityProviderStrategy",
    "CapacityProvider",
    "AutoScalingGroupProvider",
    "AutoScalingGroupArn",
    "ManagedScaling",
    "Status",
    "MinSize",
    "MaxSize",
    "DesiredCapacity",
    "LaunchTemplate",
    "LaunchTemplateData",
    "LaunchTemplateId",
    "UserData",
    "PlacementConstraints",
    "Type",
    "Expression",
    "LoadBalancers",
    "TargetGroupArn",
    "MaxCapacity",
    "MinCapacity",
    "ResourceId",
    "ScalableDimension",
    "TemplateURL",
    "Parameters",
    "Value",
    "Export",
    "Name",
    "Default",
    "aws:cdk:path",
    "aws:asset:path",
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(NAMES + FILES + ("bridge", "host", "awsvpc", "EC2", "DAEMON", "ENABLED", "0", "8080", "tcp"))
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4),
    max_leaves=25,
)
resources = st.dictionaries(
    st.sampled_from(NAMES),
    st.fixed_dictionaries(
        {"Type": st.sampled_from(TYPES)},
        optional={"Properties": values, "Condition": st.sampled_from(NAMES) | values, "Metadata": values},
    ),
    max_size=6,
)
templates = st.fixed_dictionaries(
    {"Resources": resources | values},
    optional={
        "Parameters": st.dictionaries(st.sampled_from(NAMES), values, max_size=3),
        "Conditions": st.dictionaries(st.sampled_from(NAMES), values, max_size=3),
        "Mappings": st.dictionaries(st.sampled_from(NAMES), values, max_size=2),
        "Outputs": st.dictionaries(st.sampled_from(NAMES), values, max_size=3),
    },
)
yaml_pieces = st.sampled_from(
    [
        "Resources:", "\n", "  ", "- ", ": ", "[", "]", "{", "}", ", ", "&a ", "*a", "&b ", "*b", "<<: ", "!Ref ",
        "!GetAtt ", "!Join ", "!Sub ", "!If ", "!Condition ", "!!int ", "!!binary ", "!Nope ", "? ", "'", '"', "|",
        ">", "#", "%YAML 1.1\n", "---\n", "...\n", "Type: AWS::ECS::Service", "DesiredCount: ", "99999999999",
        "0x1F", "1e999", ".inf", "~", "\t", "\x00", "\ufeff", "\\x1b",
    ]
)


def run_commands(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every command over `directory`: a result or one error line; no traceback, no other status."""
    for argv in (["check", str(directory)], ["plan", str(directory)], ["diagram", str(directory), "-o", str(directory / "p.mmd")]):
        status = main(argv)
        captured = capsys.readouterr()
        assert status in (0, 1, 2), (argv, captured.err)
        assert "Traceback" not in captured.err
        if status == 2:
            assert captured.out == "", argv
            assert captured.err.count("\n") == 1 and captured.err.startswith("port-plan: error: "), captured.err
        if argv[0] != "check":
            assert status != 1, captured.err  # only `check` reports findings by its status


def write_and_run(files: dict[str, str | bytes], capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        for name, content in files.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(Path(directory) / name, mode) as stream:
                stream.write(content)
        run_commands(Path(directory), capsys)


def as_json(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


def as_yaml(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


ENCODERS = {".json": [lambda v: json.dumps(v, allow_nan=True)], ".yaml": [as_yaml], ".template": [as_json, as_yaml]}


def slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON-like value, found without recursion."""
    found, pending = [], [value]
    while pending:
        container = pending.pop()
        keys = container.keys() if isinstance(container, dict) else range(len(container))
        for key in keys:
            found.append((container, key))
            if isinstance(container[key], (dict, list)):
                pending.append(container[key])
    return found


_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(contents=st.lists(st.binary(max_size=200), min_size=1, max_size=3))
def test_random_bytes_never_crash(contents: list[bytes], capsys: pytest.CaptureFixture[str]) -> None:
    write_and_run(dict(zip(FILES, contents)), capsys)


@_SETTINGS
@given(bodies=st.lists(templates, min_size=1, max_size=3), data=st.data())
def test_random_templates_never_crash(
    bodies: list[dict[str, Any]], data: st.DataObject, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each file is linked to the others by name (TemplateURL, Fn::GetStackOutput of its stem).
    files = {}
    for name, body in zip(FILES, bodies):
        encode = data.draw(st.sampled_from(ENCODERS[Path(name).suffix]))
        files[name] = encode(body)
    write_and_run(files, capsys)


@_SETTINGS
@given(data=st.data())
def test_apps_with_random_values_never_crash(data: st.DataObject, capsys: pytest.CaptureFixture[str]) -> None:
    # A working app (a cluster, capacity, services, a balancer) with a few values replaced at random.
    bodies = [static_app(tasks=2, instances=2).body(), balanced_app().body()]
    for body in bodies:
        places = slots(body)
        for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
            container, key = data.draw(st.sampled_from(places))
            container[key] = data.draw(values)
    encode = data.draw(st.sampled_from([as_json, as_yaml]))
    write_and_run({"one.template": encode(bodies[0]), "two.template": encode(bodies[1])}, capsys)


@_SETTINGS
@given(value=values)
def test_random_json_never_crashes(value: Any, capsys: pytest.CaptureFixture[str]) -> None:
    write_and_run({"a.json": as_json(value)}, capsys)


@_SETTINGS
@given(pieces=st.lists(yaml_pieces | st.text(max_size=4), max_size=40))
def test_random_yaml_never_crashes(pieces: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    write_and_run({"b.yaml": "".join(pieces)}, capsys)

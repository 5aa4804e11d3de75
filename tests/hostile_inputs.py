"""Hostile inputs for the port plan's doors, written at test time (none is checked in).

Each maker writes its files under a directory and returns the PATH arguments to give the CLI. They
reproduce the inputs of issue 11 that crashed, hung or ran away: numbers past Python's 4,300-digit
limit, a device or a FIFO as PATH, chains of `Fn::FindInMap` and `Fn::Join` whose values are used
many times, YAML alias bombs, YAML nested tens of thousands of levels deep, a child template
instantiated exponentially many times through nested stacks, and files that point outside what
was given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portplan_builders import Stack, static_app

Maker = Callable[[Path], list[str]]


def _app(**service: Any) -> Stack:
    """One cluster, one group of two instances, a service with a static port."""
    return static_app(tasks=1, instances=2, **service)


def big_integer_json(directory: Path) -> list[str]:
    """A JSON integer literal of 5,000 digits (Python refuses more than 4,300 by default)."""
    body = json.dumps(_app().body()).replace('"DesiredCount": 1', '"DesiredCount": ' + "7" * 5000, 1)
    assert "7" * 5000 in body
    path = directory / "big.template.json"
    path.write_text(body)
    return [str(path)]


def big_integer_yaml(directory: Path) -> list[str]:
    """The same integer in a YAML template."""
    path = directory / "big.yaml"
    path.write_text(f"Resources:\n  Service:\n    Type: AWS::ECS::Service\n    Properties:\n      DesiredCount: {'7' * 5000}\n")
    return [str(path)]


def findinmap_chain(directory: Path, levels: int = 10, fanout: int = 8) -> list[str]:
    """A 4 KB template whose desired count and user data read level `levels` of a mapping chain,
    each level an `Fn::Join` of `fanout` `Fn::FindInMap`s of the level below (fanout**levels uses)."""
    chain: dict[str, Any] = {"L0": {"V": "1"}}
    for level in range(1, levels + 1):
        below = {"Fn::FindInMap": ["Chain", f"L{level - 1}", "V"]}
        chain[f"L{level}"] = {"V": {"Fn::Join": ["", [below] * fanout]}}
    stack = _app()
    top = {"Fn::FindInMap": ["Chain", f"L{levels}", "V"]}
    stack.props("Service")["DesiredCount"] = top
    data = stack.resources["AsgTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    data.append(top)
    body = stack.body()
    body["Mappings"] = {"Chain": chain}
    path = directory / "chain.template.json"
    path.write_text(json.dumps(body))
    return [str(path)]


def sub_fanout(directory: Path, levels: int = 30, fanout: int = 4) -> list[str]:
    """A service's cluster built by `levels` nested `Fn::Sub`s, each naming its variable `fanout`
    times, the variable being the next `Fn::Sub` (fanout**levels pieces of text)."""
    node: Any = "x"
    for _ in range(levels):
        node = {"Fn::Sub": ["${V}" * fanout, {"V": node}]}
    stack = _app()
    stack.props("Service")["Cluster"] = node
    path = directory / "sub.template.json"
    path.write_text(json.dumps(stack.body()))
    return [str(path)]


def output_fanout(directory: Path, levels: int = 12, fanout: int = 8) -> list[str]:
    """Stacks `S0`..`S<levels>` where each output joins `fanout` `Fn::ImportValue`s and `fanout`
    `Fn::GetStackOutput`s of the one before; the last stack's service reads the top one."""
    paths = []
    for level in range(levels + 1):
        stack = _app() if level == levels else Stack(f"S{level}")
        if level == 0:
            value: Any = "1"
        else:
            imported = {"Fn::ImportValue": f"E{level - 1}"}
            weak = {"Fn::GetStackOutput": {"StackName": f"S{level - 1}", "OutputName": "O"}}
            value = {"Fn::Join": ["", [imported] * fanout + [weak] * fanout]}
        if level == levels:
            stack.props("Service")["DesiredCount"] = value
        else:
            stack.add("Topic", "AWS::SNS::Topic")
            stack.outputs["O"] = {"Value": value, "Export": {"Name": f"E{level}"}}
        stack.name = f"S{level}"
        paths.append(stack.write(directory))
    return paths


def _bomb(anchor: str, levels: int = 9, fanout: int = 9) -> list[str]:
    """YAML lines defining anchors `<anchor>0..<anchor><levels>`, each an `!Join` of `fanout` aliases
    of the one below: the last expands to fanout**levels strings."""
    lines = [f"      - &{anchor}0 !Join ['', [x, x, x, x, x, x, x, x, x]]"]
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*{anchor}{level - 1}"] * fanout)
        lines.append(f"      - &{anchor}{level} !Join ['', [{aliases}]]")
    return lines


_YAML_APP = """\
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      NetworkMode: bridge
      ContainerDefinitions:
        - Name: web
          Memory: 128
          PortMappings:
            - ContainerPort: 80
              HostPort: 8080
"""


def alias_bomb_join(directory: Path) -> list[str]:
    """A 1 KB YAML alias bomb inside `Fn::Join`, read as a service's cluster."""
    text = (
        _YAML_APP
        + "  Service:\n    Type: AWS::ECS::Service\n    Metadata:\n      Parts:\n"
        + "\n".join(_bomb("a"))
        + "\n    Properties:\n      TaskDefinition: !Ref Task\n      DesiredCount: 1\n"
        + "      Cluster: !Join ['', [*a9, *a9]]\n"
    )
    path = directory / "bomb.yaml"
    path.write_text(text)
    return [str(path)]


def alias_bomb_exports(directory: Path) -> list[str]:
    """Two outputs exporting the same name, with values built from two separate alias bombs
    (telling them apart compares both expansions)."""
    text = (
        _YAML_APP
        + "  Holder:\n    Type: AWS::SNS::Topic\n    Metadata:\n      A:\n"
        + "\n".join(_bomb("a"))
        + "\n      B:\n"
        + "\n".join(_bomb("b"))
        + "\nOutputs:\n  One:\n    Value: *a9\n    Export:\n      Name: Shared\n"
        + "  Two:\n    Value: *b9\n    Export:\n      Name: Shared\n"
    )
    path = directory / "exports.yaml"
    path.write_text(text)
    return [str(path)]


def deep_yaml_flow(directory: Path, levels: int = 30_000) -> list[str]:
    """YAML nested `levels` deep in flow style (`[[[...]]]`)."""
    path = directory / "deep.yaml"
    path.write_text("Resources: " + "[" * levels + "]" * levels + "\n")
    return [str(path)]


def deep_yaml_block(directory: Path, levels: int = 30_000) -> list[str]:
    """YAML nested `levels` deep in block style (`- - - x`)."""
    path = directory / "deep-block.yaml"
    path.write_text("Resources:\n" + "- " * levels + "x\n")
    return [str(path)]


def deep_json(directory: Path, levels: int = 100_000) -> list[str]:
    """JSON nested `levels` deep."""
    path = directory / "deep.template.json"
    path.write_text('{"Resources": ' + "[" * levels + "]" * levels + "}")
    return [str(path)]


def condition_chain(directory: Path, length: int = 5000) -> list[str]:
    """A service created under the last of `length` conditions, each `Fn::Not` of the one before."""
    stack = _app()
    conditions: dict[str, Any] = {"C0": {"Fn::Equals": ["a", "a"]}}
    for index in range(1, length):
        conditions[f"C{index}"] = {"Fn::Not": [{"Condition": f"C{index - 1}"}]}
    stack.resources["Service"]["Condition"] = f"C{length - 1}"
    body = stack.body()
    body["Conditions"] = conditions
    path = directory / "conditions.template.json"
    path.write_text(json.dumps(body))
    return [str(path)]


def nested_fanout(directory: Path, levels: int = 16, fanout: int = 4) -> list[str]:
    """Templates `level0.json` .. `level<levels>.json`, each with `fanout` nested stack resources naming
    the next: the last is instantiated fanout**levels times."""
    paths = []
    for level in range(levels + 1):
        resources: dict[str, Any] = {}
        if level < levels:
            for index in range(fanout):
                resources[f"Child{index}"] = {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": f"level{level + 1}.json"},
                }
        else:
            resources = _app().resources
        path = directory / f"level{level}.json"
        path.write_text(json.dumps({"Resources": resources}))
        paths.append(str(path))
    return paths


def nested_fanout_assembly(directory: Path, levels: int = 16, fanout: int = 4) -> list[str]:
    """The same fan-out as CDK nested stacks in a cloud assembly (`aws:asset:path` metadata)."""
    assembly = directory / "cdk.out"
    assembly.mkdir()
    for level in range(levels + 1):
        resources: dict[str, Any] = {}
        if level < levels:
            for index in range(fanout):
                resources[f"Child{index}"] = {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "https://s3.amazonaws.com/bucket/x.json"},
                    "Metadata": {"aws:asset:path": f"level{level + 1}.nested.template.json"},
                }
        else:
            resources = _app().resources
        name = "Top.template.json" if level == 0 else f"level{level}.nested.template.json"
        (assembly / name).write_text(json.dumps({"Resources": resources}))
    _manifest(assembly, {"Top": "Top.template.json"})
    return [str(assembly)]


def _manifest(assembly: Path, stacks: dict[str, str]) -> None:
    artifacts = {
        name: {"type": "aws:cloudformation:stack", "properties": {"templateFile": file, "stackName": name}}
        for name, file in stacks.items()
    }
    (assembly / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}))


def outside_secret(directory: Path) -> Path:
    """A template outside the assembly (`outside/secret.yaml`), with a static port overcommit, so
    that reading it shows in the findings."""
    outside = directory / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "secret.template.json"
    secret.write_text(json.dumps(static_app(tasks=3, instances=1).body()))
    return secret


def manifest_escape(directory: Path) -> list[str]:
    """A cloud assembly whose manifest names `../../outside/secret.template.json`."""
    outside_secret(directory)
    assembly = directory / "work" / "cdk.out"
    assembly.mkdir(parents=True)
    (assembly / "Ok.template.json").write_text(json.dumps(_app().body()))
    _manifest(assembly, {"Ok": "Ok.template.json", "Leak": "../../outside/secret.template.json"})
    return [str(assembly)]


def manifest_absolute(directory: Path) -> list[str]:
    """A cloud assembly whose manifest names the outside template by its absolute path."""
    secret = outside_secret(directory)
    assembly = directory / "cdk.out"
    assembly.mkdir()
    _manifest(assembly, {"Leak": str(secret)})
    return [str(assembly)]


def symlink_out_of_directory(directory: Path) -> list[str]:
    """A plain directory with one template and a symbolic link to a template outside it."""
    secret = outside_secret(directory)
    given = directory / "templates"
    given.mkdir()
    (given / "app.template.json").write_text(json.dumps(_app().body()))
    os.symlink(secret, given / "leak.template.json")
    return [str(given)]


def symlink_out_of_assembly(directory: Path) -> list[str]:
    """A cloud assembly whose stack template is a symbolic link to a template outside it."""
    secret = outside_secret(directory)
    assembly = directory / "cdk.out"
    assembly.mkdir()
    os.symlink(secret, assembly / "Leak.template.json")
    _manifest(assembly, {"Leak": "Leak.template.json"})
    return [str(assembly)]


def fifo_path(directory: Path) -> list[str]:
    """A FIFO named like a template (nothing ever writes to it)."""
    path = directory / "pipe.template.json"
    os.mkfifo(path)
    return [str(path)]


def fifo_manifest_beside(directory: Path) -> list[str]:
    """A template given alone beside a FIFO named `manifest.json` (read for the stack name)."""
    given = directory / "Ok.template.json"
    given.write_text(json.dumps(_app().body()))
    os.mkfifo(directory / "manifest.json")
    return [str(given)]


def device_path(directory: Path) -> list[str]:
    """`/dev/zero`: endless bytes."""
    return ["/dev/zero"]


MEASURED: dict[str, Maker] = {
    "big-integer-json": big_integer_json,
    "big-integer-yaml": big_integer_yaml,
    "dev-zero": device_path,
    "fifo": fifo_path,
    "fifo-manifest-beside": fifo_manifest_beside,
    "findinmap-chain-10": findinmap_chain,
    "alias-bomb-join": alias_bomb_join,
    "alias-bomb-exports": alias_bomb_exports,
    "yaml-30000-flow": deep_yaml_flow,
    "yaml-30000-block": deep_yaml_block,
    "json-100000-deep": deep_json,
    "condition-chain-5000": condition_chain,
    "sub-fanout": sub_fanout,
    "output-fanout": output_fanout,
    "nested-fanout-files": nested_fanout,
    "nested-fanout-assembly": nested_fanout_assembly,
    "manifest-escape": manifest_escape,
    "manifest-absolute": manifest_absolute,
    "symlink-out-of-directory": symlink_out_of_directory,
    "symlink-out-of-assembly": symlink_out_of_assembly,
}
"""Every hostile input, by name: the issue's measured ones and the runaways found beside them."""

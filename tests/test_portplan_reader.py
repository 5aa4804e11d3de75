"""Reading templates: cloud assemblies (with nested Stage assemblies), directories, JSON and YAML files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portplan_builders import Stack, ref

from constructs_lib.portplan import PortPlanInputError, check_paths, load_templates
from constructs_lib.portplan.yaml_loader import YamlError, parse_yaml

FIXTURES = Path(__file__).parent / "fixtures" / "portplan"
ASSEMBLY = FIXTURES / "cdk-out"


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the fixtures directory so display names are short and stable."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


def test_assembly_with_nested_stage(in_fixtures: Path) -> None:
    # GIVEN cdk.out with a Stage WHEN loaded THEN every stack's template is read, the nested one too
    templates = load_templates(["cdk-out"])
    assert [(t.name, t.stack_name) for t in templates] == [
        ("cdk-out/Net.template.json", "Net"),
        ("cdk-out/Web.template.json", "Web"),
        ("cdk-out/assembly-Prod/ProdApi2466CF1F.template.json", "Prod-Api"),
    ]
    assert all(os.path.isabs(t.path) and t.path.endswith(t.name.split("/")[-1]) for t in templates)


def test_assembly_findings_line_up_across_stacks(in_fixtures: Path) -> None:
    # The Web stack imports the Net stack's cluster: the service still finds its capacity.
    findings = check_paths(["cdk-out"])
    assert [(f.rule, f.template, f.resource, f.path) for f in findings] == [
        (
            "dynamic-port-ingress",
            "cdk-out/Net.template.json",
            "AsgInstanceSecurityGroupC53F1492",
            "Net/Asg/InstanceSecurityGroup/Resource",
        ),
        (
            "dynamic-port-ingress",
            "cdk-out/Web.template.json",
            "WebLBSecurityGroupAD942A36",
            "Web/Web/LB/SecurityGroup/Resource",
        ),
        (
            "static-port-overcommit",
            "cdk-out/assembly-Prod/ProdApi2466CF1F.template.json",
            "ServiceD69D759B",
            "Prod/Api/Service/Service",
        ),
        (
            "deployment-port-deadlock",
            "cdk-out/assembly-Prod/ProdApi2466CF1F.template.json",
            "ServiceD69D759B",
            "Prod/Api/Service/Service",
        ),
    ]
    assert (
        "allows 0 of 28232 ports 32768-60999 from balancer security group Web/Web/LB/SecurityGroup"
        in findings[0].message
    )


def test_plain_directory_skips_json_that_is_no_template(tmp_path: Path) -> None:
    # GIVEN the assembly's files without manifest.json (asset manifests are JSON without Resources)
    for name in ("Net.template.json", "Net.assets.json", "Web.template.json", "Web.assets.json"):
        shutil.copy(ASSEMBLY / name, tmp_path / name)
    (tmp_path / "tree.json").write_text('{"version": "tree-0.1", "tree": {}}')
    (tmp_path / "notes.txt").write_text("not read")
    templates = load_templates([str(tmp_path)])
    assert [os.path.basename(t.name) for t in templates] == ["Net.template.json", "Web.template.json"]
    assert [t.stack_name for t in templates] == ["Net", "Web"]
    # Cross-stack imports still resolve: CDK's export names are literal.
    assert {f.rule for f in check_paths([str(tmp_path)])} == {"dynamic-port-ingress"}


def test_single_json_file_and_display_name(in_fixtures: Path) -> None:
    (template,) = load_templates(["./cdk-out/../cdk-out/Net.template.json"])
    assert template.name == "cdk-out/Net.template.json"
    assert template.stack_name == "Net"
    (absolute,) = load_templates([str(ASSEMBLY / "Net.template.json")])
    assert absolute.name == "cdk-out/Net.template.json"


def test_same_file_twice_is_read_once(in_fixtures: Path) -> None:
    templates = load_templates(["cdk-out", "cdk-out/Net.template.json"])
    assert len(templates) == 3


def test_yaml_template_with_short_tags(in_fixtures: Path) -> None:
    (template,) = load_templates(["yaml/short-tags.yaml"])
    assert template.stack_name == "short-tags"
    resources = template.body["Resources"]
    assert resources["Template"]["Properties"]["LaunchTemplateData"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": ["InstanceSg", "GroupId"]}
    ]
    assert resources["Asg"]["Properties"]["LaunchTemplate"]["Version"] == {
        "Fn::GetAtt": ["Template", "LatestVersionNumber"]
    }
    assert template.body["AWSTemplateFormatVersion"] == "2010-09-09"
    findings = check_paths(["yaml/short-tags.yaml"])
    # Fn::If on IsProd (false: the stack is short-tags) sets MinimumHealthyPercent 0: no deadlock, no doubt
    assert [(f.rule, f.resource) for f in findings] == [("static-port-overcommit", "Service")]
    assert "2 tasks need tcp/8080 on capacity Asg, which has at most 1 instance" in findings[0].message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!Ref Cluster", {"Ref": "Cluster"}),
        ("!GetAtt Lb.DNSName", {"Fn::GetAtt": ["Lb", "DNSName"]}),
        ("!GetAtt [Lb, DNSName]", {"Fn::GetAtt": ["Lb", "DNSName"]}),
        ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
        ("!Sub '${A}-x'", {"Fn::Sub": "${A}-x"}),
        ("!Join [':', [a, b]]", {"Fn::Join": [":", ["a", "b"]]}),
        ("!Select [0, !GetAZs '']", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        ("!Split [',', 'a,b']", {"Fn::Split": [",", "a,b"]}),
        ("!ImportValue Net:Cluster", {"Fn::ImportValue": "Net:Cluster"}),
        ("!If [C, 1, 2]", {"Fn::If": ["C", 1, 2]}),
        ("!Equals [a, b]", {"Fn::Equals": ["a", "b"]}),
        ("!Not [!Condition C]", {"Fn::Not": [{"Condition": "C"}]}),
        ("!And [!Condition A, !Condition B]", {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Or [!Condition A, !Condition B]", {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!FindInMap [M, k, v]", {"Fn::FindInMap": ["M", "k", "v"]}),
        ("!Base64 text", {"Fn::Base64": "text"}),
        ("!Cidr [10.0.0.0/16, 4, 8]", {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}),
        ("!GetAZs eu-west-1", {"Fn::GetAZs": "eu-west-1"}),
    ],
)
def test_yaml_short_tags_become_long_forms(text: str, expected: object) -> None:
    assert parse_yaml(f"Value: {text}\n") == {"Value": expected}


def test_template_suffix_reads_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.template").write_text(json.dumps({"Resources": {"C": {"Type": "AWS::ECS::Cluster"}}}))
    (tmp_path / "b.template").write_text("Resources:\n  C:\n    Type: AWS::ECS::Cluster\n")
    (tmp_path / "c.yml").write_text("Resources:\n  C: {Type: AWS::ECS::Cluster}\n")
    templates = load_templates([str(tmp_path)])
    assert [os.path.basename(t.name) for t in templates] == ["a.template", "b.template", "c.yml"]
    assert [t.stack_name for t in templates] == ["a", "b", "c"]


def test_assembly_stack_name_resolves_aws_stack_name(tmp_path: Path) -> None:
    # GIVEN an assembly whose producer exports "${AWS::StackName}:Cluster" under stack name prod-net
    producer = {
        "Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}},
        "Outputs": {"C": {"Value": {"Ref": "Cluster"}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}:Cluster"}}}},
    }
    consumer = {
        "Resources": {
            "Task": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "ContainerDefinitions": [{"Name": "web", "Memory": 128, "PortMappings": [{"ContainerPort": 80, "HostPort": 8080}]}]
                },
            },
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "Cluster": {"Fn::ImportValue": "prod-net:Cluster"},
                    "TaskDefinition": {"Ref": "Task"},
                    "LaunchType": "EC2",
                    "DeploymentConfiguration": {"MinimumHealthyPercent": 0},
                },
            },
        }
    }
    (tmp_path / "Net.template.json").write_text(json.dumps(producer))
    (tmp_path / "App.template.json").write_text(json.dumps(consumer))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Net": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Net.template.json", "stackName": "prod-net"},
            },
            "App": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "App.template.json"}},
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    # WHEN checked THEN the service's cluster is found: it has no capacity, which is unverifiable (not unknown)
    findings = check_paths([str(tmp_path)])
    assert [f.rule for f in findings] == ["unverifiable"]
    assert (
        "no Auto Scaling group of the templates given registers instances with cluster Cluster" in findings[0].message
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("bad/invalid.json", "bad/invalid.json: invalid JSON at line 4 column 5: Expecting ',' delimiter"),
        ("bad/invalid.yaml", "bad/invalid.yaml: invalid YAML at line 4 column 4: did not find expected key"),
        (
            "bad/unknown-tag.yaml",
            "bad/unknown-tag.yaml: invalid YAML at line 2 column 6: a tag the port plan does not read "
            "(CloudFormation's are !Ref, !GetAtt, !Sub, !Join and the other short forms of its functions)",
        ),
        ("bad/not-a-template.json", "bad/not-a-template.json: not a CloudFormation template (no Resources mapping)"),
        ("bad/missing.json", "bad/missing.json: no such file or directory"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(in_fixtures: Path, path: str, message: str) -> None:
    with pytest.raises(PortPlanInputError) as raised:
        load_templates([path])
    assert str(raised.value) == message


def test_empty_directory_and_broken_assembly(tmp_path: Path) -> None:
    with pytest.raises(PortPlanInputError, match=r"no CloudFormation templates found$"):
        load_templates([str(tmp_path)])
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "S": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "S.template.json"}}
                }
            }
        )
    )
    with pytest.raises(PortPlanInputError, match=r"S.template.json: no such file \(named in .*manifest.json\)$"):
        load_templates([str(tmp_path)])
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(PortPlanInputError, match=r"not a cloud assembly manifest"):
        load_templates([str(tmp_path)])


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"Resources": "\xff\xfe"}')
    with pytest.raises(PortPlanInputError, match=r"^.*binary.json: invalid JSON"):
        load_templates([str(binary)])
    yaml_binary = tmp_path / "binary.yaml"
    yaml_binary.write_bytes(b"Resources: \xff\n")
    with pytest.raises(PortPlanInputError, match=r"^.*binary.yaml: invalid YAML"):
        load_templates([str(yaml_binary)])
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.json"
        locked.write_text("{}")
        locked.chmod(0)
        with pytest.raises(PortPlanInputError, match=r"locked.json: cannot read: Permission denied$"):
            load_templates([str(locked)])


def test_yaml_is_imported_only_when_a_yaml_file_is_read() -> None:
    code = (
        "import sys; from constructs_lib.portplan import check_paths; "
        f"check_paths([{str(ASSEMBLY)!r}]); print('yaml' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# -- nested stacks ------------------------------------------------------------------------------------

REAL = FIXTURES / "real"


def test_children_link_by_the_longest_path_suffix_of_their_template_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a parent naming .../services/web/service.yaml twice and .../services/api/service.yaml once
    monkeypatch.chdir(REAL)
    templates = load_templates(["nested", "nested/services/web/service.yaml", "nested/services/api/service.yaml"])
    # THEN each child is read once per stack resource, after its parent, each instance named when shared
    assert [(t.name, t.stack_name, t.parent, t.parent_resource) for t in templates] == [
        ("nested/parent.yaml", "parent", None, None),
        ("nested/cluster.yaml", "parent/ClusterStack", "nested/parent.yaml", "ClusterStack"),
        ("nested/services/web/service.yaml (parent/BlueWeb)", "parent/BlueWeb", "nested/parent.yaml", "BlueWeb"),
        ("nested/services/web/service.yaml (parent/GreenWeb)", "parent/GreenWeb", "nested/parent.yaml", "GreenWeb"),
        ("nested/services/api/service.yaml", "parent/Api", "nested/parent.yaml", "Api"),
    ]
    assert templates[2].body is templates[3].body


def test_parent_with_two_children_checks_each_instance_with_its_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REAL)
    paths = ["nested", "nested/services/web/service.yaml", "nested/services/api/service.yaml"]
    findings = check_paths(paths)
    # Blue (1 task) and Green (2 tasks) share tcp/8080 on the cluster child's 2 instances (the parent's default)
    assert [(f.rule, f.template) for f in findings] == [
        ("static-port-overcommit", "nested/services/web/service.yaml (parent/BlueWeb)"),
        ("static-port-overcommit", "nested/services/web/service.yaml (parent/GreenWeb)"),
    ]
    assert findings[0].message.endswith("(this assumes InstanceCount=2, its default in nested/parent.yaml)")
    assert check_paths(paths, ["InstanceCount=3"]) == []


def test_a_child_not_given_is_reported_with_the_file_to_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REAL)
    findings = [f for f in check_paths(["nested", "nested/services/web/service.yaml"]) if f.rule == "unverifiable"]
    assert [(f.rule, f.resource) for f in findings] == [("unverifiable", "Api")]
    assert "the template of nested stack Api (/nested/services/api/service.yaml) is not among" in findings[0].message
    assert findings[0].fix == "pass service.yaml too, or acknowledge this finding"


def test_children_that_match_equally_well_are_ambiguous(tmp_path: Path) -> None:
    for directory in ("a", "b"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "child.yaml").write_text("Resources:\n  C: {Type: AWS::ECS::Cluster}\n")
    (tmp_path / "parent.yaml").write_text(
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n"
        "    Properties: {TemplateURL: 'https://example.com/templates/child.yaml'}\n"
    )
    paths = [str(tmp_path / "parent.yaml"), str(tmp_path / "a" / "child.yaml"), str(tmp_path / "b" / "child.yaml")]
    templates = load_templates(paths)
    assert templates[0].unlinked[0][0] == "Child" and "matches several templates given equally well" in (
        templates[0].unlinked[0][1]
    )
    assert [f.rule for f in check_paths(paths)] == ["unverifiable"]


def test_a_sam_application_with_a_local_location_is_a_child(tmp_path: Path) -> None:
    (tmp_path / "cluster.yml").write_text("Resources:\n  C: {Type: AWS::ECS::Cluster}\n")
    (tmp_path / "parent.yml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  ClusterStack:\n"
        "    Type: AWS::Serverless::Application\n    Properties: {Location: cluster.yml}\n"
    )
    templates = load_templates([str(tmp_path)])
    assert [(os.path.basename(t.name), t.parent_resource) for t in templates] == [
        ("parent.yml", None),
        ("cluster.yml", "ClusterStack"),
    ]


def nested_assembly(directory: Path) -> None:
    """A cloud assembly as CDK writes it: Parent with a NestedStack (cluster capacity in the parent,
    a service two levels down), the nested templates file assets beside it."""
    def stack_resource(asset: str, path: str, parameters: dict) -> dict:
        return {
            "Type": "AWS::CloudFormation::Stack",
            "Properties": {"TemplateURL": "https://s3.example.com/hash.json", "Parameters": parameters},
            "Metadata": {"aws:cdk:path": path, "aws:asset:path": asset, "aws:asset:property": "TemplateURL"},
        }

    parent = Stack("Parent")
    parent.cluster()
    parent.capacity(min_size=2)
    body = parent.body()
    body["Resources"]["Outer"] = stack_resource(
        "ParentOuter.nested.template.json",
        "Parent/Outer.NestedStack/Outer.NestedStackResource",
        {"referencetoParentClusterRef": ref("Cluster")},
    )
    outer = {
        "Parameters": {"referencetoParentClusterRef": {"Type": "String"}},
        "Resources": {
            "Inner": stack_resource(
                "ParentOuterInner.nested.template.json",
                "Parent/Outer/Inner.NestedStack/Inner.NestedStackResource",
                {"referencetoParentClusterRef": ref("referencetoParentClusterRef")},
            )
        },
    }
    inner = Stack("Inner")
    inner.parameters["referencetoParentClusterRef"] = {"Type": "String"}
    inner.task("Task", [(80, 8080, "tcp")])
    inner.service("Service", "Task", desired=3, cluster=ref("referencetoParentClusterRef"))
    inner.resources["Service"]["Metadata"] = {"aws:cdk:path": "Parent/Outer/Inner/Service/Service"}
    (directory / "Parent.template.json").write_text(json.dumps(body))
    (directory / "ParentOuter.nested.template.json").write_text(json.dumps(outer))
    (directory / "ParentOuterInner.nested.template.json").write_text(json.dumps(inner.body()))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Parent": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Parent.template.json"}}
        },
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_cdk_nested_stacks_are_read_from_the_assembly_at_any_depth(tmp_path: Path) -> None:
    nested_assembly(tmp_path)
    templates = load_templates([str(tmp_path)])
    assert [(os.path.basename(t.name), t.stack_name, t.parent_resource) for t in templates] == [
        ("Parent.template.json", "Parent", None),
        ("ParentOuter.nested.template.json", "Parent/Outer", "Outer"),
        ("ParentOuterInner.nested.template.json", "Parent/Outer/Inner", "Inner"),
    ]
    (finding,) = check_paths([str(tmp_path)])
    assert (finding.rule, finding.path) == ("static-port-overcommit", "Parent/Outer/Inner/Service/Service")
    # the CDK plugin passes the parent's template file alone: the nested ones are read beside it
    assert check_paths([str(tmp_path / "Parent.template.json")]) == [finding]


def test_a_template_given_alone_takes_its_stack_name_from_the_manifest(tmp_path: Path) -> None:
    nested_assembly(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["artifacts"]["Parent"]["properties"]["stackName"] = "prod-parent"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (template, *_) = load_templates([str(tmp_path / "Parent.template.json")])
    assert template.stack_name == "prod-parent"


odd_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["child.yaml", "../child.yaml", "/etc/passwd", "https://x/child.yaml", "AWS::CloudFormation::Stack"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(["Ref", "Fn::Sub", "Fn::Join", "Fn::If", "aws:asset:path", "TemplateURL", "Location", "x"]),
        children,
        max_size=2,
    ),
    max_leaves=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=st.sampled_from(["Type", "Properties", "Metadata", "TemplateURL", "Location", "Parameters", "Condition"]),
    value=odd_values,
)
def test_odd_stack_resources_never_raise(tmp_path_factory: pytest.TempPathFactory, where: str, value: object) -> None:
    directory = tmp_path_factory.mktemp("odd")
    (directory / "child.yaml").write_text("Resources:\n  C: {Type: AWS::ECS::Cluster}\n")
    resource: dict = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "child.yaml"}}
    if where in ("TemplateURL", "Location", "Parameters"):
        resource["Properties"][where] = value
    else:
        resource[where] = value
    (directory / "parent.json").write_text(json.dumps({"Resources": {"Child": resource}}))
    check_paths([str(directory)])
    check_paths([str(directory / "parent.json")])


# -- bounded and contained reading -------------------------------------------------------------------


def test_a_long_chain_of_stack_dependencies_is_ordered_without_recursion(tmp_path: Path) -> None:
    # GIVEN 3,000 stacks, each depending on the one named after it (listed in reverse)
    count = 3000
    artifacts = {}
    for index in range(count):
        name = f"S{index:04d}"
        (tmp_path / f"{name}.template.json").write_text('{"Resources": {}}')
        dependencies = [f"S{index + 1:04d}"] if index + 1 < count else []
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "properties": {"templateFile": f"{name}.template.json"},
            "dependencies": dependencies,
        }
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    # THEN each comes after what it depends on
    names = [t.stack_name for t in load_templates([str(tmp_path)])]
    assert names == [f"S{index:04d}" for index in reversed(range(count))]


def fan_out(directory: Path, resources: int) -> list[str]:
    """parent.json with `resources` nested stacks naming child.json."""
    child = Stack("child")
    child.cluster()
    (directory / "child.json").write_text(json.dumps(child.body()))
    parent = {
        "Resources": {
            f"Child{index}": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "child.json"}}
            for index in range(resources)
        }
    }
    (directory / "parent.json").write_text(json.dumps(parent))
    return [str(directory / "parent.json"), str(directory / "child.json")]


def test_a_child_may_be_instantiated_up_to_the_bound(tmp_path: Path) -> None:
    from constructs_lib.portplan.reader import MAX_INSTANCES

    templates = load_templates(fan_out(tmp_path, MAX_INSTANCES))
    assert len(templates) == MAX_INSTANCES + 1


def test_a_child_instantiated_past_the_bound_is_an_input_error(tmp_path: Path) -> None:
    from constructs_lib.portplan.reader import MAX_INSTANCES

    with pytest.raises(PortPlanInputError, match=r"child.json: nested stacks instantiate this template more than 1,000 times"):
        load_templates(fan_out(tmp_path, MAX_INSTANCES + 1))


def test_cdk_nested_stacks_deeper_than_the_bound_are_reported_not_dropped(tmp_path: Path) -> None:
    # GIVEN 18 levels of CDK nested stacks, a service in the last
    for level in range(18):
        resources: dict = {}
        if level < 17:
            resources["Next"] = {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "https://s3.example.com/x.json"},
                "Metadata": {"aws:asset:path": f"L{level + 1}.nested.template.json"},
            }
        else:
            resources = Stack("Last").body()["Resources"]
        name = "Top.template.json" if level == 0 else f"L{level}.nested.template.json"
        (tmp_path / name).write_text(json.dumps({"Resources": resources}))
    manifest = {"artifacts": {"Top": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Top.template.json"}}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    # THEN the stack past 16 levels is named as not read
    templates = load_templates([str(tmp_path)])
    assert len(templates) == 17
    [(logical_id, why, remedy)] = templates[-1].unlinked
    assert (logical_id, remedy) == ("Next", "check it as a template of its own")
    assert why.endswith("L17.nested.template.json) lies deeper than 16 levels of nested stacks")


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_only_regular_files_are_read(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "t.template.json"
    from constructs_lib.portplan.reader import _parse

    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()

    with pytest.raises(PortPlanInputError, match=r"t.template.json: not a regular file"):
        _parse(str(path), "t.template.json")


def test_files_past_the_size_bound_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import constructs_lib.portplan.reader as reader

    path = tmp_path / "t.template.json"
    path.write_text(json.dumps(Stack().body()))
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", path.stat().st_size)
    assert load_templates([str(path)])  # exactly at the bound: read
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(PortPlanInputError, match=r"t.template.json: larger than"):
        load_templates([str(path)])


def nested_yaml(levels: int) -> str:
    return "Resources:\n  X: " + "[" * (levels - 2) + "]" * (levels - 2) + "\n"


def test_yaml_nests_up_to_the_bound() -> None:
    from constructs_lib.portplan.yaml_loader import MAX_YAML_DEPTH

    assert parse_yaml(nested_yaml(MAX_YAML_DEPTH))["Resources"]["X"] is not None
    with pytest.raises(YamlError, match=r"nests deeper than 100 levels"):
        parse_yaml(nested_yaml(MAX_YAML_DEPTH + 1))


def test_yaml_aliases_and_merge_keys_read_within_the_allowance() -> None:
    text = (
        "Base: &base {Image: nginx, Memory: 128}\n"
        "Web:\n  <<: *base\n  Memory: 256\n"
        "Ports: &ports [80, 443]\n"
        "Again: *ports\n"
    )
    assert parse_yaml(text) == {
        "Base": {"Image": "nginx", "Memory": 128},
        "Web": {"Image": "nginx", "Memory": 256},
        "Ports": [80, 443],
        "Again": [80, 443],
    }


def test_yaml_aliases_past_the_allowance_are_refused() -> None:
    from constructs_lib.portplan.yaml_loader import ALIAS_ALLOWANCE

    # A list of 1,000 items used 100 times expands to 100,000 nodes and more: within the allowance
    # with its own 1,000 nodes and more aliases of it, refused past it.
    items = "[" + ", ".join(["x"] * 1000) + "]"

    def uses(count: int) -> str:
        return f"A: &a {items}\nB: [" + ", ".join(["*a"] * count) + "]\n"

    assert len(parse_yaml(uses(100))["B"]) == 100
    with pytest.raises(YamlError, match=r"aliases expand the document past 100,000 \+ 10 x its"):
        parse_yaml(uses(ALIAS_ALLOWANCE // 1000 + 20))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("A: &a [1, *a]\n", "at line 1 column 11: an alias to a node that contains it"),
        ("A: *nowhere\n", "at line 1 column 4: an undefined alias"),
        ("A: !!set {x: null}\n", "at line 1 column 4: a tag the port plan does not read"),
        ("A: 1\n---\nB: 2\n", "at line 2 column 1: a second document (a template is one YAML document)"),
        ("A: 0x" + "f" * 5000 + "\n", "at line 1 column 4: a number written with more than 4,300 digits"),
        ("A: 0b_\n", "at line 1 column 4: a malformed number"),
    ],
)
def test_yaml_the_loader_refuses_says_where_and_why(text: str, problem: str) -> None:
    with pytest.raises(YamlError) as raised:
        parse_yaml(text)
    assert str(raised.value).startswith(problem)


def test_an_assembly_child_named_twice_gets_a_name_per_instance(tmp_path: Path) -> None:
    child = Stack("Child")
    child.cluster()
    (tmp_path / "Child.nested.template.json").write_text(json.dumps(child.body()))
    parent = {
        "Resources": {
            name: {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "https://s3.example.com/x.json"},
                "Metadata": {"aws:asset:path": "Child.nested.template.json"},
            }
            for name in ("Blue", "Green")
        }
    }
    (tmp_path / "Parent.template.json").write_text(json.dumps(parent))
    manifest = {"artifacts": {"Parent": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Parent.template.json"}}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    names = [os.path.relpath(t.name, tmp_path) for t in load_templates([str(tmp_path)])]
    assert names == ["Parent.template.json", "Child.nested.template.json", "Child.nested.template.json (Parent/Green)"]
    assert check_paths([str(tmp_path)]) == []

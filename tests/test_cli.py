"""The command line door: `port-plan check PATH... [--format text|json|sarif]`, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from portplan_builders import Stack, balanced_app, cross_stack_files, ref, static_app

from constructs_lib.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "portplan"
ROOT = Path(__file__).parent.parent


def many_ports(count: int) -> Stack:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1)
    stack.task("Task", [(p, p, "tcp") for p in range(10000, 10000 + count)])
    stack.service("Service", "Task", desired=1)
    return stack


def duplicate(bad: bool) -> Stack:
    stack = Stack()
    stack.task(
        "Task",
        containers=[
            {"Name": "a", "PortMappings": [{"ContainerPort": 80, "HostPort": 8080}]},
            {"Name": "b", "PortMappings": [{"ContainerPort": 81, "HostPort": 8080 if bad else 8081}]},
        ],
    )
    return stack


def single_task(mapping: tuple[int, int | None, str], mode: str = "bridge") -> Stack:
    stack = Stack()
    stack.task("Task", [mapping], mode=mode)
    return stack


def unknown_cluster(bad: bool) -> Stack:
    stack = static_app(tasks=1, instances=1)
    if bad:
        stack.props("Service")["Cluster"] = {"Fn::ImportValue": "Shared:Cluster"}
    return stack


def scaled(high: int) -> Stack:
    stack = static_app(tasks=2, instances=2)
    stack.scaling("Service", 2, high)
    return stack


def spread(tasks: int) -> Stack:
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=2)
    stack.task("Task", [(80, 0, "tcp")])
    stack.service("Service", "Task", desired=tasks, constraints=[{"Type": "distinctInstance"}])
    return stack


def sized(memory: int | None, *, tasks: int = 1, minimum: int = 0, maximum: int | None = None) -> Stack:
    """Tasks of `memory` MiB (None: no memory at all) with dynamic ports on one t3.micro (998 MiB registered)."""
    stack = Stack()
    stack.cluster()
    stack.capacity(min_size=1)
    container: dict[str, object] = {"Name": "web", "Image": "nginx", "PortMappings": [{"ContainerPort": 80, "HostPort": 0}]}
    if memory is not None:
        container["Memory"] = memory
    stack.task("Task", containers=[container])
    stack.service("Service", "Task", desired=tasks, minimum=minimum, maximum=maximum)
    return stack


# rule -> (compliant case, non-compliant case)
CASES: dict[str, tuple[Callable[[], Stack], Callable[[], Stack]]] = {
    "static-port-overcommit": (lambda: static_app(tasks=2, instances=2), lambda: static_app(tasks=3, instances=2)),
    "scaling-port-overcommit": (lambda: scaled(2), lambda: scaled(10)),
    "placement-constraint-overcommit": (lambda: spread(2), lambda: spread(4)),
    # a task of exactly the 998 MiB a t3.micro registers fits; one MiB more fits nowhere
    "task-exceeds-instance": (lambda: sized(998), lambda: sized(999)),
    "resource-overcommit": (lambda: sized(256, tasks=3), lambda: sized(256, tasks=4)),
    "deployment-resource-deadlock": (
        lambda: sized(256, tasks=2, minimum=100, maximum=200),
        lambda: sized(256, tasks=3, minimum=100, maximum=200),
    ),
    "invalid-task-size": (lambda: sized(128), lambda: sized(None)),
    "deployment-port-deadlock": (
        lambda: static_app(tasks=2, instances=2, minimum=50),
        lambda: static_app(tasks=2, instances=2, minimum=100, maximum=200),
    ),
    "reserved-host-port": (
        lambda: static_app(tasks=1, instances=1),
        lambda: static_app(tasks=1, instances=1, host_port=2375),
    ),
    "reserved-port-limit": (lambda: many_ports(95), lambda: many_ports(96)),
    "duplicate-host-port": (lambda: duplicate(False), lambda: duplicate(True)),
    "invalid-port": (lambda: single_task((80, 8080, "tcp")), lambda: single_task((80, 70000, "tcp"))),
    "host-port-mismatch": (
        lambda: single_task((80, 80, "tcp"), "host"),
        lambda: single_task((80, 8080, "tcp"), "host"),
    ),
    "dynamic-port-health-check": (balanced_app, lambda: balanced_app(health_check_port="8081")),
    "dynamic-port-ingress": (balanced_app, lambda: balanced_app(open_range=None)),
    "static-port-in-dynamic-range": (
        lambda: static_app(tasks=1, instances=1),
        lambda: static_app(tasks=1, instances=1, host_port=40000),
    ),
    "unverifiable": (lambda: unknown_cluster(False), lambda: unknown_cluster(True)),
}
WARNINGS = {"static-port-in-dynamic-range", "unverifiable"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err



def heavy_modules_after(calls: str) -> str:
    """Run CLI `calls` in a fresh interpreter on the fixture assembly; list the jsii/CDK/YAML modules loaded."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; from constructs_lib.cli import main; {calls}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs', 'yaml')))",
        ],
        cwd=FIXTURES,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return loaded.stdout.strip().splitlines()[-1]

def test_every_rule_has_a_cli_case() -> None:
    from constructs_lib.portplan import RULES

    assert set(CASES) == {rule.id for rule in RULES}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_compliant_case_exits_0_with_no_findings(rule: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = CASES[rule][0]().write(tmp_path)
    code, out, err = run(capsys, "check", path, "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["findings"] == []
    # every service is decided: nothing passes in silence
    assert document["summary"]["decided"] == document["summary"]["services"]
    assert document["summary"]["errors"] == document["summary"]["warnings"] == 0


@pytest.mark.parametrize("rule", sorted(CASES))
def test_noncompliant_case_reports_the_rule(rule: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = CASES[rule][1]().write(tmp_path)
    code, out, err = run(capsys, "check", path, "--format", "json")
    findings = json.loads(out)["findings"]
    assert err == ""
    assert code == (0 if rule in WARNINGS else 1)
    assert rule in {f["rule"] for f in findings}
    for finding in findings:
        assert list(finding) == ["rule", "severity", "template", "resource", "path", "message", "fix"]
        assert finding["severity"] == ("warning" if finding["rule"] in WARNINGS else "error")
        assert finding["template"] == os.path.relpath(path) or finding["template"] == path
        assert finding["message"] and finding["fix"]


def test_json_path_is_null_without_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = static_app(tasks=3, instances=2)
    del stack.resources["Service"]["Metadata"]
    code, out, _ = run(capsys, "check", stack.write(tmp_path), "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert code == 1 and finding["path"] is None and finding["resource"] == "Service"


def test_text_format_reads_like_a_compiler(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, err = run(capsys, "check", "cdk-out")
    assert (code, err) == (1, "")
    groups = out.split("\n\n")
    assert groups[-1] == "4 errors, 0 warnings in 3 templates; 2 of 2 services decided\n"
    first = groups[0].splitlines()
    assert (
        first[0]
        == "Net/Asg/InstanceSecurityGroup/Resource (cdk-out/Net.template.json: AsgInstanceSecurityGroupC53F1492)"
    )
    assert first[1].startswith("  error[dynamic-port-ingress]: instances' security group Net/Asg/InstanceSecurityGroup")
    assert first[2].startswith("  fix: allow ingress on Net/Asg/InstanceSecurityGroup from Web/Web/LB/SecurityGroup")
    assert len(first) == 3
    assert any(
        g.startswith("Prod/Api/Service/Service (cdk-out/assembly-Prod/ProdApi2466CF1F.template.json: ServiceD69D759B)")
        for g in groups
    )


def test_text_summary_of_a_clean_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", static_app(tasks=1, instances=1).write(tmp_path))
    assert (code, out) == (0, "0 errors, 0 warnings in 1 template; 1 of 1 service decided\n")


def test_warnings_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", static_app(tasks=1, instances=1, host_port=40000).write(tmp_path))
    assert code == 0
    assert "  warning[static-port-in-dynamic-range]: " in out
    assert out.endswith("0 errors, 1 warning in 1 template; 1 of 1 service decided\n")


def test_yaml_template(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", str(FIXTURES / "yaml" / "short-tags.yaml"), "--format", "json")
    assert code == 1
    # its Fn::If on condition IsProd (false: the stack is short-tags) sets MinimumHealthyPercent 0
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["static-port-overcommit"]


def test_cross_stack_files_line_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the cluster and its one instance in Net, two tasks on tcp/8080 in App, as two files
    monkeypatch.chdir(tmp_path)
    cross_stack_files(tmp_path)
    code, out, _ = run(capsys, "check", "App.template.json", "Net.template.json", "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert code == 1
    assert (finding["rule"], finding["template"]) == ("static-port-overcommit", "App.template.json")
    assert "at most 1 instance" in finding["message"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["check", "bad/invalid.json"],
            "port-plan: error: bad/invalid.json: invalid JSON at line 4 column 5: Expecting ',' delimiter",
        ),
        (
            ["check", "bad/invalid.yaml"],
            "port-plan: error: bad/invalid.yaml: invalid YAML at line 4 column 4: did not find expected key",
        ),
        (
            ["check", "bad/not-a-template.json"],
            "port-plan: error: bad/not-a-template.json: not a CloudFormation template (no Resources mapping)",
        ),
        (["check", "bad/missing.json"], "port-plan: error: bad/missing.json: no such file or directory"),
        (["check", "cdk-out", "bad/missing.json"], "port-plan: error: bad/missing.json: no such file or directory"),
        ([], "port-plan: error: the following arguments are required: COMMAND"),
        (["check"], "port-plan: error: the following arguments are required: PATH"),
        (
            ["check", "cdk-out", "--format", "xml"],
            "port-plan: error: argument --format: invalid choice: 'xml' (choose from 'text', 'json', 'sarif')",
        ),
        (
            ["frobnicate"],
            "port-plan: error: argument COMMAND: invalid choice: 'frobnicate' (choose from 'check', 'plan', 'diagram')",
        ),
        (["check", "cdk-out", "--bogus"], "port-plan: error: unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_and_usage_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, err = run(capsys, *argv)
    assert (code, out, err) == (2, "", message + "\n")


def test_empty_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"port-plan: error: {tmp_path}: no CloudFormation templates found\n"


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0 and "--format {text,json,sarif}" in out


def python_m(*argv: str, cwd: Path = FIXTURES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "constructs_lib", *argv], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_python_m_runs_the_cli_without_jsii() -> None:
    # GIVEN `python -m constructs_lib` WHEN it checks an assembly THEN it exits 1 with JSON on stdout
    result = python_m("check", "cdk-out", "--format", "json")
    assert result.returncode == 1, result.stderr
    assert [f["rule"] for f in json.loads(result.stdout)["findings"]].count("dynamic-port-ingress") == 2
    assert heavy_modules_after("main(['check', 'cdk-out'])") == "[]"


def test_python_m_bad_input_has_no_traceback() -> None:
    result = python_m("check", "bad/invalid.json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        result.stderr
        == "port-plan: error: bad/invalid.json: invalid JSON at line 4 column 5: Expecting ',' delimiter\n"
    )


def test_python_m_output_into_a_closed_pipe_keeps_the_verdict(tmp_path: Path) -> None:
    stack = static_app(tasks=3, instances=2)
    for index in range(40):  # enough findings to overflow a pipe buffer nobody reads
        stack.task(f"Task{index}", [(22, 22, "tcp")])
    path = stack.write(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "constructs_lib", "check", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    assert process.wait(timeout=60) == 1
    assert b"Traceback" not in process.stderr.read()


# -- plan --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_plan_exits_0_even_when_a_service_is_over(
    output: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, err = run(capsys, "plan", "cdk-out", "--format", output)
    assert (code, err) == (0, "")
    if output == "json":
        clusters = json.loads(out)["clusters"]
        assert [(c["stack"], [(s["desired"], s["fits"]) for s in c["services"]]) for c in clusters] == [
            ("Net", [(2, 6)]),  # dynamic ports: 6 tasks of 256 MiB in two t3.micro's 998 MiB
            ("Prod-Api", [(2, 1)]),
        ]
    elif output == "markdown":
        assert out.startswith("### Cluster `ClusterEB0386A7` (stack `Net`)\n")
        assert "| `Prod/Api/Service` | bridge | 2 | `8080:80/tcp` | 0/128 | 1 (ports) | **OVER** |" in out
    else:
        assert out.splitlines()[0].startswith("cluster ClusterEB0386A7 (stack Net): 2 instances")
        assert "8080:80/tcp" in out and out.count("OVER") == 1


def test_plan_text_of_a_static_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", static_app(tasks=2, instances=2).write(tmp_path))
    assert code == 0
    assert out.splitlines()[1].split() == ["offers", "t3.micro:", "2048", "CPU", "units,", "998", "MiB,", "1", "awsvpc"] + [
        "ENI", "per", "instance", "for", "tasks"
    ]
    assert out.splitlines()[3].split() == ["Service", "bridge", "2", "8080:80/tcp", "0/128", "2", "(ports)"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["plan", "bad/invalid.json"],
            "port-plan: error: bad/invalid.json: invalid JSON at line 4 column 5: Expecting ',' delimiter",
        ),
        (["plan", "bad/missing.json"], "port-plan: error: bad/missing.json: no such file or directory"),
        (["plan"], "port-plan: error: the following arguments are required: PATH"),
        (
            ["plan", "cdk-out", "--format", "xml"],
            "port-plan: error: argument --format: invalid choice: 'xml' (choose from 'text', 'json', 'markdown')",
        ),
        (["diagram", "cdk-out"], "port-plan: error: the following arguments are required: -o/--output"),
        (
            ["diagram", "cdk-out", "-o", "plan.pdf"],
            "port-plan: error: plan.pdf: the output must end in .svg, .png or .mmd",
        ),
        (
            ["diagram", "cdk-out", "-o", "nowhere/plan.svg"],
            "port-plan: error: nowhere/plan.svg: no such directory: nowhere",
        ),
        (
            ["diagram", "bad/missing.json", "-o", "plan.mmd"],
            "port-plan: error: bad/missing.json: no such file or directory",
        ),
    ],
)
def test_plan_and_diagram_bad_input_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, err = run(capsys, *argv)
    assert (code, out, err) == (2, "", message + "\n")
    assert not (FIXTURES / "plan.mmd").exists()


def test_diagram_writes_mermaid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "plan.mmd"
    code, out, err = run(capsys, "diagram", str(FIXTURES / "cdk-out"), "-o", str(output))
    assert (code, out, err) == (0, f"wrote {output}\n", "")
    text = output.read_text()
    assert text.startswith("flowchart LR\n")
    assert "[static-port-overcommit]" in text and "[dynamic-port-ingress]" in text


def test_plan_and_diagram_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "--help")
    assert code == 0 and "--format {text,json,markdown}" in out
    code, out, _ = run(capsys, "diagram", "--help")
    assert code == 0 and "-o FILE, --output FILE" in out


def test_python_m_plan_runs_without_jsii(tmp_path: Path) -> None:
    result = python_m("plan", "cdk-out", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["clusters"]) == 2
    diagram = f"main(['diagram', 'cdk-out', '-o', {str(tmp_path / 'plan.mmd')!r}])"
    assert heavy_modules_after(f"main(['plan', 'cdk-out']); {diagram}") == "[]"


# -- parameters, the summary, templates as written by hand ---------------------------------------------

REAL = FIXTURES / "real"


def test_parameters_default_then_given(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a template whose counts, ports and environment come from parameters with defaults
    monkeypatch.chdir(REAL)
    code, out, _ = run(capsys, "check", "params-conditions.yaml")
    assert code == 1
    assert "error[static-port-overcommit]: 3 tasks need tcp/8080 on capacity Asg" in out
    assert "DesiredCount=3, its default; Environment=prod, its default" in out
    assert out.endswith("1 error, 0 warnings in 1 template; 1 of 1 service decided\n")
    # WHEN the values are given THEN they win, for every stack declaring them or for one stack
    assert run(capsys, "check", "params-conditions.yaml", "--parameter", "InstanceCount=3")[0] == 0
    assert run(capsys, "check", "params-conditions.yaml", "--parameter", "InstanceCount=3.0")[0] == 0
    assert run(capsys, "check", "params-conditions.yaml", "--parameter", "params-conditions:InstanceCount=3")[0] == 0
    code, _, _ = run(
        capsys, "check", "params-conditions.yaml", "--parameter", "params-conditions:InstanceCount=3",
        "--parameter", "InstanceCount=1",
    )
    assert code == 0  # STACK:NAME wins over NAME for its stack
    # and the condition chooses the other service: dynamic ports, nothing to report
    assert run(capsys, "check", "params-conditions.yaml", "--parameter", "Environment=dev")[0] == 0


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("Nope=1", "--parameter Nope=1: no top-level template given declares parameter Nope"),
        ("other:InstanceCount=3", "--parameter other:InstanceCount=3: no top-level stack other given declares parameter InstanceCount"),
        ("Environment=staging", "--parameter Environment=staging: params-conditions.yaml allows only dev, prod for parameter Environment"),
        ("InstanceCount=many", "--parameter InstanceCount=many: parameter InstanceCount of params-conditions.yaml is a Number"),
        ("InstanceCount=nan", "--parameter InstanceCount=nan: parameter InstanceCount of params-conditions.yaml is a Number"),
        ("InstanceCount=\u0663", "--parameter InstanceCount=\u0663: parameter InstanceCount of params-conditions.yaml is a Number"),
        ("InstanceCount=1_0", "--parameter InstanceCount=1_0: parameter InstanceCount of params-conditions.yaml is a Number"),
        ("InstanceCount", "--parameter InstanceCount: expected NAME=VALUE or STACK:NAME=VALUE"),
    ],
)
def test_bad_parameter_values_exit_2_with_one_line(
    argument: str, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REAL)
    for command in ("check", "plan"):
        code, out, err = run(capsys, command, "params-conditions.yaml", "--parameter", argument)
        assert (code, out, err) == (2, "", f"port-plan: error: {message}\n")


def test_a_nested_stacks_parameter_is_set_by_its_parent(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REAL)
    code, _, err = run(capsys, "check", "nested", "nested/services/web/service.yaml", "--parameter", "DesiredCount=5")
    assert code == 2
    assert "parameter DesiredCount belongs to nested stack nested/services/web/service.yaml" in err


def test_json_summary_counts_decided_services(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = balanced_app()
    stack.parameters["Count"] = {"Type": "Number"}
    stack.props("Service")["DesiredCount"] = ref("Count")
    path = stack.write(tmp_path)
    code, out, _ = run(capsys, "check", path, "--format", "json")
    document = json.loads(out)
    assert code == 0
    assert document["summary"] == {"errors": 0, "warnings": 1, "templates": 1, "services": 1, "decided": 0}
    code, out, _ = run(capsys, "check", path, "--format", "json", "--parameter", "Count=2")
    assert json.loads(out)["summary"]["decided"] == 1
    code, out, _ = run(capsys, "check", path)
    assert out.endswith("0 errors, 1 warning in 1 template; 0 of 1 service decided\n")

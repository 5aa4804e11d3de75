"""The benchmarks' own parts, fast and without timing assertions: the synthetic assembly generator
(read by the CLI, clean, deterministic) and the helpers that compute the reported figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import scale_inputs
from benchmarks.bench_check import keep_command, parse_command
from benchmarks.bench_scale import run_peak
from benchmarks.bench_tests import parse_durations, parse_summary
from benchmarks.common import median, overhead_percent, ratio
from benchmarks.generate_assembly import KINDS, generate, logical_id
from tests.conftest import ROOT

SERVICES = 100


def _templates(directory: Path):
    manifest = json.loads((directory / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "aws:cloudformation:stack":
            yield json.loads((directory / artifact["properties"]["templateFile"]).read_text())


def _resources(directory: Path, kind: str):
    return [r for t in _templates(directory) for r in t["Resources"].values() if r["Type"] == kind]


def _check(directory: Path):
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib", "check", str(directory), "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    return result.returncode, result


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bench") / "assembly"
    summary = generate(str(directory), SERVICES, seed=1)
    return directory, summary


def test_the_cli_reads_the_generated_assembly_clean(assembly):
    directory, _ = assembly
    code, result = _check(directory)
    assert code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["findings"] == []
    assert document["summary"]["decided"] == document["summary"]["services"] == SERVICES


def test_the_assembly_has_the_services_asked_for(assembly):
    directory, summary = assembly
    assert summary.services == SERVICES
    assert len(_resources(directory, "AWS::ECS::Service")) == SERVICES
    assert len(_resources(directory, "AWS::ECS::TaskDefinition")) == SERVICES
    assert set(summary.kinds) == set(KINDS)
    assert sum(summary.kinds.values()) == SERVICES


def test_the_assembly_is_shaped_like_cdk_output(assembly):
    directory, summary = assembly
    for template in _templates(directory):
        assert "BootstrapVersion" in template["Parameters"]
        for logical, resource in template["Resources"].items():
            assert resource["Metadata"]["aws:cdk:path"].count("/") >= 2, logical
    [template] = [t for t in _resources(directory, "AWS::EC2::LaunchTemplate")][:1]
    joined = template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    assert joined[0].endswith("ECS_CLUSTER=") and set(joined[1]) == {"Ref"}
    assert "ECS_DYNAMIC_HOST_PORT_RANGE=32768-60999" in joined[2]
    groups = _resources(directory, "AWS::AutoScaling::AutoScalingGroup")
    assert all(isinstance(g["Properties"]["MinSize"], str) for g in groups)
    assert all("Fn::GetAtt" in g["Properties"]["LaunchTemplate"]["Version"] for g in groups)
    assert summary.clusters == len(_resources(directory, "AWS::ECS::Cluster"))


def test_cross_stack_services_import_what_another_stack_exports(assembly):
    directory, summary = assembly
    exports, imports = set(), set()
    for template in _templates(directory):
        exports |= {o["Export"]["Name"] for o in template.get("Outputs", {}).values() if "Export" in o}
        for resource in template["Resources"].values():
            cluster = resource["Properties"].get("Cluster") if resource["Type"] == "AWS::ECS::Service" else None
            if isinstance(cluster, dict) and "Fn::ImportValue" in cluster:
                imports.add(cluster["Fn::ImportValue"])
    assert summary.cross_stack_clusters > 0
    assert imports and imports <= exports


def test_a_broken_plan_in_the_same_shape_is_caught(assembly, tmp_path):
    """The clean result is the checker's verdict, not a reader that skipped everything."""
    directory, _ = assembly
    broken = tmp_path / "broken"
    generate(str(broken), SERVICES, seed=1)
    path = broken / "Platform001.template.json"
    template = json.loads(path.read_text())
    static = next(
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::ECS::Service" and r["Properties"].get("DeploymentConfiguration", {}).get("MaximumPercent") == 100
        and "DesiredCount" in r["Properties"]
    )
    static["Properties"]["DesiredCount"] = 99
    path.write_text(json.dumps(template, indent=1))
    code, result = _check(broken)
    assert code == 1, result.stderr
    assert "static-port-overcommit" in {f["rule"] for f in json.loads(result.stdout)["findings"]}


def test_generation_is_deterministic(tmp_path):
    def files(seed, name):
        directory = tmp_path / name
        generate(str(directory), 60, seed=seed)
        return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}

    first = files(7, "a")
    assert files(7, "b") == first
    assert files(8, "c") != first


def test_logical_ids_look_like_cdk_ones():
    assert logical_id(["Cluster0001", "Cluster", "Resource"]) == logical_id(["Cluster0001", "Cluster", "Resource"])
    assert logical_id(["Cluster0001", "Cluster", "Resource"]).startswith("Cluster0001Cluster")
    assert len(logical_id(["A", "Resource"])) == len("A") + 8
    assert logical_id(["A", "B"]) != logical_id(["AB"])


@pytest.mark.parametrize("command", [parse_command, keep_command])
def test_the_parse_baselines_read_every_template(assembly, command):
    directory, _ = assembly
    argv = command(str(directory))
    assert "json.loads(f.read())" in argv[2]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "values, expected",
    [([3.0], 3.0), ([5.0, 1.0, 3.0], 3.0), ([4.0, 1.0, 3.0, 2.0], 2.5), ([1, 1, 9, 9, 100], 9.0)],
)
def test_median_is_the_middle_value(values, expected):
    assert median(values) == expected


def test_median_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        median([])


def test_ratio_and_overhead():
    assert ratio(6.0, 2.0) == 3.0
    assert ratio(1.0, 0.0) == float("inf")
    assert overhead_percent(1.05, 1.0) == pytest.approx(5.0)
    assert overhead_percent(0.9, 1.0) == pytest.approx(-10.0)


PYTEST_OUTPUT = """\
....F.
============================= slowest 10 durations =============================
11.88s setup    tests/test_app.py::test_cdk_synth_passes_both_plugins
2.10s call     tests/test_doors.py::test_rule[a b]
0.26s teardown tests/test_x.py::test_y

(7 durations < 0.005s hidden.  Use -vv to show these durations.)
=========================== short test summary info ============================
FAILED tests/test_x.py::test_z - AssertionError
1 failed, 5 passed in 35.21s
"""


def test_pytest_durations_are_parsed():
    rows = parse_durations(PYTEST_OUTPUT)
    assert [r["seconds"] for r in rows] == [11.88, 2.10, 0.26]
    assert [r["phase"] for r in rows] == ["setup", "call", "teardown"]
    assert rows[1]["test"] == "tests/test_doors.py::test_rule[a b]"
    assert parse_summary(PYTEST_OUTPUT) == "1 failed, 5 passed in 35.21s"
    assert parse_summary("==== 3 passed in 1.00s (0:00:01) ====") == "3 passed in 1.00s (0:00:01)"


# -- the scale inputs and the peak-memory probe ----------------------------------------------------------------


def _services(directory: Path):
    return [r for t in _templates(directory) for r in t["Resources"].values() if r["Type"] == "AWS::ECS::Service"]


def _host_ports(directory: Path):
    return [
        {m["HostPort"] for c in r["Properties"]["ContainerDefinitions"] for m in c["PortMappings"]}
        for t in _templates(directory) for r in t["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"
    ]


def test_the_shared_pool_draws_ports_from_the_pool(tmp_path):
    scale_inputs.shared_pool(str(tmp_path), 60, instances=7, pool=10, per_service=3)
    held = _host_ports(tmp_path)
    assert len(_services(tmp_path)) == len(held) == 60
    assert all(len(ports) == 3 and ports <= set(range(8000, 8010)) for ports in held)
    assert len(set().union(*held)) == 10  # the services compete for the whole pool


def test_the_ring_links_each_service_to_the_next(tmp_path):
    scale_inputs.ring(str(tmp_path), 5, instances=2)
    assert _host_ports(tmp_path) == [{8000, 8001}, {8001, 8002}, {8002, 8003}, {8003, 8004}, {8004, 8000}]


def test_the_compact_assembly_is_clean_and_small_per_service(tmp_path):
    written = scale_inputs.compact(str(tmp_path), 30, per_stack=10)
    assert len(list(_templates(tmp_path))) == 3 and len(_services(tmp_path)) == 30
    assert written / 30 < 1_000  # bytes per service: a service, its task definition, a share of the rest
    code, result = _check(tmp_path)
    assert code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert report["summary"] == {"templates": 3, "services": 30, "decided": 30, "errors": 0, "warnings": 0}


def test_peak_memory_is_the_commands_own():
    # the probe starts the command from a small process of its own: the test process's memory is not counted
    _, small = run_peak([sys.executable, "-c", "pass"], (0,))
    _, large = run_peak([sys.executable, "-c", "block = bytearray(200_000_000); block[::4096] = b'x' * len(block[::4096])"], (0,))
    assert small < 60 and 190 < large < 300

"""The EC2 instance-type facts: the committed data, its lazy loader, and the script that builds it."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from constructs_lib.portplan import instance_types
from constructs_lib.portplan.instance_types import InstanceType, instance_type, known_instance_types, source

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "generate_instance_types.py"
SAMPLE = Path(__file__).parent / "fixtures" / "instance_types"
SAMPLE_EC2_REVISION = "sample of moto 5.2.5's instance_types.json.gz (2026-10-27)"
SAMPLE_ECS_REVISION = "sample of awsdocs/amazon-ecs-developer-guide@a35b7671c57c (2023-04-18)"


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_instance_types", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


generator = load_generator()


def generate(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=60)


def generate_sample(output: Path, ec2: Path = SAMPLE / "instance_types.json") -> subprocess.CompletedProcess[str]:
    return generate(
        "--ec2", str(ec2), "--ec2-revision", SAMPLE_EC2_REVISION,
        "--ecs-trunking", str(SAMPLE / "ecs_trunking.md"), "--ecs-revision", SAMPLE_ECS_REVISION,
        "-o", str(output),
    )


# --- the committed data -------------------------------------------------------------------------

# Checked by hand against the EC2 instance-type pages (vCPUs, memory, network interfaces, IPv4 per
# interface) and the ECS guide's trunking tables (as of the archived 2023-04-18 copy).
KNOWN = {
    "t3.small": (2, 2048, 3, 4, ("x86_64",), None),
    "t3a.small": (2, 2048, 2, 4, ("x86_64",), None),
    "t2.micro": (1, 1024, 2, 2, ("x86_64",), None),
    "m5.large": (2, 8192, 3, 10, ("x86_64",), 10),
    "c5.large": (2, 4096, 3, 10, ("x86_64",), 10),
    "c6g.xlarge": (4, 8192, 4, 15, ("arm64",), 20),
    "t4g.micro": (2, 1024, 2, 2, ("arm64",), None),
    "r7i.large": (2, 16384, 3, 10, ("x86_64",), None),
    "r7i.2xlarge": (8, 65536, 4, 15, ("x86_64",), None),
    "m5.metal": (96, 393216, 15, 50, ("x86_64",), None),
    "c7g.metal": (64, 131072, 15, 50, ("arm64",), 120),
    "p4d.24xlarge": (96, 1179648, 60, 50, ("x86_64",), 120),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_types_have_the_published_facts(name: str) -> None:
    vcpus, memory_mib, max_enis, ipv4_per_eni, architectures, trunking = KNOWN[name]
    assert instance_type(name) == InstanceType(name, vcpus, memory_mib, max_enis, ipv4_per_eni, architectures, trunking)


def test_derived_figures_follow_ecs() -> None:
    # ECS's own example: a c5.large runs 2 awsvpc tasks, 10 with trunking; 1024 CPU units per vCPU.
    c5 = instance_type("c5.large")
    assert c5 is not None
    assert (c5.awsvpc_task_limit, c5.trunking_task_limit, c5.cpu_units) == (2, 10, 2048)
    small = instance_type("t3.small")
    assert small is not None
    assert (small.awsvpc_task_limit, small.trunking_task_limit) == (2, None)


@pytest.mark.parametrize("name", ["t3.humongous", "T3.small", " t3.small", "", "t3", "mac2.metal"])
def test_unknown_names_are_none(name: str) -> None:
    assert instance_type(name) is None
    assert name not in known_instance_types()


def test_known_instance_types_are_the_records() -> None:
    names = known_instance_types()
    assert isinstance(names, frozenset)
    assert names == set(instance_types._load()[1])
    assert {"t3.small", "m5.large", "c6g.xlarge"} <= names


def test_header_names_its_sources_with_revision_and_date() -> None:
    document = json.loads(Path(instance_types.DATA_FILE).read_text())
    assert source() == document["source"]
    assert "moto" in source() and "ECS" in source()
    for name in ("ec2", "ecs_trunking"):
        assert re.search(r"\d{4}-\d{2}-\d{2}", document["sources"][name]["revision"]), name
    assert document["sources"]["ecs_trunking"]["url"].startswith("https://docs.aws.amazon.com/AmazonECS/")
    assert document["count"] == len(document["instance_types"]) == len(known_instance_types())
    assert document["columns"] == list(generator.COLUMNS)


def test_every_record_is_sane() -> None:
    for name, facts in instance_types._load()[1].items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9-]+", name), name
        assert facts.vcpus >= 1 and facts.memory_mib >= 512, name
        assert facts.max_enis >= 2 and facts.ipv4_per_eni >= 2, name
        assert facts.architectures and set(facts.architectures) <= {"x86_64", "arm64"}, name
        if facts.trunking_task_limit is not None:
            assert facts.trunking_task_limit >= facts.awsvpc_task_limit, name


def test_graviton_families_are_arm64_and_only_they() -> None:
    # AWS names Graviton families with a "g" after the generation (c6g, m7gd, x2gd, im4gn); a1 is Graviton 1.
    for name, facts in instance_types._load()[1].items():
        family = name.split(".")[0]
        graviton = family == "a1" or re.match(r"[a-z]+\d+g", family) is not None
        assert (facts.architectures == ("arm64",)) == graviton, name


@pytest.mark.parametrize(
    "family",
    ["t3", "t3a", "t4g", "m5", "m6i", "m6g", "m7i", "m7g", "m8g", "c5", "c6i", "c7g", "c8g", "r5", "r6g", "r7i", "r8g",
     "x2gd", "i4i", "i4g", "d3", "g5", "g6", "p4d", "p5", "inf2", "trn1", "hpc7g", "u7i-12tb", "z1d"],
)
def test_current_families_of_every_category_are_there(family: str) -> None:
    assert any(name.startswith(f"{family}.") for name in known_instance_types())


def test_committed_file_is_in_the_generators_form() -> None:
    # A hand edit that changes layout or order shows here: the file is exactly what render() writes.
    text = Path(instance_types.DATA_FILE).read_text()
    assert generator.render(json.loads(text)) == text


# --- loaded lazily ------------------------------------------------------------------------------

PROBE = """
import json, sys, time
opened = []
def watch(event, args):
    if event == "open" and "instance_types.json" in str(args[0]):
        opened.append(str(args[0]))
sys.addaudithook(watch)
import constructs_lib.cli, constructs_lib.portplan
from constructs_lib.portplan import instance_types
before = {"opened": list(opened), "cached": instance_types._load.cache_info().currsize}
start = time.perf_counter()
found = instance_types.instance_type("t3.small")
first = time.perf_counter() - start
start = time.perf_counter()
instance_types.instance_type("m5.large")
second = time.perf_counter() - start
print(json.dumps({"before": before, "after": len(opened), "found": found.name, "first": first, "second": second}))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_cli_and_the_port_plan_does_not_read_the_data(probe: dict) -> None:
    assert probe["before"] == {"opened": [], "cached": 0}
    # The hook does see the file once a lookup needs it, and only then.
    assert (probe["after"], probe["found"]) == (1, "t3.small")


def test_the_first_lookup_is_quick(probe: dict) -> None:
    # About 3 ms here (one JSON file of ~80 KB); the bound leaves room for a busy 2-core machine.
    assert probe["first"] < 0.25
    assert probe["second"] < 0.001


# --- the generator ------------------------------------------------------------------------------


def test_sample_regenerates_to_the_committed_expectation(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert generate_sample(first).returncode == 0
    assert generate_sample(second).returncode == 0
    assert first.read_bytes() == second.read_bytes() == (SAMPLE / "expected.json").read_bytes()


def test_input_order_does_not_change_the_output(tmp_path: Path) -> None:
    records = json.loads((SAMPLE / "instance_types.json").read_text())
    reversed_list = tmp_path / "reversed.json"
    reversed_list.write_text(json.dumps({"InstanceTypes": list(reversed(records.values()))}))
    output = tmp_path / "out.json"
    assert generate_sample(output, ec2=reversed_list).returncode == 0
    assert output.read_bytes() == (SAMPLE / "expected.json").read_bytes()


def test_ecs_page_rows_escapes_and_exclusions() -> None:
    page = generator.parse_ecs_trunking((SAMPLE / "ecs_trunking.md").read_text())
    assert page.rows["u-6tb1.56xlarge"] == ("14", "12")
    assert page.rows["i4i.large"] == ("2", "-2")
    assert page.rows["m5.large"] == ("2", "10")
    assert "Instance type" not in page.rows
    assert page.unsupported_types == {"c5a.8xlarge", "m5.metal"}
    assert page.unsupported_families == {"m5n", "u-6tb1"}


def test_ecs_page_without_rows_is_refused() -> None:
    with pytest.raises(generator.SourceError, match="no rows"):
        generator.parse_ecs_trunking("# A page\n\nNo table here.\n")


def sample_document() -> dict:
    records = json.loads((SAMPLE / "instance_types.json").read_text()).values()
    page = generator.parse_ecs_trunking((SAMPLE / "ecs_trunking.md").read_text())
    return generator.build(records, page, "ec2 rev", "ecs rev")


def test_trunking_limits_only_where_ecs_publishes_a_usable_one() -> None:
    rows = sample_document()["instance_types"]
    limits = {name: row[-1] for name, row in rows.items()}
    assert limits["m5.large"] == 10 and limits["c6g.xlarge"] == 20 and limits["p4d.24xlarge"] == 120
    assert limits["c5a.8xlarge"] is None  # listed, but named not supported
    assert limits["m5n.large"] is None  # listed, but its family is named not supported
    assert limits["i4i.large"] is None  # listed as -2
    assert limits["t3.small"] is None and limits["r7i.large"] is None  # not listed


def test_macos_types_are_left_out_and_i386_dropped() -> None:
    document = sample_document()
    assert "mac2.metal" not in document["instance_types"]
    assert document["instance_types"]["t2.micro"][4] == ["x86_64"]
    assert document["instance_types"]["c6g.xlarge"][4] == ["arm64"]
    assert any("mac2.metal" in note for note in document["notes"])


def test_notes_name_every_dropped_or_inconsistent_row() -> None:
    notes = "\n".join(sample_document()["notes"])
    expected = ("c5a.8xlarge", "m5n.large", "u-6tb1.56xlarge", "i4i.large (-2)", "a1.medium",
                "c6in.32xlarge (ECS 13, EC2 16 ENIs)")
    for name in expected:
        assert name in notes, name


def test_a_moto_wheel_names_its_own_revision(tmp_path: Path) -> None:
    wheel = tmp_path / "moto-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        member = zipfile.ZipInfo(generator.MOTO_MEMBER, date_time=(2026, 10, 27, 22, 45, 0))
        archive.writestr(member, gzip.compress((SAMPLE / "instance_types.json").read_bytes(), mtime=0))
    records, revision = generator.load_ec2(str(wheel))
    assert revision == f"moto 9.9.9 from PyPI, {generator.MOTO_MEMBER} of 2026-10-27"
    assert {record["InstanceType"] for record in records} >= {"t3.small", "mac2.metal"}
    output = tmp_path / "out.json"
    result = generate("--ec2", str(wheel), "--ecs-trunking", str(SAMPLE / "ecs_trunking.md"),
                      "--ecs-revision", "r", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert json.loads(output.read_text())["sources"]["ec2"]["revision"] == revision


def test_a_gzipped_dump_reads_like_a_plain_one(tmp_path: Path) -> None:
    packed = tmp_path / "instance_types.json.gz"
    packed.write_bytes(gzip.compress((SAMPLE / "instance_types.json").read_bytes()))
    assert generator.load_ec2(str(packed)) == generator.load_ec2(str(SAMPLE / "instance_types.json"))


def bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    records = json.loads((SAMPLE / "instance_types.json").read_text())
    del records["m5.large"]["MemoryInfo"]
    no_memory = tmp_path / "no_memory.json"
    no_memory.write_text(json.dumps(records))
    fake_wheel = tmp_path / "moto-1.0-py3-none-any.whl"
    fake_wheel.write_text("{}")
    page = ["--ecs-trunking", str(SAMPLE / "ecs_trunking.md"), "--ecs-revision", "r"]
    return {
        "missing fact": (["--ec2", str(no_memory), "--ec2-revision", "r", *page], "m5.large: MemoryInfo.SizeInMiB"),
        "no revision": (["--ec2", str(SAMPLE / "instance_types.json"), *page], "--ec2-revision is needed"),
        "missing file": (["--ec2", str(tmp_path / "nowhere.json"), "--ec2-revision", "r", *page], "cannot read"),
        "not JSON": (["--ec2", str(SAMPLE / "ecs_trunking.md"), "--ec2-revision", "r", *page], "is not JSON"),
        "not a moto wheel": (["--ec2", str(fake_wheel), *page], "is not a moto wheel"),
    }


@pytest.mark.parametrize("case", ["missing fact", "no revision", "missing file", "not JSON", "not a moto wheel"])
def test_bad_input_is_one_line_and_writes_nothing(case: str, tmp_path: Path) -> None:
    argv, expected = bad_inputs(tmp_path)[case]
    output = tmp_path / "out.json"
    result = generate(*argv, "-o", str(output))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and expected in result.stderr
    assert not output.exists()

"""The library installs as a typed package with ranges, not pins, so company stacks can reuse it."""

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Build from a clean copy: an in-tree build/ left by an earlier build would carry old modules in,
    # or hide a file that pyproject no longer declares.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "constructs_lib", source / "constructs_lib", ignore=shutil.ignore_patterns("__pycache__"))
    outdir = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(outdir), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [built] = outdir.glob("constructs_lib-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_carries_the_constructs_the_port_plan_and_py_typed(wheel):
    names = set(wheel.namelist())
    for module in ("__init__", "cluster", "plugin", "cli", "testing", "portplan/plan", "portplan/instance_types"):
        assert f"constructs_lib/{module}.py" in names
    sources = {path.relative_to(ROOT).as_posix() for path in (ROOT / "constructs_lib").rglob("*.py")}
    assert sources - names == set(), "modules missing from the wheel"
    assert "constructs_lib/py.typed" in names
    assert not any(name.startswith(("tests/", "stacks/", "benchmarks/", "scripts/")) for name in names)


def test_wheel_carries_the_instance_type_data_whole(wheel):
    shipped = wheel.read("constructs_lib/portplan/data/instance_types.json")
    assert shipped == (ROOT / "constructs_lib" / "portplan" / "data" / "instance_types.json").read_bytes()


def test_dependencies_are_compatible_ranges(wheel):
    requires = [line.split(":", 1)[1].strip() for line in _metadata(wheel) if line.startswith("Requires-Dist:")]
    assert "aws-cdk-lib<3,>=2.275" in requires
    assert "constructs<11,>=10" in requires
    assert not any("==" in requirement.split(";")[0] for requirement in requires)


def _metadata(wheel: zipfile.ZipFile) -> list[str]:
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return wheel.read(metadata).decode().splitlines()


def test_python_floor_is_what_the_code_and_its_dependencies_need(wheel):
    from importlib.metadata import metadata

    from packaging.specifiers import SpecifierSet

    [floor] = [line.split(":", 1)[1].strip() for line in _metadata(wheel) if line.startswith("Requires-Python:")]
    assert floor == ">=3.10"  # dataclass(slots=True) and X | Y annotations evaluated at run time
    ours = SpecifierSet(floor)
    for dependency in ("aws-cdk-lib", "constructs", "cdk-nag"):
        theirs = SpecifierSet(metadata(dependency)["Requires-Python"])
        # every Python we accept, down to our floor, is one each dependency accepts too
        for minor in range(0, 15):
            version = f"3.{minor}"
            if version in ours:
                assert version in theirs, f"{dependency} needs {theirs}, we accept Python {version}"


def test_the_cli_installs_as_port_plan(wheel):
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    lines = wheel.read(entry_points).decode().splitlines()
    assert lines[lines.index("[console_scripts]") + 1] == "port-plan = constructs_lib.cli:main"


def test_the_test_kit_extra_brings_pytest_and_syrupy(wheel):
    extra = [line for line in _metadata(wheel) if line.startswith("Requires-Dist:") and "extra == \"test\"" in line]
    assert {line.split(":", 1)[1].split(";")[0].strip().split(">")[0] for line in extra} == {"pytest", "syrupy"}

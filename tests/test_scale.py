"""Bounded work on large and adversarial inputs: answered (a verdict, never a crash or a hang) in time.

Every input is generated here, at test time (benchmarks/scale_inputs.py); the CLI runs as a whole
process, as in CI. The time limits are the goals (the measured figures are in benchmarks/RESULTS.md:
a few times below them); the inputs of 25,000 services and of 200 MB are marked slow.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks import scale_inputs
from benchmarks.bench_scale import run_peak
from benchmarks.generate_assembly import generate
from tests.conftest import ROOT

MEASURED_LIMIT = 2.0
"""Seconds for each input the issue measured (a crash, a hang, minutes)."""
SCALE_LIMIT = 10.0
"""Seconds for each command on 25,000 services sharing a pool of 40 ports."""


def run(command: str, directory: Path, *extra: str, limit: float) -> subprocess.CompletedProcess[str]:
    """Run the CLI; it must finish within `limit` seconds, with a verdict (exit 0 or 1) and no traceback."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib", command, str(directory), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=max(120.0, limit * 10),
    )
    elapsed = time.perf_counter() - started
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert elapsed < limit, f"{command} {directory.name} took {elapsed:.1f} s (limit {limit:.0f} s)"
    return result


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return json.loads(result.stdout)["findings"]  # type: ignore[no-any-return]


def errors(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {f["resource"] for f in findings(result) if f["rule"] == "static-port-overcommit" and f["severity"] == "error"}


def plan_rows(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for c in json.loads(result.stdout)["clusters"] for s in c["services"]}


def over(rows: dict[str, dict[str, Any]]) -> set[str]:
    from constructs_lib.portplan.plan import is_over

    return {key for key, row in rows.items() if is_over(row)}


# -- the inputs the issue measured ------------------------------------------------------------------------


@pytest.mark.parametrize("instances, overcommitted", [(150, False), (60, True)])
def test_a_thousand_services_sharing_ports_are_decided(tmp_path: Path, instances: int, overcommitted: bool) -> None:
    # GIVEN 1,000 services each holding 3 of 40 ports (each port wanted about 75 times): once a RecursionError
    scale_inputs.shared_pool(str(tmp_path), 1_000, instances=instances)
    # WHEN checked and planned THEN both answer in time and agree
    check = run("check", tmp_path, "--format", "json", limit=MEASURED_LIMIT)
    plan = run("plan", tmp_path, "--format", "json", limit=MEASURED_LIMIT)
    rows = plan_rows(plan)
    assert len(rows) == 1_000
    assert errors(check) == over(rows)
    assert check.returncode == (1 if overcommitted else 0)
    assert bool(errors(check)) is overcommitted


def test_an_odd_ring_of_a_thousand_services_is_answered_without_recursion(tmp_path: Path) -> None:
    # GIVEN 1,001 services in a ring on 2 instances: every port is wanted twice, yet an odd ring needs 3;
    # no greedy placement and no count proves either way, and the exact search runs out of its budget
    scale_inputs.ring(str(tmp_path), 1_001, instances=2)
    check = run("check", tmp_path, "--format", "json", limit=2 * MEASURED_LIMIT)
    # THEN every service is said to be unverifiable, naming the budget; nothing is blamed on a guess
    said = findings(check)
    assert {f["rule"] for f in said} == {"unverifiable"} and len(said) == 1_001
    assert all("ran out of its budget" in f["message"] for f in said)
    # each naming a few of the ports and services, not all 1,001 (the output grows with the input, not its square)
    assert max(len(f["message"]) for f in said) < 1_000
    # and the plan gives bounds that hold the truth (none of the tasks fits beside the others' for
    # certain, one at most), marking none over
    rows = plan_rows(run("plan", tmp_path, "--format", "json", limit=2 * MEASURED_LIMIT))
    assert {tuple(r["fits_range"]) for r in rows.values()} == {(0, 1)}
    assert over(rows) == set()


@pytest.mark.parametrize("desired, needed", [(2, None), (400_000_000, 1_200_000_000)])
def test_a_billion_instances_are_counted_not_enumerated(tmp_path: Path, desired: int, needed: int | None) -> None:
    # GIVEN three services pairwise sharing a port, `desired` tasks each, on MaxSize 1,000,000,000
    scale_inputs.huge_capacity(str(tmp_path), desired=desired)
    check = run("check", tmp_path, "--format", "json", limit=MEASURED_LIMIT)
    plan = plan_rows(run("plan", tmp_path, "--format", "json", limit=MEASURED_LIMIT))
    if needed is None:
        # THEN 6 tasks fit, and each service fits what the other two leave of the billion
        assert findings(check) == []
        assert {r["fits"] for r in plan.values()} == {1_000_000_000 - 2 * desired}
        return
    # THEN 1,200,000,000 tasks that pairwise conflict need as many instances: all three are over
    assert errors(check) == over(plan) == set(plan)
    assert all(f"they need {needed} instances" in f["message"] for f in findings(check))
    assert {r["fits"] for r in plan.values()} == {200_000_000}


def test_plan_of_250_services_sharing_ports_shares_checks_work(tmp_path: Path) -> None:
    # GIVEN 250 services each holding 3 of 40 ports on 40 instances: 205 s for `plan` once
    scale_inputs.shared_pool(str(tmp_path), 250, instances=40)
    # THEN `plan` answers in time: each service's fit exact or bounded, never below its count
    rows = plan_rows(run("plan", tmp_path, "--format", "json", limit=MEASURED_LIMIT))
    assert len(rows) == 250 and over(rows) == set()
    for row in rows.values():
        low = row["fits"] if row["fits"] is not None else row["fits_range"][0]
        assert low >= row["desired"]
    assert run("check", tmp_path, "--format", "json", limit=MEASURED_LIMIT).returncode == 0


# -- the scale goals ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pools(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """25,000 services each holding 3 of 40 ports: with room for them, and on 20 instances."""
    found = {}
    for name, instances in (("room", 2_100), ("tight", 20)):
        directory = tmp_path_factory.mktemp(name)
        scale_inputs.shared_pool(str(directory), 25_000, instances=instances)
        found[name] = directory
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", ["room", "tight"])
def test_25000_services_sharing_a_pool_of_40_ports(pools: dict[str, Path], name: str, tmp_path: Path) -> None:
    directory = pools[name]
    # WHEN checked, planned and drawn THEN each answers within the goal
    check = run("check", directory, "--format", "json", limit=SCALE_LIMIT)
    rows = plan_rows(run("plan", directory, "--format", "json", limit=SCALE_LIMIT))
    run("diagram", directory, "-o", str(tmp_path / "pool.mmd"), limit=SCALE_LIMIT)
    assert (tmp_path / "pool.mmd").stat().st_size > 0
    # and the doors agree: on 2,100 instances every task fits (a greedy placement proves it); on 20,
    # every port is wanted by far more tasks than there are instances, and every service is over
    assert len(rows) == 25_000
    assert errors(check) == over(rows)
    if name == "room":
        assert findings(check) == [] and check.returncode == 0
    else:
        assert len(errors(check)) == 25_000 and {r["fits"] for r in rows.values()} == {0}


@pytest.mark.slow
@pytest.mark.parametrize("instances", [2_100, 20])
def test_25000_services_deploying_with_the_rolling_defaults(tmp_path: Path, instances: int) -> None:
    # GIVEN the same 25,000 services, deployed with ECS's rolling defaults (100 %, 200 %): the deadlock
    # rule sums, for each one, the tasks of every service sharing one of its ports (over 120 s once)
    scale_inputs.shared_pool(str(tmp_path), 25_000, instances=instances, rolling=True)
    # WHEN checked THEN it answers within the goal
    check = run("check", tmp_path, "--format", "json", limit=SCALE_LIMIT)
    deadlocked = {f["resource"] for f in findings(check) if f["rule"] == "deployment-port-deadlock"}
    if instances == 20:
        # and on 20 instances, where every port is held by far more tasks than instances, every
        # deployment is blocked, as every service is overcommitted
        assert len(deadlocked) == 25_000 and errors(check) == deadlocked


@pytest.mark.slow
def test_a_200_mb_assembly_stays_under_1_5_gb(tmp_path: Path) -> None:
    # GIVEN a 200 MB cloud assembly shaped like CDK's output (32,000 services in 3,200 clusters)
    summary = generate(str(tmp_path), 32_000, seed=1)
    assert summary.bytes > 195e6
    # WHEN checked THEN its peak memory stays under 1.5 GB, and its plan is clean
    elapsed, peak = run_peak([sys.executable, "-m", "constructs_lib", "check", str(tmp_path), "--format", "json"], (0,))
    assert peak < 1_536, f"peak {peak:.0f} MB"
    assert elapsed < 60

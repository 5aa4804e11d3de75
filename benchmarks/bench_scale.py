"""The scale goals: large or adversarial inputs answered in bounded time and memory.

Each input is generated here (benchmarks/scale_inputs.py, benchmarks/generate_assembly.py), then the
CLI runs on it as a whole process, several times; reported are median wall times and the largest
peak resident memory of one run (the operating system's account of the finished child, `wait4`).

- 25,000 services each holding 3 of a pool of 40 static ports, on one Auto Scaling group: with room
  for them (2,100 instances) and overcommitted (20 instances): `check`, `plan`, `diagram` (.mmd);
  goal under 10 s each. The same deployed with ECS's default rolling settings (100 %, 200 %, so the
  deadlock rule looks at every service's ports): `check`, under 10 s.
- A 200 MB cloud assembly (benchmarks/generate_assembly.py): `check`; goal under 1.5 GB peak memory.
- The inputs the issue measured: about 1,000 services sharing static ports (a RecursionError),
  three services on shared ports with MaxSize 1,000,000,000 (a hang), `plan` of 250 services sharing
  ports (205 s); goal under 2 s each.
- `check` of compact templates (a service, its task definition and little else; 10 services and
  their cluster to a stack) at 10,000 services against a bare parse of the same files; goal <= 3x.

    python benchmarks/bench_scale.py [--runs 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import scale_inputs  # noqa: E402
from benchmarks.bench_check import parse_command  # noqa: E402
from benchmarks.common import PYTHON, ROOT, bench_env, median, progress, ratio  # noqa: E402
from benchmarks.generate_assembly import generate  # noqa: E402

POOL_SERVICES = 25_000
POOL_ROOM = 2_100
POOL_TIGHT = 20
ASSEMBLY_SERVICES = 32_000  # about 200 MB of templates
GOAL_SCALE_SECONDS = 10.0
GOAL_MEASURED_SECONDS = 2.0
GOAL_PEAK_MB = 1536.0
GOAL_RATIO = 3.0


PEAK = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "sys.stderr.write(f'\\npeak-kb {usage.ru_maxrss}\\n')\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
"""Runs a command and reports its peak resident memory. A small process of its own starts it: a child
forked from the benchmark (which holds the generated inputs) would count the benchmark's memory too."""


def run_peak(command: Sequence[str], expect: Sequence[int] = (0, 1)) -> Tuple[float, float]:
    """Run ``command`` (output discarded); its wall seconds and its peak resident memory in MB."""
    started = time.perf_counter()
    result = subprocess.run([PYTHON, "-c", PEAK, *command], cwd=str(ROOT), env=bench_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in expect:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr[-1000:]}")
    peak = int(result.stderr.rsplit("peak-kb ", 1)[1].split()[0])
    return elapsed, peak / 1024.0


def cli(command: str, directory: str, *extra: str) -> List[str]:
    return [PYTHON, "-m", "constructs_lib", command, directory, *extra]


def measure(label: str, command: Sequence[str], runs: int, goal: Optional[float] = None) -> Dict[str, Any]:
    walls, peaks = [], []
    for _ in range(runs):
        wall, peak = run_peak(command)
        walls.append(wall)
        peaks.append(peak)
    progress(f"scale {label}: median {median(walls):.2f} s, peak {max(peaks):.0f} MB")
    row: Dict[str, Any] = {"label": label, "times": walls, "median": median(walls), "peak": max(peaks)}
    if goal is not None:
        row["goal"] = goal
        row["goal_met"] = row["median"] < goal
    return row


def run(runs: int = 5, workdir: Optional[str] = None) -> Dict[str, Any]:
    """Generate every input and measure the CLI on it."""
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        def path(name: str) -> str:
            return os.path.join(scratch, name)

        progress("scale: generating inputs")
        scale_inputs.shared_pool(path("pool"), POOL_SERVICES, instances=POOL_ROOM)
        scale_inputs.shared_pool(path("tight"), POOL_SERVICES, instances=POOL_TIGHT)
        scale_inputs.shared_pool(path("rolling"), POOL_SERVICES, instances=POOL_ROOM, rolling=True)
        scale_inputs.shared_pool(path("thousand"), 1_000, instances=150)
        scale_inputs.shared_pool(path("quarter"), 250, instances=40)
        scale_inputs.huge_capacity(path("huge"), desired=400_000_000)
        scale_inputs.compact(path("compact"), 10_000, per_stack=10)
        summary = generate(path("assembly"), ASSEMBLY_SERVICES, seed=1)
        for name, directory, services in (("room", "pool", POOL_ROOM), ("tight", "tight", POOL_TIGHT)):
            what = f"{POOL_SERVICES:,} services, 3 of 40 ports, {services:,} instances"
            for command in ("check", "plan"):
                rows.append(measure(f"`{command}` {what}", cli(command, path(directory)), runs, GOAL_SCALE_SECONDS))
            diagram = cli("diagram", path(directory), "-o", path(f"{name}.mmd"))
            rows.append(measure(f"`diagram` (.mmd) {what}", diagram, runs, GOAL_SCALE_SECONDS))
        rows.append(measure(f"`check` {POOL_SERVICES:,} services, 3 of 40 ports, {POOL_ROOM:,} instances, rolling "
                            "defaults", cli("check", path("rolling")), runs, GOAL_SCALE_SECONDS))
        rows.append(measure("`check` 1,000 services, 3 of 40 ports, 150 instances", cli("check", path("thousand")), runs,
                            GOAL_MEASURED_SECONDS))
        rows.append(measure("`plan` 1,000 services, 3 of 40 ports, 150 instances", cli("plan", path("thousand")), runs,
                            GOAL_MEASURED_SECONDS))
        rows.append(measure("`plan` 250 services, 3 of 40 ports, 40 instances", cli("plan", path("quarter")), runs,
                            GOAL_MEASURED_SECONDS))
        rows.append(measure("`check` 3 services x 400,000,000 tasks, MaxSize 1,000,000,000", cli("check", path("huge")),
                            runs, GOAL_MEASURED_SECONDS))
        assembly = measure(f"`check` {summary.bytes / 1e6:.0f} MB assembly ({ASSEMBLY_SERVICES:,} services)",
                           cli("check", path("assembly"), "--format", "json"), max(1, runs // 2))
        assembly["peak_goal"] = GOAL_PEAK_MB
        assembly["goal_met"] = assembly["peak"] < GOAL_PEAK_MB
        rows.append(assembly)
        checks, parses = [], []
        for _ in range(runs):  # interleaved: check, parse, check, parse ...
            checks.append(run_peak(cli("check", path("compact"), "--format", "json"))[0])
            parses.append(run_peak(parse_command(path("compact")))[0])
        compact = {"check": median(checks), "parse": median(parses), "check_times": checks, "parse_times": parses}
        compact["ratio"] = ratio(compact["check"], compact["parse"])
        compact["goal_met"] = compact["ratio"] <= GOAL_RATIO
        progress(f"scale compact: check {compact['check']:.2f} s, parse {compact['parse']:.2f} s, "
                 f"{compact['ratio']:.2f}x")
    return {"rows": rows, "compact": compact, "runs": runs}


def report(result: Dict[str, Any]) -> str:
    lines = ["| input and command | median | runs (s) | peak memory | goal | verdict |", "|---|---:|---|---:|---|---|"]
    for row in result["rows"]:
        times = ", ".join(f"{t:.2f}" for t in row["times"])
        if "peak_goal" in row:
            goal = f"peak < {row['peak_goal'] / 1024:.1f} GB"
        else:
            goal = f"< {row['goal']:.0f} s"
        verdict = "met" if row["goal_met"] else "**MISSED**"
        lines.append(f"| {row['label']} | {row['median']:.2f} s | {times} | {row['peak']:.0f} MB | {goal} | {verdict} |")
    compact = result["compact"]
    lines += [
        "",
        f"Compact templates, 10,000 services (10 to a stack, each stack its cluster): `check` "
        f"{compact['check'] * 1000:.0f} ms against a bare parse of the same files {compact['parse'] * 1000:.0f} ms: "
        f"**{compact['ratio']:.2f}x** (goal <= {GOAL_RATIO:.0f}x: {'met' if compact['goal_met'] else 'MISSED'}).",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    result = run(args.runs, args.workdir)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

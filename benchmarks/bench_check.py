"""The CLI check against a bare parse of the same cloud assembly, whole process against whole process.

For each size (services), generate one assembly, then time, interleaved, ``python -m constructs_lib
check DIR --format json`` and a bare ``python -c`` that reads manifest.json and ``json.loads`` every
template (same interpreter, same files). Goal: check/parse <= 3x at every size. When the goal is
missed at the largest size, the check is profiled there (cProfile) and the hot spots reported.

    python benchmarks/bench_check.py [--sizes 100,1000,10000] [--runs 7] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, ROOT, bench_env, interleaved, median, progress, ratio  # noqa: E402
from benchmarks.generate_assembly import generate  # noqa: E402

GOAL_RATIO = 3.0
SIZES = (100, 1000, 10000)

PARSE_BASELINE = (
    "import json, os, sys\n"
    "d = sys.argv[1]\n"
    "with open(os.path.join(d, 'manifest.json'), 'rb') as f:\n"
    "    m = json.loads(f.read())\n"
    "for a in m['artifacts'].values():\n"
    "    if a.get('type') == 'aws:cloudformation:stack':\n"
    "        with open(os.path.join(d, a['properties']['templateFile']), 'rb') as f:\n"
    "            json.loads(f.read())\n"
)


KEEP_BASELINE = PARSE_BASELINE.replace("d = sys.argv[1]\n", "d = sys.argv[1]\nkeep = []\n").replace(
    "            json.loads(f.read())\n", "            keep.append(json.loads(f.read()))\n"
)
"""The parse baseline, but every parsed template stays alive until the end (as in any checker)."""


def check_command(directory: str) -> List[str]:
    return [PYTHON, "-m", "constructs_lib", "check", directory, "--format", "json"]


def parse_command(directory: str) -> List[str]:
    return [PYTHON, "-c", PARSE_BASELINE, directory]


def keep_command(directory: str) -> List[str]:
    return [PYTHON, "-c", KEEP_BASELINE, directory]


def verify(directory: str) -> int:
    """Run the check once: it must exit 0; returns the number of findings it printed."""
    result = subprocess.run(check_command(directory), cwd=str(ROOT), env=bench_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"check of {directory} exited {result.returncode}: {result.stderr[-1000:]}")
    return len(json.loads(result.stdout)["findings"])


def profile(directory: str, top: int = 12) -> Dict[str, Any]:
    """GC share, phases and hot spots of one check of ``directory`` (benchmarks/profile_check.py)."""
    result = subprocess.run(
        [PYTHON, str(Path(__file__).with_name("profile_check.py")), directory, "--top", str(top)],
        cwd=str(ROOT), env=bench_env(), capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)


def startup(runs: int) -> Dict[str, Any]:
    """What every check pays before reading a file: the interpreter, then importing the CLI."""
    times = interleaved(
        {"bare": {"command": [PYTHON, "-c", "pass"]},
         "import": {"command": [PYTHON, "-c", "import constructs_lib.cli"]}},
        runs, label="startup",
    )
    result = subprocess.run([PYTHON, "-X", "importtime", "-c", "import constructs_lib.cli"], cwd=str(ROOT),
                            env=bench_env(), capture_output=True, text=True, check=True)
    modules = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].strip().startswith("import time:") and parts[1].strip().isdigit():
            modules.append((parts[2].strip(), int(parts[1]) / 1e6))
    ours = sorted((m for m in modules if m[0].startswith("constructs_lib")), key=lambda m: -m[1])
    count = sum(path.read_text().count("@dataclass") for path in (ROOT / "constructs_lib").rglob("*.py")
                if "portplan" in path.parts or path.name in ("ports.py", "__init__.py", "cli.py", "__main__.py"))
    return {
        "bare": median(times["bare"]),
        "import": median(times["import"]),
        "modules": [{"module": name, "self": seconds} for name, seconds in ours[:6]],
        "dataclasses": count,
        "dataclass_cost": _dataclass_cost(count),
    }


def _dataclass_cost(count: int) -> float:
    """Seconds to create ``count`` four-field frozen, slotted dataclasses (what the CLI's imports do)."""
    code = (
        "import dataclasses, time\n"
        "t = time.perf_counter()\n"
        f"for _ in range({count}):\n"
        "    @dataclasses.dataclass(frozen=True, slots=True)\n"
        "    class X:\n"
        "        a: int\n"
        "        b: str\n"
        "        c: int = 0\n"
        "        d: str = ''\n"
        "print(time.perf_counter() - t)\n"
    )
    result = subprocess.run([PYTHON, "-c", code], env=bench_env(), capture_output=True, text=True, check=True)
    return float(result.stdout)


def run(sizes: Sequence[int] = SIZES, runs: int = 7, workdir: Optional[str] = None, seed: int = 1) -> Dict[str, Any]:
    """Measure every size; returns the rows and, when the goal is missed, the profile."""
    rows = []
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        for size in sizes:
            directory = os.path.join(scratch, f"assembly-{size}")
            progress(f"check: generating {size} services")
            summary = generate(directory, size, seed=seed)
            findings = verify(directory)
            times = interleaved(
                {"check": {"command": check_command(directory)}, "parse": {"command": parse_command(directory)},
                 "keep": {"command": keep_command(directory)}},
                runs, label=f"check {size}",
            )
            check, parse, keep = median(times["check"]), median(times["parse"]), median(times["keep"])
            rows.append({
                "services": summary.services,
                "clusters": summary.clusters,
                "stacks": summary.stacks,
                "resources": summary.resources,
                "megabytes": summary.bytes / 1e6,
                "findings": findings,
                "runs": runs,
                "check": check,
                "parse": parse,
                "check_times": times["check"],
                "parse_times": times["parse"],
                "keep": keep,
                "keep_times": times["keep"],
                "ratio": ratio(check, parse),
                "ms_per_service": check * 1000 / summary.services,
                "net_ms_per_service": (check - parse) * 1000 / summary.services,
                "goal_met": ratio(check, parse) <= GOAL_RATIO,
            })
        result: Dict[str, Any] = {"rows": rows, "goal": GOAL_RATIO, "profile": None,
                                  "startup": startup(runs)}
        if any(not row["goal_met"] for row in rows):
            largest = max(sizes)
            progress(f"check: goal missed, profiling the check at {largest} services")
            result["profile"] = profile(os.path.join(scratch, f"assembly-{largest}"))
            result["profile"]["services"] = largest
            result["profile"]["parse"] = next(r["parse"] for r in rows if r["services"] == largest)
    return result


def report(result: Dict[str, Any]) -> str:
    lines = [
        "| services | stacks | resources | MB | findings | check (median) | parse baseline (median) | check/parse | goal <= 3x | check ms/service | (check-parse) ms/service | parse+keep (median) | check/(parse+keep) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['services']:,} | {r['stacks']} | {r['resources']:,} | {r['megabytes']:.1f} | {r['findings']} "
            f"| {r['check'] * 1000:.0f} ms | {r['parse'] * 1000:.0f} ms | {r['ratio']:.2f}x "
            f"| {'met' if r['goal_met'] else 'MISSED'} | {r['ms_per_service']:.3f} | {r['net_ms_per_service']:.3f} "
            f"| {r['keep'] * 1000:.0f} ms | {ratio(r['check'], r['keep']):.2f}x |"
        )
    return "\n".join(lines)


def report_startup(start: Dict[str, Any]) -> str:
    own = ", ".join(f"`{m['module']}` {m['self'] * 1000:.1f} ms" for m in start["modules"])
    return (
        f"Fixed cost of every check process (medians): interpreter start `python -c pass` "
        f"{start['bare'] * 1000:.0f} ms; `python -c \"import constructs_lib.cli\"` {start['import'] * 1000:.0f} ms, "
        f"so importing the CLI costs {(start['import'] - start['bare']) * 1000:.0f} ms before any file is read "
        f"(largest own import times, -X importtime: {own}). The package defines {start['dataclasses']} "
        f"`@dataclass` classes; creating that many frozen, slotted dataclasses alone takes "
        f"{start['dataclass_cost'] * 1000:.0f} ms here."
    )


def report_profile(p: Dict[str, Any]) -> str:
    lines = [
        f"Profile of one check at {p['services']:,} services, in process (benchmarks/profile_check.py):",
        "",
        f"- garbage collector: {p['gc_pause']:.2f} s of {p['wall_with_gc']:.2f} s = "
        f"**{p['gc_share'] * 100:.0f} %** of the check's in-process time "
        f"({p['gc_collections']['0']} gen-0, {p['gc_collections']['1']} gen-1, {p['gc_collections']['2']} gen-2 "
        f"collections while the parsed templates and the model are alive); the same check with `gc.disable()` "
        f"takes {p['wall_without_gc']:.2f} s, i.e. {ratio(p['wall_without_gc'], p['parse']):.1f}x the parse "
        f"baseline's whole process ({p['parse'] * 1000:.0f} ms).",
        "",
        "cProfile with the collector off (profiled total "
        f"{p['profiled_total']:.2f} s; cProfile slows Python-level code more than the C JSON parser; phases are "
        "cumulative and may nest, e.g. parsing inside model building when the model reads the files):",
        "",
        "| phase (cumulative) | time | share |",
        "|---|---:|---:|",
    ]
    for item in p["phases"]:
        lines.append(f"| {item['phase']} | {item['time']:.2f} s | {item['share'] * 100:.0f} % |")
    lines += ["", "| function (cumulative, model/pools/rules/intrinsics) | calls | time | share |", "|---|---:|---:|---:|"]
    for item in p["cumulative"]:
        lines.append(f"| `{item['where']}` | {item['calls']:,} | {item['time']:.2f} s | {item['share'] * 100:.0f} % |")
    lines += ["", "| hot spot (own time) | calls | time | share |", "|---|---:|---:|---:|"]
    for item in p["own"]:
        lines.append(f"| `{item['where']}` | {item['calls']:,} | {item['time']:.2f} s | {item['share'] * 100:.1f} % |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workdir")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    result = run([int(s) for s in args.sizes.split(",")], args.runs, args.workdir)
    print(report(result))
    print()
    print(report_startup(result["startup"]))
    if result["profile"]:
        print()
        print(report_profile(result["profile"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

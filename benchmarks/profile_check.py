"""Where the time of one ``check`` goes: GC pauses, phases, hot spots (printed as JSON).

Runs ``constructs_lib.cli.main(["check", DIR, "--format", "json"])`` in this process three times:
with the garbage collector on and its pauses timed (``gc.callbacks``), with it off, and under
cProfile with it off (so collections do not smear their cost over whichever function allocates).

    python benchmarks/profile_check.py DIR [--top 15]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent

PHASES = (
    # label, file suffix, function (cumulative time); a phase whose function is absent is left out
    ("JSON parsing: json.loads (C parser)", "json/__init__.py", "loads"),
    ("reading templates: reader.load_templates", "portplan/reader.py", "load_templates"),
    ("building the model: model.build_model", "portplan/model/builder.py", "build_model"),
    ("  of which capacity pools: pools.assign_pools", "portplan/model/pools.py", "assign_pools"),
    ("running the rules: rules.run_rules", "portplan/rules/__init__.py", "run_rules"),
)


def _check(directory: str) -> int:
    from constructs_lib.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        return main(["check", directory, "--format", "json"])


def _where(key) -> str:
    filename, _, function = key
    if filename == "~":
        return function
    path = Path(filename)
    try:
        filename = str(path.resolve().relative_to(ROOT))
    except ValueError:
        filename = path.name
    return f"{filename}:{function}"


def measure(directory: str, top: int = 15) -> Dict[str, Any]:
    import constructs_lib.cli  # noqa: F401  (imports are not what this measures)

    pauses: List[float] = []
    counts = {0: 0, 1: 0, 2: 0}
    started = [0.0]

    def on_gc(phase: str, info: Dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])
            counts[info["generation"]] += 1

    gc.collect()
    gc.callbacks.append(on_gc)
    begin = time.perf_counter()
    _check(directory)
    with_gc = time.perf_counter() - begin
    gc.callbacks.remove(on_gc)
    gc.collect()

    gc.disable()
    begin = time.perf_counter()
    _check(directory)
    without_gc = time.perf_counter() - begin

    profiler = cProfile.Profile()
    profiler.enable()
    _check(directory)
    profiler.disable()
    gc.enable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]

    phases = []
    for label, suffix, function in PHASES:
        matching = [v for k, v in raw.items() if k[0].endswith(suffix) and k[2] == function]
        if matching:
            cumulative = sum(v[3] for v in matching)
            phases.append({"phase": label, "time": cumulative, "share": cumulative / total})
    own = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    wrappers = {"build_model", "build", "run_rules", "check_templates", "ordered", "<dictcomp>", "main"}
    ours = sorted(
        ((k, v) for k, v in raw.items()
         if ("/portplan/model/" in k[0] or "/portplan/rules/" in k[0] or k[0].endswith("portplan/intrinsics.py"))
         and k[2] not in wrappers),
        key=lambda item: item[1][3], reverse=True,
    )[:top]
    return {
        "wall_with_gc": with_gc,
        "wall_without_gc": without_gc,
        "gc_pause": sum(pauses),
        "gc_share": sum(pauses) / with_gc if with_gc else 0.0,
        "gc_collections": counts,
        "profiled_total": total,
        "phases": phases,
        "own": [{"where": _where(k), "calls": v[1], "time": v[2], "share": v[2] / total} for k, v in own],
        "cumulative": [{"where": _where(k), "calls": v[1], "time": v[3], "share": v[3] / total} for k, v in ours],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    json.dump(measure(args.directory, args.top), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

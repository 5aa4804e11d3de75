"""Run every benchmark and write benchmarks/RESULTS.md (``make bench``; progress on stderr).

    python -m benchmarks.run_all [--out benchmarks/RESULTS.md] [--quick]

``--quick`` is a smoke run (small sizes, few runs): its figures are not the ones to quote.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_check, bench_scale, bench_synth, bench_tests  # noqa: E402
from benchmarks.common import machine_info, progress  # noqa: E402

HERE = Path(__file__).resolve().parent


def _goals(check: Dict[str, Any], synth: Dict[str, Any], tests: Dict[str, Any],
           scale: Dict[str, Any]) -> List[List[str]]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "**MISSED**"

    rows = []
    for row in check["rows"]:
        rows.append([f"check/parse at {row['services']:,} services <= {check['goal']:.0f}x",
                     f"{row['ratio']:.2f}x", verdict(row["goal_met"])])
    noise = bench_synth.spread_percent
    rows.append(["PortPlanChecks adds < 5 % to the lab's synth",
                 f"{synth['plugin_percent_lab']:+.1f} % wall ({synth['plugin_cpu_percent_lab']:+.1f} % CPU; "
                 f"runs spread {noise(synth['lab']['lab_nag']['times']):.0f} %)",
                 verdict(synth["plugin_percent_lab"] < bench_synth.GOAL_PLUGIN_PERCENT)])
    if "plugin_percent_cli" in synth:
        rows.append(["same, through `npx cdk synth`",
                     f"{synth['plugin_percent_cli']:+.1f} % wall ({synth['plugin_cpu_percent_cli']:+.1f} % CPU; "
                     f"runs spread {noise(synth['cli']['cli_nag']['times']):.0f} %)",
                     verdict(synth["plugin_percent_cli"] < bench_synth.GOAL_PLUGIN_PERCENT)])
    rows.append(["PortPlanChecks adds < 5 % to a 200-service synth",
                 f"{synth['plugin_percent_large']:+.1f} % wall ({synth['plugin_cpu_percent_large']:+.1f} % CPU; "
                 f"runs spread {noise(synth['large']['large_none']['times']):.0f} %)",
                 verdict(synth["plugin_percent_large"] < bench_synth.GOAL_PLUGIN_PERCENT)])
    rows.append(["test suite < 2 min", f"{tests['wall']:.1f} s", verdict(tests["goal_met"])])
    for row in scale["rows"]:
        if "peak_goal" in row:
            rows.append([f"{row['label']}: peak < {row['peak_goal'] / 1024:.1f} GB", f"{row['peak']:.0f} MB",
                         verdict(row["goal_met"])])
        else:
            rows.append([f"{row['label']} < {row['goal']:.0f} s", f"{row['median']:.2f} s", verdict(row["goal_met"])])
    compact = scale["compact"]
    rows.append([f"check/parse at 10,000 services, compact templates <= {bench_scale.GOAL_RATIO:.0f}x",
                 f"{compact['ratio']:.2f}x", verdict(compact["goal_met"])])
    return rows


def _missed_check(check: Dict[str, Any]) -> str:
    """Why the check misses its ratio, in words drawn from this run's measurements only."""
    rows, start, goal = check["rows"], check["startup"], check["goal"]
    missed = [r for r in rows if not r["goal_met"]]
    imports = start["import"] - start["bare"]
    text = ["Why the check/parse ratio misses its goal:", ""]
    for row in missed:
        allowed = goal * row["parse"]
        text.append(
            f"- At {row['services']:,} services the check takes {row['check'] * 1000:.0f} ms against "
            f"{goal:.0f} x {row['parse'] * 1000:.0f} ms = {allowed * 1000:.0f} ms allowed: "
            f"{(row['check'] - allowed) * 1000:.0f} ms too many."
        )
    small = rows[0]
    if not small["goal_met"] or imports > 0.5 * small["parse"]:
        text.append(
            f"- **Fixed start-up cost.** Importing the CLI costs {imports * 1000:.0f} ms on top of the interpreter's "
            f"{start['bare'] * 1000:.0f} ms; the whole parse baseline at {small['services']:,} services takes "
            f"{small['parse'] * 1000:.0f} ms. Creating the package's {start['dataclasses']} frozen, slotted dataclasses "
            f"alone takes {start['dataclass_cost'] * 1000:.0f} ms (largest own import times above)."
        )
    profile = check.get("profile")
    if profile:
        if profile["gc_share"] >= 0.10:
            last = next(r for r in rows if r["services"] == profile["services"])
            text.append(
                f"- **Garbage collection.** The collector ran {profile['gc_collections']['0']} gen-0, "
                f"{profile['gc_collections']['1']} gen-1 and {profile['gc_collections']['2']} full collections during "
                f"the check while every parsed template and the model were alive: {profile['gc_pause']:.2f} s = "
                f"{profile['gc_share'] * 100:.0f} % of it (keeping the parsed templates alive alone makes the bare "
                f"parse {last['keep'] / last['parse']:.1f}x slower: parse+keep column). With `gc.disable()` the "
                f"check takes {profile['wall_without_gc']:.2f} s in process."
            )
        else:
            text.append(
                f"- **Garbage collection is not the cause** in this run: {profile['gc_pause'] * 1000:.0f} ms "
                f"({profile['gc_share'] * 100:.1f} %) of the check, {sum(profile['gc_collections'].values())} "
                "collections (the CLI pauses the collector)."
            )
        top = ", ".join(f"`{c['where']}` {c['share'] * 100:.0f} %" for c in profile["cumulative"][:5])
        parts = ", ".join(f"{p['phase'].strip()} {p['share'] * 100:.0f} %" for p in profile["phases"])
        text.append(
            f"- **Where the time goes** (cProfile at {profile['services']:,} services, collector off; tables above): "
            f"{parts}. Largest cumulative functions: {top}. The JSON parse is the floor; everything above it is "
            "Python-level work per resource and per reference."
        )
    return "\n".join(text)


def render(machine: Dict[str, str], check: Dict[str, Any], synth: Dict[str, Any], tests: Dict[str, Any],
           scale: Dict[str, Any], elapsed: float, quick: bool) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`python -m benchmarks.run_all`) on {datetime.date.today().isoformat()}, "
        f"in {elapsed / 60:.1f} min{' (QUICK smoke run: figures not representative)' if quick else ''}. "
        "Every time is the median wall time of whole processes, measured interleaved with its baseline in the same run.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    lines += ["", "## Goals", "", "| goal | measured | verdict |", "|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _goals(check, synth, tests, scale)]
    lines += [
        "",
        "## 1. Port-plan check (CLI) against a bare JSON parse",
        "",
        "Assemblies from `benchmarks/generate_assembly.py` (seed 1; 10 services per cluster in 5-cluster stacks, "
        "every 4th cluster's services in a companion stack reached through `Fn::ImportValue`; services mix static "
        "bridge, dynamic bridge behind ALB target groups, DAEMON and host mode). "
        "**check** = `python -m constructs_lib check DIR --format json`; **parse** = `python -c` reading manifest.json "
        f"and `json.loads` of every template (same interpreter, same files); **parse+keep** = the same, keeping every "
        f"parsed template alive to the end, as any checker must (shown for context; the goal is against parse). "
        f"{check['rows'][0]['runs']} interleaved runs each. The check must exit 0 with no findings, so its full path runs.",
        "",
        bench_check.report(check),
        "",
        bench_check.report_startup(check["startup"]),
    ]
    if check.get("profile"):
        lines += ["", "### Profile (goal missed)", "", bench_check.report_profile(check["profile"]), "",
                  _missed_check(check)]
    lines += [
        "",
        "## 2. Synth",
        "",
        "Drivers in benchmarks/ build the apps with cdk.json's context plus what `cdk synth` adds (path metadata, "
        "version reporting) and run as `python benchmarks/<driver>.py --outdir <tmp>` (the CDK CLI's own overhead is "
        "the same with and without a plugin). Verdicts use wall time as asked; the CPU column (user + system time of "
        "the process and its Node child) is the steadier figure when other work shares the two cores (see the load "
        "averages above). *Baseline spread* is (slowest - fastest) / median of the baseline's runs: when it is "
        "several times the 5 % goal, the verdict says more about the machine's other load than about the plugin; "
        "the `validate` line under each table is the plugin's own Python-side time, measured inside the synth.",
        "",
        bench_synth.report(synth),
        "",
        "## 3. Test suite",
        "",
        bench_tests.report(tests),
        "",
        "## 4. Scale and adversarial inputs",
        "",
        bench_scale.__doc__.split("\n\n")[1].strip(),
        "",
        f"Whole processes, {scale['runs']} runs each (the 200 MB assembly: {max(1, scale['runs'] // 2)}).",
        "",
        bench_scale.report(scale),
        "",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, few runs")
    args = parser.parse_args(argv)
    started = time.monotonic()
    progress("machine facts")
    machine = machine_info()
    if args.quick:
        check = bench_check.run(sizes=(100, 1000), runs=3)
        synth = bench_synth.run(runs=1, large_runs=1, cli_runs=1)
    else:
        check = bench_check.run(sizes=bench_check.SIZES, runs=7)
        synth = bench_synth.run(runs=5, large_runs=5, cli_runs=3)
    scale = bench_scale.run(runs=1 if args.quick else 5)
    tests = bench_tests.run()
    elapsed = time.monotonic() - started
    try:
        machine["Load average at end (1/5/15 min)"] = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        pass
    text = render(machine, check, synth, tests, scale, elapsed, args.quick)
    Path(args.out).write_text(text)
    if args.json:
        raw = {"machine": machine, "check": check, "synth": synth, "tests": tests, "scale": scale}
        Path(args.json).write_text(json.dumps(raw, indent=1))
    progress(f"wrote {args.out} in {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

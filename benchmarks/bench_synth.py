"""Synth time: the port-plan plugin's cost, and the lab against the same lab in aws-ecs-patterns.

Every figure is the median wall time of whole processes, interleaved (A B, B A, ...):

(a) the workshop lab (benchmarks/lab_app.py, the BridgeLabStack as app.py builds it) with
    AwsSolutionsChecks and PortPlanChecks against AwsSolutionsChecks alone. Goal: the plugin adds < 5 %.
(b) the lab with no plugins against benchmarks/patterns_lab.py (aws-ecs-patterns, no plugins), and
    the workshop as shipped (both plugins) against it.
(c) benchmarks/large_app.py (200 services, plain aws-ecs L2) with and without PortPlanChecks.

Optionally (``--cli-runs N``) (a) is also timed through ``npx --no-install cdk synth --quiet``.

    python benchmarks/bench_synth.py [--runs 5] [--large-runs 5] [--cli-runs 0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    PYTHON, bench_env, interleaved, median, overhead_percent, progress, ratio, run_timed,
)

HERE = Path(__file__).resolve().parent
GOAL_PLUGIN_PERCENT = 5.0


def _driver(script: str, outdir: Path, plugins: str, *extra: str, timing: Optional[Path] = None) -> Dict[str, Any]:
    def clean() -> None:
        shutil.rmtree(outdir, ignore_errors=True)

    variant: Dict[str, Any] = {
        "command": [PYTHON, str(HERE / script), "--outdir", str(outdir), "--plugins", plugins, *extra],
        "before": clean,
    }
    if timing is not None:
        variant["env"] = bench_env(BENCH_PLUGIN_TIMING=str(timing))
    return variant


def _validate_times(timing: Path) -> List[float]:
    """Seconds of each PortPlanChecks.validate call the timed runs recorded (one per synth)."""
    if not timing.exists():
        return []
    return [float(line) for line in timing.read_text().split()]


def _cli(outdir: Path, plugins: str) -> Dict[str, Any]:
    def clean() -> None:
        shutil.rmtree(outdir, ignore_errors=True)

    return {
        "command": ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices", "-o", str(outdir),
                    "--app", f"{PYTHON} {HERE / 'lab_app.py'}"],
        "env": bench_env(BENCH_PLUGINS=plugins),
        "before": clean,
    }


def _summary(times: Dict[str, List[float]], cpu: Dict[str, List[float]]) -> Dict[str, Any]:
    return {
        name: {"median": median(values), "times": values, "cpu_median": median(cpu[name]), "cpu": cpu[name]}
        for name, values in times.items()
    }


def run(runs: int = 5, large_runs: int = 5, cli_runs: int = 0, workdir: Optional[str] = None) -> Dict[str, Any]:
    result: Dict[str, Any] = {"runs": runs, "large_runs": large_runs, "cli_runs": cli_runs}
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        out = Path(scratch)
        progress("synth: warming up (one untimed lab synth)")
        run_timed(**_driver("lab_app.py", out / "warm", "none"))
        cpu: Dict[str, List[float]] = {}
        lab = interleaved(
            {
                "lab_nag_portplan": _driver("lab_app.py", out / "a1", "nag,portplan", timing=out / "lab.timing"),
                "lab_nag": _driver("lab_app.py", out / "a2", "nag"),
                "lab_none": _driver("lab_app.py", out / "a3", "none"),
                "patterns": _driver("patterns_lab.py", out / "b1", "none"),
            },
            runs, warmup=0, label="synth lab", cpu=cpu,
        )
        result["lab"] = _summary(lab, cpu)
        result["lab_validate"] = _validate_times(out / "lab.timing")
        if cli_runs:
            cli = interleaved(
                {"cli_nag_portplan": _cli(out / "c1", "nag,portplan"), "cli_nag": _cli(out / "c2", "nag")},
                cli_runs, warmup=0, label="cdk synth (CLI)", cpu=cpu,
            )
            result["cli"] = _summary(cli, cpu)
        large = interleaved(
            {
                "large_portplan": _driver("large_app.py", out / "l1", "portplan", timing=out / "large.timing"),
                "large_none": _driver("large_app.py", out / "l2", "none"),
                "large_noop": _driver("large_app.py", out / "l3", "noop"),
            },
            large_runs, warmup=0, label="synth large (200 services)", cpu=cpu,
        )
        result["large"] = _summary(large, cpu)
        result["large_validate"] = _validate_times(out / "large.timing")
    lab_m = {k: v["median"] for k, v in result["lab"].items()}
    result["plugin_percent_lab"] = overhead_percent(lab_m["lab_nag_portplan"], lab_m["lab_nag"])
    result["plugin_percent_large"] = overhead_percent(
        result["large"]["large_portplan"]["median"], result["large"]["large_none"]["median"]
    )
    result["plugin_cpu_percent_lab"] = overhead_percent(
        result["lab"]["lab_nag_portplan"]["cpu_median"], result["lab"]["lab_nag"]["cpu_median"]
    )
    result["plugin_cpu_percent_large"] = overhead_percent(
        result["large"]["large_portplan"]["cpu_median"], result["large"]["large_none"]["cpu_median"]
    )
    result["noop_percent_large"] = overhead_percent(
        result["large"]["large_noop"]["median"], result["large"]["large_none"]["median"]
    )
    result["noop_cpu_percent_large"] = overhead_percent(
        result["large"]["large_noop"]["cpu_median"], result["large"]["large_none"]["cpu_median"]
    )
    if cli_runs:
        result["plugin_percent_cli"] = overhead_percent(
            result["cli"]["cli_nag_portplan"]["median"], result["cli"]["cli_nag"]["median"]
        )
        result["plugin_cpu_percent_cli"] = overhead_percent(
            result["cli"]["cli_nag_portplan"]["cpu_median"], result["cli"]["cli_nag"]["cpu_median"]
        )
    result["lab_vs_patterns"] = ratio(lab_m["lab_none"], lab_m["patterns"])
    result["workshop_vs_patterns"] = ratio(lab_m["lab_nag_portplan"], lab_m["patterns"])
    return result


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _spread(values: List[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def spread_percent(values: List[float]) -> float:
    """(max - min) / median, in percent: how far apart the runs of one variant lie."""
    return (max(values) - min(values)) / median(values) * 100.0


def _row(label: str, item: Dict[str, Any], base_label: str, base: Dict[str, Any], wall: float, cpu: float) -> str:
    verdict = "met" if wall < GOAL_PLUGIN_PERCENT else "MISSED"
    best = overhead_percent(min(item["times"]), min(base["times"]))
    return (
        f"| {label} | {_seconds(item['median'])} ({_spread(item['times'])}) | {base_label}: {_seconds(base['median'])} "
        f"({_spread(base['times'])}) | {wall:+.1f} % | {verdict} | {best:+.1f} % | {cpu:+.1f} % "
        f"({_seconds(item['cpu_median'])} vs {_seconds(base['cpu_median'])}) | {spread_percent(base['times']):.0f} % |"
    )


HEADER = [
    "| variant | wall median (min-max) | baseline beside it: wall median (min-max) | adds, wall medians | goal < 5 % "
    "| adds, fastest runs | adds, CPU medians | baseline spread |",
    "|---|---:|---|---:|:---:|---:|---:|---:|",
]


def report(result: Dict[str, Any]) -> str:
    lab, large = result["lab"], result["large"]
    lines = [
        f"(a) Plugin cost on the workshop lab, `python benchmarks/lab_app.py` ({result['runs']} interleaved runs each):",
        "",
        *HEADER,
        _row("lab + AwsSolutionsChecks + PortPlanChecks", lab["lab_nag_portplan"], "lab + AwsSolutionsChecks",
             lab["lab_nag"], result["plugin_percent_lab"], result["plugin_cpu_percent_lab"]),
    ]
    if "cli" in result:
        cli = result["cli"]
        lines.append(_row(f"same through `npx cdk synth --quiet` ({result['cli_runs']} runs)", cli["cli_nag_portplan"],
                          "without PortPlanChecks", cli["cli_nag"], result["plugin_percent_cli"],
                          result["plugin_cpu_percent_cli"]))
    lines += ["", _validate_line(result.get("lab_validate"), lab["lab_nag_portplan"]["median"], "lab")]
    lines += [
        "",
        "(b) The lab against the same lab in aws-ecs-patterns (`benchmarks/patterns_lab.py`, no plugins), same runs:",
        "",
        "| variant | wall median | aws-ecs-patterns lab beside it | ratio, wall medians | ratio, fastest runs | ratio, CPU medians |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {label} | {_seconds(lab[name]['median'])} | {_seconds(lab['patterns']['median'])} "
            f"| {ratio(lab[name]['median'], lab['patterns']['median']):.2f}x "
            f"| {ratio(min(lab[name]['times']), min(lab['patterns']['times'])):.2f}x "
            f"| {ratio(lab[name]['cpu_median'], lab['patterns']['cpu_median']):.2f}x |"
            for label, name in (
                ("lab, no plugins (constructs only)", "lab_none"),
                ("lab + AwsSolutionsChecks", "lab_nag"),
                ("lab as shipped (AwsSolutionsChecks + PortPlanChecks)", "lab_nag_portplan"),
            )
        ],
        "",
        f"(c) Plugin cost on a large app, `benchmarks/large_app.py`: 20 clusters x 10 services = 200 services in "
        f"5 stacks, plain aws-ecs L2 ({result['large_runs']} interleaved runs each). `noop` is a plugin that reads "
        "nothing and passes: what any first policy-validation plugin costs (CDK's validation report machinery).",
        "",
        *HEADER,
        _row("large app + PortPlanChecks", large["large_portplan"], "no plugins", large["large_none"],
             result["plugin_percent_large"], result["plugin_cpu_percent_large"]),
        _row("large app + noop plugin (reference, no goal)", large["large_noop"], "no plugins", large["large_none"],
             result["noop_percent_large"], result["noop_cpu_percent_large"]),
    ]
    lines += ["", _validate_line(result.get("large_validate"), large["large_portplan"]["median"], "large app")]
    return "\n".join(lines)


def _validate_line(times: Optional[List[float]], synth: float, what: str) -> str:
    if not times:
        return f"PortPlanChecks.validate on the {what}: not recorded."
    value = median(times)
    return (
        f"`PortPlanChecks.validate` itself (the Python side, timed inside the synth of the {what}; median of "
        f"{len(times)} calls): {value * 1000:.1f} ms = {value / synth * 100:.2f} % of that synth. The rest of the "
        "with/without difference is the jsii round trip (registering the plugin, the callback, the report objects) "
        "and run-to-run noise."
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--large-runs", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=0)
    parser.add_argument("--workdir")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    result = run(args.runs, args.large_runs, args.cli_runs, args.workdir)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

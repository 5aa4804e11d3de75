"""Helpers shared by the benchmarks: whole-process timing, medians, ratios, machine facts."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
_START = time.monotonic()


def median(values: Sequence[float]) -> float:
    """The middle value of ``values`` (the mean of the two middle ones for an even count)."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; infinity when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else float("inf")


def overhead_percent(with_value: float, without_value: float) -> float:
    """How much larger ``with_value`` is than ``without_value``, in percent (negative: smaller)."""
    return (ratio(with_value, without_value) - 1.0) * 100.0


PYCACHE = os.path.join(tempfile.gettempdir(), "constructs-lib-bench-pycache")
"""Where spawned processes cache bytecode: outside the repository, and even when the environment sets
PYTHONDONTWRITEBYTECODE (as some sandboxes do), so no process pays for recompiling the package."""


def bench_env(**extra: str) -> Dict[str, str]:
    """The environment every spawned process gets: quiet jsii and CDK CLI, the venv first on PATH,
    bytecode cached under `PYCACHE`."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    env["CDK_CLI_NOTICES"] = "false"
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def progress(message: str) -> None:
    """One progress line on stderr, with the seconds since the benchmarks started."""
    print(f"[bench {time.monotonic() - _START:6.1f}s] {message}", file=sys.stderr, flush=True)


class CommandFailed(RuntimeError):
    """A benchmarked process exited with an unexpected code."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(command: Sequence[str], *, cwd: Optional[Path] = None, env: Optional[Mapping[str, str]] = None,
              expect: Sequence[int] = (0,), before: Optional[Callable[[], None]] = None,
              cpu: Optional[List[float]] = None) -> float:
    """Run ``command`` to completion and return its wall time in seconds (``before`` runs untimed).

    When ``cpu`` is given, the CPU time (user + system) of the process and the descendants it waited
    for (Python, and Node for jsii) is appended to it: less sensitive than wall time to other load.
    """
    if before is not None:
        before()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(list(command), cwd=str(cwd or ROOT), env=dict(env or bench_env()),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if cpu is not None:
        cpu.append(_children_cpu() - cpu_before)
    if result.returncode not in expect:
        tail = (result.stderr or result.stdout).decode(errors="replace")[-2000:]
        raise CommandFailed(f"{' '.join(command)} exited {result.returncode}:\n{tail}")
    return elapsed


def interleaved(variants: Mapping[str, Dict], runs: int, *, warmup: int = 1, label: str = "",
                cpu: Optional[Dict[str, List[float]]] = None) -> Dict[str, List[float]]:
    """Time each variant ``runs`` times, interleaved (A B, B A, A B, ...), after ``warmup`` untimed rounds.

    ``variants`` maps a name to keyword arguments of `run_timed` (``command`` at least). Returns the
    wall times per variant, in run order; CPU times go to ``cpu`` (name -> list) when given.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            run_timed(**variants[name])
    times: Dict[str, List[float]] = {name: [] for name in names}
    for index in range(runs):
        order = names if index % 2 == 0 else list(reversed(names))
        for name in order:
            spent = cpu.setdefault(name, []) if cpu is not None else None
            times[name].append(run_timed(**variants[name], cpu=spent))
        progress(f"{label} run {index + 1}/{runs}: " + ", ".join(f"{n} {times[n][-1]:.2f}s" for n in names))
    return times


def _command_output(command: Sequence[str]) -> str:
    try:
        result = subprocess.run(list(command), cwd=str(ROOT), env=bench_env(), capture_output=True, text=True,
                                timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (result.stdout.strip() or result.stderr.strip() or "unknown").splitlines()[-1]


def machine_info() -> Dict[str, str]:
    """CPU model and cores, Python, Node, aws-cdk-lib and CDK CLI versions."""
    cpu = "unknown"
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    library = _command_output([PYTHON, "-c", "import importlib.metadata as m; print(m.version('aws-cdk-lib'))"])
    nag = _command_output([PYTHON, "-c", "import importlib.metadata as m; print(m.version('cdk-nag'))"])
    python = _command_output([PYTHON, "-c", "import platform; print(platform.python_version())"])
    try:
        load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    return {
        "CPU": cpu,
        "Cores": str(os.cpu_count()),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": python,
        "Node": _command_output(["node", "--version"]),
        "aws-cdk-lib": library,
        "cdk-nag": nag,
        "CDK CLI": _command_output(["npx", "--no-install", "cdk", "--version"]),
        "Load average at start (1/5/15 min)": load,
        "Bytecode": f"cached in {PYCACHE} (PYTHONPYCACHEPREFIX); PYTHONDONTWRITEBYTECODE "
        f"{'was set and is removed' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'not set'} for spawned processes",
    }


def cdk_context() -> Dict[str, object]:
    """cdk.json's context: feature flags and lab knobs, as ``cdk synth`` passes them."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


CLI_CONTEXT = {
    # What the CDK CLI adds to the context of every `cdk synth` (path metadata, asset metadata,
    # version reporting); the synth drivers add it too when run directly, so the work is the same.
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}


def fmt_seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"

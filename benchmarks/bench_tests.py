"""Wall time of the test suite (what ``make test`` runs), and its ten slowest tests. Goal: < 2 minutes.

    python benchmarks/bench_tests.py
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, ROOT, bench_env, progress  # noqa: E402

GOAL_SECONDS = 120.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s+(setup|call|teardown)\s+(\S.*?)\s*$")
_SUMMARY = re.compile(r"^=*\s*(.*?\bin \d+(?:\.\d+)?s\b.*?)\s*=*$")


def parse_durations(output: str) -> List[Dict[str, Any]]:
    """The rows of pytest's ``--durations`` section: seconds, phase (setup/call/teardown), test id."""
    rows = []
    inside = False
    for line in output.splitlines():
        if "slowest" in line and "durations" in line:
            inside = True
            continue
        if inside:
            found = _DURATION.match(line)
            if found:
                rows.append({"seconds": float(found.group(1)), "phase": found.group(2), "test": found.group(3)})
            elif line.startswith("=") or line.startswith("("):
                if rows:
                    break
    return rows


def parse_summary(output: str) -> str:
    """pytest's last line, e.g. ``120 passed, 1 failed in 80.12s (0:01:20)``."""
    for line in reversed(output.splitlines()):
        found = _SUMMARY.match(line.strip())
        if found:
            return found.group(1)
    return "no summary line"


def run(timeout: float = 600) -> Dict[str, Any]:
    progress("tests: running pytest -q --durations=10")
    command = [PYTHON, "-m", "pytest", "-q", "--durations=10"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=str(ROOT), env=bench_env(), capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    output = result.stdout + result.stderr
    summary = parse_summary(output)
    progress(f"tests: {elapsed:.1f} s, {summary}")
    return {
        "command": " ".join(["python", "-m", "pytest", "-q", "--durations=10"]),
        "wall": elapsed,
        "exit": result.returncode,
        "summary": summary,
        "failed": [line[len("FAILED "):] for line in output.splitlines() if line.startswith("FAILED ")],
        "slowest": parse_durations(output),
        "goal": GOAL_SECONDS,
        "goal_met": elapsed < GOAL_SECONDS,
    }


def report(result: Dict[str, Any]) -> str:
    lines = [
        f"`{result['command']}` from the repository root (one run): **{result['wall']:.1f} s** wall "
        f"(goal < {result['goal']:.0f} s: {'met' if result['goal_met'] else 'MISSED'}); pytest says "
        f"`{result['summary']}`, exit {result['exit']}.",
        "",
        *(f"- failed: `{line}`" for line in result.get("failed", ())),
        *([""] if result.get("failed") else []),
        "| # | seconds | phase | test |",
        "|---:|---:|---|---|",
    ]
    for index, row in enumerate(result["slowest"], start=1):
        lines.append(f"| {index} | {row['seconds']:.2f} | {row['phase']} | `{row['test']}` |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    result = run()
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""docs/ci.md's GitHub Actions job: its check step runs as written and hands the upload valid SARIF."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
BIN = Path(sys.executable).parent


def job_steps() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "ci.md").read_text(), re.DOTALL)
    [workflow] = [block for block in blocks if "jobs:" in block]
    (job,) = yaml.safe_load(workflow)["jobs"].values()
    return job["steps"]


def step(**where: str) -> dict[str, Any]:
    (found,) = [s for s in job_steps() if all(s.get(k) == v for k, v in where.items())]
    return found


def run_check_step(directory: Path) -> tuple[int, str]:
    """The check step's script, run the way Actions runs `run:` (bash -e -o pipefail); (exit, GITHUB_OUTPUT)."""
    outputs = directory / "github-output"
    outputs.write_text("")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(id="check")["run"]],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "GITHUB_OUTPUT": str(outputs)},
    )
    return result.returncode, outputs.read_text()


def test_errors_are_written_for_the_upload_and_the_step_goes_on(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "portplan" / "cdk-out", tmp_path / "cdk.out")
    code, outputs = run_check_step(tmp_path)
    assert (code, outputs) == (0, "status=1\n")
    upload = step(uses="github/codeql-action/upload-sarif@v4")
    assert upload["with"] == {"sarif_file": "port-plan.sarif", "category": "port-plan"}
    log = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert "cdk.out/Net.template.json" in uris
    assert "steps.check.outputs.status == '1'" in step(name="Fail on errors")["if"]


def test_no_cloud_assembly_fails_the_step_before_the_upload(tmp_path: Path) -> None:
    code, outputs = run_check_step(tmp_path)
    assert (code, outputs) == (1, "status=2\n")


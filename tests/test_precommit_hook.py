"""The `port-plan` pre-commit hook (.pre-commit-hooks.yaml), run by pre-commit itself.

pre-commit installs a `language: python` hook by pip-installing this repository with its
dependencies (aws-cdk-lib among them) from PyPI: about two minutes and the network, too much for
the suite (`pre-commit try-repo` was run by hand; docs/ci.md). So these tests hand the manifest's
hook, unchanged but for `language: system`, to the real pre-commit as a local hook: pre-commit
selects the files by the hook's own `files`, batches them as `require_serial` says, runs its
`entry` with them on PATH from this environment, and judges its exit status.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from portplan_builders import Stack, ref, static_app

ROOT = Path(__file__).parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent  # where this environment's `port-plan` console script lives


def the_hook() -> dict[str, Any]:
    (hook,) = yaml.safe_load(MANIFEST.read_text())
    return hook


def pre_commit(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    return subprocess.run(
        [str(BIN / "pre-commit"), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **clean,
            "PATH": f"{BIN}{os.pathsep}{clean.get('PATH', '')}",
            "PRE_COMMIT_HOME": str(cwd.parent / "home"),
            **(env or {}),
        },
    )


def repository(tmp_path: Path, files: dict[str, str]) -> Path:
    """A git repository holding `files` and a config that runs the manifest's hook as a local one."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    config = {"repos": [{"repo": "local", "hooks": [{**the_hook(), "language": "system"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    return repo


def template(stack: Any, tmp_path: Path) -> str:
    return Path(stack.write(tmp_path)).read_text()


OTHER_FILES = {
    # JSON and YAML that no hook of ours may be handed: the check refuses what is no template
    "package.json": '{"name": "app", "private": true}\n',
    "cdk.json": '{"app": "python3 app.py"}\n',
    "cdk.out/manifest.json": '{"version": "48.0.0"}\n',
    "cdk.out/App.assets.json": '{"version": "48.0.0", "files": {}}\n',
    ".github/workflows/ci.yml": "on: push\njobs: {}\n",
}


def test_the_manifest_is_valid() -> None:
    result = pre_commit("validate-manifest", str(MANIFEST), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    hook = the_hook()
    assert (hook["id"], hook["entry"], hook["language"]) == ("port-plan", "port-plan check", "python")
    assert shutil.which("port-plan", path=str(BIN)), "the port-plan console script is not installed here"


@pytest.mark.parametrize(
    ("name", "selected"),
    [
        ("template.yaml", True),
        ("template.yml", True),
        ("template.json", True),
        ("infra/template.yaml", True),
        ("cdk.out/Orders.template.json", True),
        ("cdk.out/assembly-Prod/ProdApi2466CF1F.template.json", True),
        ("stacks/network.template.yaml", True),
        ("package.json", False),
        ("cdk.json", False),
        ("tsconfig.json", False),
        ("cdk.out/tree.json", False),
        ("cdk.out/manifest.json", False),
        ("cdk.out/Orders.assets.json", False),
        (".github/workflows/ci.yml", False),
        ("mytemplate.yaml", False),
        ("template.yaml.bak", False),
        ("templates/email.html", False),
    ],
)
def test_the_hook_selects_templates_by_name(name: str, selected: bool) -> None:
    # pre-commit searches the path relative to the repository root with the `files` pattern
    assert bool(re.search(the_hook()["files"], name)) is selected


def test_a_good_template_passes_and_other_json_is_left_alone(tmp_path: Path) -> None:
    # GIVEN a clean template beside JSON and YAML that is no template
    good = template(static_app(tasks=2, instances=2), tmp_path)
    repo = repository(tmp_path, {"infra/app.template.json": good, **OTHER_FILES})
    # (handed to the check, such a file would fail it)
    refused = subprocess.run(
        [str(BIN / "port-plan"), "check", "package.json"], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    # WHEN pre-commit runs the hook on every file THEN it passes
    result = pre_commit("run", "--all-files", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^ECS port plan\.+Passed$", result.stdout, re.MULTILINE)


def test_a_bad_template_fails_the_hook_with_the_finding(tmp_path: Path) -> None:
    bad = yaml.safe_dump(static_app(tasks=3, instances=2).body(), sort_keys=False)
    good = template(static_app(tasks=1, instances=1), tmp_path)
    repo = repository(tmp_path, {"template.yaml": bad, "good.template.json": good, **OTHER_FILES})
    result = pre_commit("run", "--all-files", cwd=repo)
    assert result.returncode == 1
    assert re.search(r"^ECS port plan\.+Failed$", result.stdout, re.MULTILINE)
    reported = "Stack/Service/Service (template.yaml: Service)\n  error[static-port-overcommit]: 3 tasks need tcp/8080"
    assert reported in result.stdout
    assert "1 error, 0 warnings in 2 templates" in result.stdout


def cross_stack_pair(index: int) -> dict[str, str]:
    """Net<i> with a one-instance cluster, App<i> importing it for two tasks on tcp/8080."""
    net = Stack(f"Net{index}")
    net.cluster()
    net.capacity(min_size=1)
    exported = net.export("RefCluster", ref("Cluster"))
    app = Stack(f"App{index}")
    app.task("Task", [(80, 8080, "tcp")])
    app.service("Service", "Task", desired=2, cluster={"Fn::ImportValue": exported})
    return {f"{stack.name.lower()}.template.json": json.dumps(stack.body(), indent=1) for stack in (net, app)}


def test_a_stack_is_checked_with_the_stack_it_imports_from(tmp_path: Path) -> None:
    # GIVEN four stacks importing a one-instance cluster each from four others: spread over two
    # processes, some would be checked without their cluster and only warn (unverifiable)
    files = {name: text for index in range(4) for name, text in cross_stack_pair(index).items()}
    repo = repository(tmp_path, files)
    # WHEN pre-commit runs the hook with two parallel jobs (its TRAVIS switch, whatever this machine's cores)
    result = pre_commit("run", "--all-files", cwd=repo, env={"TRAVIS": "1"})
    # THEN the hook is serial: each overcommit across two stacks is found
    assert result.returncode == 1, result.stdout
    for index in range(4):
        reported = f"App{index}/Service/Service (app{index}.template.json: Service)\n  error[static-port-overcommit]"
        assert reported in result.stdout
    assert "4 errors, 0 warnings in 8 templates" in result.stdout

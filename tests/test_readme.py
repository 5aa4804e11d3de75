"""The README is the front door: its rules table matches the catalogue and its full example runs."""

import os
import re
import subprocess
import sys

from constructs_lib.portplan import RULES
from constructs_lib.portplan.plan import DYNAMIC
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_quick_start_is_two_commands():
    assert "make synth" in README and "make test" in README


def test_rules_table_matches_the_catalogue():
    for rule in RULES:
        row = f"| `{rule.id}` | {rule.severity} | {rule.info} | {rule.why} | {rule.fix} |"
        assert row in README, f"README's row for {rule.id} is out of date"
    documented = re.findall(r"^\| `([a-z-]+)` \| (?:error|warning) \|", README, re.MULTILINE)
    assert documented == [rule.id for rule in RULES]


def test_what_the_package_installs_is_documented():
    from importlib.metadata import distribution

    installed = distribution("constructs-lib")  # the editable install of this checkout
    for script in installed.entry_points.select(group="console_scripts"):
        assert f"`{script.name} check cdk.out`" in README
    assert "test" in installed.metadata.get_all("Provides-Extra") and '"constructs-lib[test] @' in README
    assert f'`"host": "{DYNAMIC}"`' in (ROOT / "docs" / "plan-and-diagram.md").read_text()
    assert f'`"{DYNAMIC}"` when the agent picks it' in README


def test_reuse_example_synthesizes(tmp_path):
    [example] = [block for block in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "app.synth()" in block]
    script = tmp_path / "example.py"
    script.write_text(example)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONPATH": str(ROOT), "CDK_OUTDIR": str(tmp_path / "cdk.out")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "cdk.out" / "Orders.template.json").exists()

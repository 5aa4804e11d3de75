#!/usr/bin/env python3
"""The workshop app: one `cdk deploy` gives the ECS bridge-mode lab, checked at synth.

Every synth runs cdk-nag's AwsSolutions pack and the port plan; `-c compliance=nist80053r5`
adds the NIST 800-53 rev 5 pack. Any open finding fails the synth.
"""

import os
import sys

# jsii's Node process (started by the first aws_cdk import) prints an end-of-life banner on
# Node 20, the version this workshop runs on; the Makefile silences it the same way.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402 - after the variable jsii reads
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks  # noqa: E402

from constructs_lib import PortPlanChecks  # noqa: E402
from stacks.bridge_lab_stack import BridgeLabStack  # noqa: E402
from stacks.settings import LabSettings, SettingsError, parse_compliance  # noqa: E402

COMPLIANCE_PACKS = {"nist80053r5": NIST80053R5Checks}


def main() -> None:
    app = cdk.App()
    context = app.node.get_all_context()
    try:
        settings = LabSettings.from_app_context(context)
        pack = parse_compliance(context.get("compliance"), COMPLIANCE_PACKS)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    BridgeLabStack(
        app,
        "BridgeModeLab",
        settings=settings,
        description="ECS workshop: bridge network mode with static and dynamic host ports",
    )
    plugins = [AwsSolutionsChecks(), PortPlanChecks()]
    if pack is not None:
        plugins.append(COMPLIANCE_PACKS[pack]())
    cdk.Validations.of(app).add_plugins(*plugins)
    app.synth()


if __name__ == "__main__":
    main()

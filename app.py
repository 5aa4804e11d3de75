#!/usr/bin/env python3
"""The workshop app: one `cdk deploy` gives the ECS bridge-mode lab, checked at synth.

Every synth runs cdk-nag's AwsSolutions pack and the port plan; `-c compliance=nist80053r5`
adds the NIST 800-53 rev 5 pack. Any open finding fails the synth.
"""

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from constructs_lib import PortPlanChecks
from stacks.bridge_lab_stack import BridgeLabStack
from stacks.settings import LabSettings, SettingsError

COMPLIANCE_PACKS = {"nist80053r5": NIST80053R5Checks}


def main() -> None:
    app = cdk.App()
    try:
        settings = LabSettings.from_context(app.node.try_get_context)
        extra_pack = _compliance_pack(app.node.try_get_context("compliance"))
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
    if extra_pack is not None:
        plugins.append(extra_pack())
    cdk.Validations.of(app).add_plugins(*plugins)
    app.synth()


def _compliance_pack(name):
    if name is None:
        return None
    if name not in COMPLIANCE_PACKS:
        raise SettingsError(f"compliance={name!r} is not a known pack; allowed: {', '.join(COMPLIANCE_PACKS)}.")
    return COMPLIANCE_PACKS[name]


if __name__ == "__main__":
    main()

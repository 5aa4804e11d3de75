#!/usr/bin/env python3
"""The workshop app: one `cdk deploy` gives the ECS bridge-mode lab, checked at synth."""

import sys

import aws_cdk as cdk

from constructs_lib import PortPlanChecks
from stacks.bridge_lab_stack import BridgeLabStack
from stacks.settings import LabSettings, SettingsError


def main() -> None:
    app = cdk.App()
    try:
        settings = LabSettings.from_context(app.node.try_get_context)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    BridgeLabStack(
        app,
        "BridgeModeLab",
        settings=settings,
        description="ECS workshop: bridge network mode with static and dynamic host ports",
    )
    cdk.Validations.of(app).add_plugins(PortPlanChecks())
    app.synth()


if __name__ == "__main__":
    main()

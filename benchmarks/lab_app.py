"""The workshop lab (stacks.bridge_lab_stack.BridgeLabStack) as app.py builds it, plugins chosen per run.

    python benchmarks/lab_app.py --outdir /tmp/out --plugins nag,portplan   # as app.py registers them
    python benchmarks/lab_app.py --outdir /tmp/out --plugins nag            # without the port plan
    BENCH_PLUGINS=nag npx --no-install cdk synth --quiet -o /tmp/out --app ".venv/bin/python benchmarks/lab_app.py"
"""

from __future__ import annotations

import sys

from _app import add_plugins, make_app, parse_args


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], plugins="nag,portplan")
    from stacks.bridge_lab_stack import BridgeLabStack
    from stacks.settings import LabSettings

    app = make_app(args.outdir)
    settings = LabSettings.from_context(app.node.try_get_context)
    BridgeLabStack(
        app,
        "BridgeModeLab",
        settings=settings,
        description="ECS workshop: bridge network mode with static and dynamic host ports",
    )
    add_plugins(app, args.plugins)
    app.synth()


if __name__ == "__main__":
    sys.exit(main())

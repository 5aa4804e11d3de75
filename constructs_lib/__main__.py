"""`python -m constructs_lib ...`: the port plan's command line."""

import sys

from .cli import main

sys.exit(main(exit_when_done=True))

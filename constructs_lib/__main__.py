"""`python -m constructs_lib ...`: the port plan's command line."""

import sys

try:
    from .cli import main

    status = main(exit_when_done=True)
except KeyboardInterrupt:  # Ctrl-C before the CLI took over (while importing): quietly, as after
    status = 130
sys.exit(status)

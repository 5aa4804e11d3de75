"""Pause Python's cyclic garbage collector while the port plan reads and checks templates."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the block, then restore it as it was.

    A check allocates millions of acyclic containers (parsed JSON, model objects) and keeps them to
    the end; the collector would rescan that growing heap again and again for nothing to free.
    Reference counting still frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

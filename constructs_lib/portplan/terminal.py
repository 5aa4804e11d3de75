"""Text for a terminal: what templates and file names put into a report cannot drive the terminal.

Construct paths, logical ids, file names and messages quoting template text may hold escape
sequences (`ESC [ 2 J` clears the screen, `ESC ] 52` writes the clipboard), newlines that forge
report lines, Unicode bidirectional overrides that reorder what is shown, and lone surrogates
(file names that are not UTF-8) that the terminal's encoding cannot write. `printable` spells all of
them as backslash escapes. JSON and SARIF need nothing: their encoders escape already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 and C1 controls, DEL; newlines and tabs too
    "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"  # zero-width marks, line separators, bidi controls
    "\ud800-\udfff]"  # lone surrogates (bytes that were not UTF-8)
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control characters, invisible or reordering marks and lone surrogates escaped
    (`\\x1b`, `\\u202e`); everything else, other scripts included, as it is."""
    return _UNSAFE.sub(_escape, text)


def printable_data(data: Any) -> Any:
    """A copy of JSON-like `data` with every string `printable` (keys too), for text renderers."""
    if isinstance(data, str):
        return printable(data)
    root: list[Any] = [None]
    pending: list[tuple[Any, Any, Any]] = [(data, root, 0)]  # (source, container, slot): no recursion
    while pending:
        source, container, slot = pending.pop()
        if isinstance(source, str):
            container[slot] = printable(source)
        elif isinstance(source, Mapping):
            copy: dict[Any, Any] = {}
            container[slot] = copy
            for key, value in source.items():
                shown = printable(key) if isinstance(key, str) else key
                copy[shown] = None
                pending.append((value, copy, shown))
        elif isinstance(source, (list, tuple)):
            items: list[Any] = [None] * len(source)
            container[slot] = items
            pending.extend((value, items, index) for index, value in enumerate(source))
        else:
            container[slot] = source
    return root[0]

"""Text the commands print that may contain bytes from imported files.

Rejected records keep raw text from imported files, which can contain escape
sequences that retitle, clear or recolour the terminal. Commands print
such text through :func:`printable`.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Return ``text`` with each control character written as ``\\xNN``."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", text)

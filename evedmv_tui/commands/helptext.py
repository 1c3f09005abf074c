"""Help text shared by the commands: examples under a command's options."""

from __future__ import annotations

import argparse
from typing import Any

_HEADINGS = ("example:", "examples:")


class HelpFormatter(argparse.HelpFormatter):
    """Wrap descriptions as argparse does, but print example lines as written.

    The default formatter joins an epilog's lines into one paragraph, which
    would run the example commands together.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(_HEADINGS):
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


def examples(*commands: str) -> dict[str, Any]:
    """Return ``add_parser`` keyword arguments for an epilog of example commands."""
    heading = _HEADINGS[0] if len(commands) == 1 else _HEADINGS[1]
    lines = "\n".join(f"  {command}" for command in commands)
    return {"epilog": f"{heading}\n{lines}", "formatter_class": HelpFormatter}

"""Text the commands print that may contain bytes from outside.

Rejected records keep raw text from imported files, and names from ESI or
query texts from the server can contain anything. Such text can hold escape
sequences that retitle, clear or recolour the terminal. Error messages go
through :func:`printable`, and every command's standard output through
:func:`printable_stdout`. A command run with ``--json`` also writes its
error as one JSON object on standard output (:func:`write_json_error`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from evedmv_tui.errors import EvedmvError

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters other than tab and newline."""


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match[0]):02x}"


def printable(text: str) -> str:
    """Return ``text`` with each control character written as ``\\xNN``."""
    return _CONTROL.sub(_escaped, text)


class PrintableStream:
    """A text stream that writes control characters but tab and newline as ``\\xNN``.

    JSON output is unchanged by it, because JSON escapes control characters
    in strings.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.written = False
        """Whether anything was written through this stream."""

    def write(self, text: str) -> int:
        self.written = self.written or bool(text)
        self._stream.write(_CONTROL_IN_LINES.sub(_escaped, text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def printable_stdout() -> Iterator[PrintableStream]:
    """Send ``sys.stdout`` through :class:`PrintableStream` until the block ends."""
    previous = sys.stdout
    stream = PrintableStream(previous)
    sys.stdout = stream  # type: ignore[assignment]
    try:
        yield stream
    finally:
        sys.stdout = previous


def discard_stdout() -> None:
    """Point the file descriptor of standard output at /dev/null.

    After a write to standard output failed (a closed pipe, a full disk),
    this keeps the interpreter's final flush of ``sys.stdout`` from failing
    again and printing an error of its own.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def write_json_error(error: EvedmvError, stream: TextIO) -> None:
    """Write ``error`` as one JSON object on a line, for scripts that read JSON.

    Only for a command that wrote nothing on standard output yet: one that
    printed its JSON document before it failed (``follow --once`` giving up
    prints its summary) keeps that document alone there.

    The object has the keys ``error`` (the title), ``message``, ``hint``
    (null when there is none) and ``exit_status``. The error still goes to
    standard error as text too.
    """
    document = {
        "error": error.title,
        "message": error.message,
        "hint": error.hint,
        "exit_status": error.exit_code,
    }
    stream.write(json.dumps(document) + "\n")
    stream.flush()

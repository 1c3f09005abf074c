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
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from evedmv_tui.errors import EvedmvError

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters other than tab and newline."""


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match[0]):02x}"


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)")


def hide_passwords(text: str) -> str:
    """Return ``text`` with the passwords of any DSN in it written as ``***``.

    For a DSN that libpq cannot parse, and for its error, which quotes it:
    the patterns find a URL's ``user:password@`` and a ``password=`` keyword.
    """
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _KEYWORD_PASSWORD.sub(r"\1***", text)


def printable(text: str) -> str:
    """Return ``text`` with each control character written as ``\\xNN``."""
    return _CONTROL.sub(_escaped, text)


class OutputFailed(Exception):
    """A write to standard output failed: a closed pipe or a full disk.

    Not an OSError, so a command's own handling of file errors does not
    take it for a failure of a file it opened.
    """

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


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
        try:
            self._stream.write(_CONTROL_IN_LINES.sub(_escaped, text))
        except OSError as exc:
            raise OutputFailed(exc) from exc
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


def stdout_write_error(exc: OSError) -> EvedmvError:
    """Return the error that reports a failed write to standard output."""
    return EvedmvError(
        "write failed",
        f"standard output: {exc.strerror or exc}",
        "free space where standard output goes, or write to a file on"
        " another file system",
    )


def stdout_failed(exc: OSError) -> int:
    """Report a failed write to standard output and return the exit status.

    A closed pipe exits as SIGPIPE would, silently; any other write error
    (a full disk) is reported on standard error.
    """
    discard_stdout()
    if isinstance(exc, BrokenPipeError):
        return 128 + signal.SIGPIPE
    error = stdout_write_error(exc)
    print(f"evedmv: {error.render()}", file=sys.stderr)
    return error.exit_code


def flushed_stdout(status: int) -> int:
    """Flush standard output and return the exit status for ``status``.

    Output is buffered, so a full disk or a closed pipe can show only when
    it is flushed. Left to the interpreter's exit, a failed flush printed a
    Python error and changed the status to 120.
    """
    try:
        sys.stdout.flush()
    except OSError as exc:
        return stdout_failed(exc)
    return status


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

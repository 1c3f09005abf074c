"""The handler behind ``--log-file``, which stops at its first failed write.

Python's :class:`logging.FileHandler` prints "--- Logging error ---" and a
traceback on stderr for each record it cannot write. On a full disk that is
every record, and the tracebacks bury a command's output, or the terminal
once the dashboard quits.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from evedmv_tui.commands.output import printable


class LogFileHandler(logging.FileHandler):
    """A log file handler that warns once on stderr when a write fails, then
    drops every later record."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.failure: str | None = None
        """The warning about the failed write, once a write failed."""
        self.hold_warning = False
        """Whether to print the warning only when :func:`warnings_held` ends."""
        self._warned = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.failure is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            # A record that cannot be formatted is a bug, shown in full.
            super().handleError(record)
            return
        if self.failure is None:
            self.failure = (
                f"cannot write the log file {self.baseFilename}:"
                f" {error.strerror or error}. No more records go to it."
            )
        self.warn()

    def warn(self) -> None:
        """Print the warning about the failed write, unless held or printed."""
        if self.failure is None or self.hold_warning or self._warned:
            return
        self._warned = True
        print(
            f"evedmv: WARNING: {printable(self.failure)}\n"
            "hint: free space on its file system, or give another path with"
            " --log-file",
            file=sys.stderr,
        )


@contextlib.contextmanager
def warnings_held(logger: logging.Logger) -> Iterator[None]:
    """Hold the warnings of ``logger``'s log file handlers until the block ends.

    Textual captures stderr while the dashboard runs, so a warning printed
    then would never reach the terminal.
    """
    handlers = [h for h in logger.handlers if isinstance(h, LogFileHandler)]
    for handler in handlers:
        handler.hold_warning = True
    try:
        yield
    finally:
        for handler in handlers:
            handler.hold_warning = False
            handler.warn()

"""Errors that carry a short title and one sentence for the user.

Commands print them on stderr and exit non-zero; the dashboard shows them as a
notification or in the panel they concern. None of them carries a traceback
or local variables, so a DSN with a password never reaches the screen.
"""

from __future__ import annotations


class EvedmvError(Exception):
    """A failure the user can act on: a title, a message and an optional hint."""

    exit_code = 2

    def __init__(self, title: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"{self.title}: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class ConfigError(EvedmvError):
    """Invalid settings, options or environment variables."""


class ClusterError(EvedmvError):
    """The private PostgreSQL cluster could not be created, started or stopped."""


class DatabaseUnavailable(EvedmvError):
    """The database cannot be reached, or lacks an extension or privilege."""

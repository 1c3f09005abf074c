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


class PermissionDenied(DatabaseUnavailable):
    """The connected role lacks a privilege that a statement needs."""

    def __init__(
        self,
        message: str,
        hint: str,
        *,
        role: str | None = None,
        relation: str | None = None,
        owner: str | None = None,
        privileges: tuple[str, ...] = (),
        grants: str | None = None,
    ) -> None:
        super().__init__("permission denied", message, hint)
        self.role = role
        self.relation = relation
        """The denied table or sequence with its kind: ``table watch_profiles``."""
        self.owner = owner
        """The role that owns ``relation``."""
        self.privileges = privileges
        """The privileges on ``relation`` that ``role`` lacks."""
        self.grants = grants
        """GRANT statements that ``owner`` can run to let ``role`` change rows."""

    def with_hint(self, hint: str) -> PermissionDenied:
        """Return a copy of this error with ``hint`` in place of its hint."""
        return PermissionDenied(
            self.message,
            hint,
            role=self.role,
            relation=self.relation,
            owner=self.owner,
            privileges=self.privileges,
            grants=self.grants,
        )

"""What the watched server lets the monitor see, and the fix for each gap."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg

from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.statements import OLDEST_SUPPORTED, parse_version
from evedmv_tui.store.db import Database, load_sql

GENERIC_PLAN_SERVER = 160000
"""``EXPLAIN (GENERIC_PLAN)`` exists from PostgreSQL 16."""


@dataclasses.dataclass(frozen=True, slots=True)
class PanelProblem:
    """Why a panel is empty or partial, and the statement or setting that fixes it."""

    panel: str
    case: str
    fix: str
    severity: Severity = Severity.WARNING

    @property
    def text(self) -> str:
        return f"{self.case}; fix: {self.fix}"


@dataclasses.dataclass(frozen=True, slots=True)
class MonitorCapabilities:
    """The watched server's version, extension, privileges and settings."""

    server_version: str
    server_version_num: int
    pgss_version: str | None
    pgss_schema: str | None
    preloaded: bool
    read_all_stats: bool
    signal_backend: bool
    superuser: bool
    role_name: str
    server_address: str | None
    """None on a unix-socket connection."""
    preload_libraries: str | None
    """None when the role may not read ``shared_preload_libraries``."""
    pgss_track: str | None
    """The server's ``pg_stat_statements.track``, before this session changed it."""
    compute_query_id: str | None

    @property
    def pgss_version_tuple(self) -> tuple[int, int] | None:
        if self.pgss_version is None:
            return None
        return parse_version(self.pgss_version)

    @property
    def generic_plan(self) -> bool:
        return self.server_version_num >= GENERIC_PLAN_SERVER

    def statements_problem(self) -> PanelProblem | None:
        """Return why ``pg_stat_statements`` cannot be read, or None."""
        panel = "statements"
        if self.pgss_version is None and not self.preloaded:
            return PanelProblem(
                panel,
                "pg_stat_statements is not installed and not preloaded",
                f"{_preload_fix(self.preload_libraries)}; restart PostgreSQL;"
                " then CREATE EXTENSION pg_stat_statements;",
            )
        if not self.preloaded:
            return PanelProblem(
                panel,
                "pg_stat_statements is installed but not preloaded",
                f"{_preload_fix(self.preload_libraries)}; then restart PostgreSQL",
            )
        if self.pgss_version is None:
            return PanelProblem(
                panel,
                "pg_stat_statements is not installed in this database",
                "CREATE EXTENSION pg_stat_statements;",
            )
        version = self.pgss_version_tuple
        if version is not None and version < OLDEST_SUPPORTED:
            return PanelProblem(
                panel,
                f"pg_stat_statements {self.pgss_version} is too old (no queryid)",
                "ALTER EXTENSION pg_stat_statements UPDATE;",
            )
        if self.pgss_track == "none":
            return PanelProblem(
                panel,
                "pg_stat_statements.track is none: nothing is recorded",
                "ALTER SYSTEM SET pg_stat_statements.track = 'top';"
                " SELECT pg_reload_conf();",
            )
        if self.compute_query_id == "off":
            return PanelProblem(
                panel,
                "compute_query_id is off: no statement gets a queryid",
                "ALTER SYSTEM SET compute_query_id = 'auto'; SELECT pg_reload_conf();",
            )
        return None

    def privilege_notes(self) -> list[PanelProblem]:
        """Return the gaps that leave panels working but partial."""
        notes = []
        if not self.read_all_stats:
            notes.append(
                PanelProblem(
                    "statements",
                    f"role {self.role_name} lacks pg_read_all_stats: other roles'"
                    " statements are summed as one hidden row and their"
                    " activity shows no query text",
                    f"GRANT pg_read_all_stats TO {self.role_name};",
                )
            )
        return notes


def _preload_fix(libraries: str | None) -> str:
    """Return the step that adds pg_stat_statements to the preloaded libraries.

    ``ALTER SYSTEM`` replaces the whole list, so the statement must carry
    the current one, one string literal per library: a single literal
    ``'a,b'`` is stored as one library named ``a,b``, and the server then
    fails to start. A role that may not read the list gets the steps
    instead of a statement with a placeholder.
    """
    if libraries is None:
        return (
            "as a superuser, run SHOW shared_preload_libraries; then ALTER SYSTEM"
            " SET shared_preload_libraries to that list with pg_stat_statements"
            " added, one quoted name per library"
        )
    # SHOW separates the names with commas and double-quotes unusual ones.
    names = [name.strip().strip('"') for name in libraries.split(",")]
    names = [name for name in names if name]
    if "pg_stat_statements" not in names:
        names.append("pg_stat_statements")
    literals = ", ".join("'{}'".format(name.replace("'", "''")) for name in names)
    return f"ALTER SYSTEM SET shared_preload_libraries = {literals}"


def read_capabilities(
    db: Database, conn: psycopg.Connection[Any]
) -> MonitorCapabilities:
    found = db.fetch_one(
        load_sql("evedmv_tui.monitor", "capabilities"),
        row=MonitorCapabilities,
        conn=conn,
    )
    if found is None:
        raise LookupError("current_user has no row in pg_roles")
    return found

"""Ordered SQL migrations, each applied in one transaction and recorded.

Files are ``store/migrations/NNNN_name.sql``; ``NNNN`` orders them. A
transaction-level advisory lock keeps two processes from migrating at once.

:func:`migrate` reads ``schema_migrations`` first and runs no DDL when every
migration is applied, so a role that may only read the tables runs every
command that reads. When a migration is pending and the role lacks the
privilege to apply it, :class:`MigrationNotAllowed` is raised before any DDL.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from importlib import resources
from typing import Any

import psycopg

from evedmv_tui.errors import DatabaseUnavailable
from evedmv_tui.store.db import Database

log = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 7_305_000_001


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def file_name(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


class MigrationFailed(DatabaseUnavailable):
    """A migration's SQL failed; its transaction was rolled back."""

    def __init__(self, migration: Migration, error: psycopg.Error) -> None:
        lines = str(error).strip().splitlines()
        super().__init__(
            "cannot create the schema",
            f"migration {migration.file_name} failed: {lines[0] if lines else error!r}",
            _hint(error),
        )
        self.migration = migration
        self.error = error


OWNER_FIX = (
    "run 'evedmv --dsn OWNER_DSN db migrate', where OWNER_DSN connects as the"
    " role that owns the evedmv tables (or one with CREATE on the schema)"
)
CREATOR_FIX = (
    "run 'evedmv --dsn DSN db migrate', where DSN connects as a role that may"
    " create tables in this database"
)
"""The fix when no evedmv table exists yet, so no role owns them."""
OWNER_HINT = f"{OWNER_FIX}, then run this command again"


def migrate_fix(applied: set[int]) -> str:
    """Return whom to ask to migrate: the owner, or any role that may create."""
    return OWNER_FIX if applied else CREATOR_FIX


class MigrationNotAllowed(DatabaseUnavailable):
    """Migrations are pending and the connected role may not apply them."""

    def __init__(
        self, pending: list[Migration], missing: str, hint: str = OWNER_HINT
    ) -> None:
        super().__init__(
            "cannot apply migrations",
            f"{_pending_text(pending)} and {missing}",
            hint,
        )
        self.pending = pending
        self.missing = missing


class SchemaNotReady(DatabaseUnavailable):
    """The database lacks the evedmv schema, or has migrations pending.

    Commands that only read raise it instead of migrating a server given
    with ``--dsn``; the dashboard keeps it and opens in monitor-only mode.
    """

    def __init__(self, pending: list[Migration], applied: set[int]) -> None:
        if applied:
            super().__init__(
                "evedmv schema out of date",
                _pending_text(pending),
                migrate_fix(applied),
            )
        else:
            super().__init__(
                "no evedmv schema",
                "no evedmv migration is applied in this database",
                migrate_fix(applied),
            )
        self.pending = pending
        self.applied = applied


def _pending_text(pending: list[Migration]) -> str:
    count = len(pending)
    names = ", ".join(m.file_name for m in pending)
    noun = "migration is" if count == 1 else "migrations are"
    return f"{count} {noun} pending ({names})"


def _hint(error: psycopg.Error) -> str:
    """Return what to do about a failed migration, by the server's error."""
    text = str(error)
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return OWNER_HINT
    if "extension" in text and ("control file" in text or "not available" in text):
        return (
            "install the server's contrib extensions (Debian/Ubuntu:"
            " postgresql-contrib), or omit --dsn to use the private cluster"
        )
    return (
        "run 'evedmv -v db migrate' for details,"
        " or omit --dsn to use the private cluster"
    )


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("evedmv_tui.store.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(
                Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8"))
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions in {versions}")
    return found


def applied_versions(
    db: Database, *, conn: psycopg.Connection[Any] | None = None
) -> set[int]:
    exists = db.fetch_value(
        "SELECT to_regclass('schema_migrations') IS NOT NULL", conn=conn
    )
    if not exists:
        return set()
    rows = db.fetch_all("SELECT version FROM schema_migrations", conn=conn)
    return {row[0] for row in rows}


def migrate(db: Database) -> list[Migration]:
    """Apply pending migrations in order and return the ones applied.

    When every migration is applied already, it only reads, so a role
    without CREATE on the schema passes. Then it builds the indexes that an
    import which ended early left dropped (``0203_deferred_indexes.sql``),
    unless that import still runs.

    Raises:
        MigrationNotAllowed: migrations are pending and the role lacks the
            privilege to apply them; raised before any DDL.
        MigrationFailed: the server rejected a migration, naming the
            migration and the fix, for example for a missing extension.
        DatabaseUnavailable: the role may not read ``schema_migrations``.
    """
    applied: list[Migration] = []
    with db.connection() as conn:
        done = _applied(db, conn)
        pending = [m for m in available_migrations() if m.version not in done]
        if pending:
            hint = f"{migrate_fix(done)}, then run this command again"
            _check_may_migrate(db, conn, pending, hint)
        for position, migration in enumerate(pending):
            try:
                if _apply(db, conn, migration):
                    applied.append(migration)
            except psycopg.errors.InsufficientPrivilege as exc:
                # The privilege check passed, yet a statement needs more,
                # such as ownership of a table that another role created.
                raise MigrationNotAllowed(
                    pending[position:],
                    f"migration {migration.file_name} failed: {_first_line(exc)}",
                ) from exc
            except psycopg.Error as exc:
                raise MigrationFailed(migration, exc) from exc
        built = _restore_deferred_indexes(db, conn)
    if built:
        log.warning("built %d index(es) that an interrupted import dropped", built)
    return applied


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _applied(db: Database, conn: psycopg.Connection[Any]) -> set[int]:
    """Return the applied versions, raising a plain error when the role may not read."""
    try:
        return applied_versions(db, conn=conn)
    except psycopg.errors.InsufficientPrivilege as exc:
        role = db.fetch_value("SELECT current_user", conn=conn)
        raise DatabaseUnavailable(
            "cannot read the schema version",
            f"role {role} may not read schema_migrations: {_first_line(exc)}",
            f"GRANT SELECT ON schema_migrations TO {role}, or connect as the"
            " role that owns the evedmv tables",
        ) from exc


def _check_may_migrate(
    db: Database, conn: psycopg.Connection[Any], pending: list[Migration], hint: str
) -> None:
    """Raise :class:`MigrationNotAllowed` unless the role may create in the schema.

    The migrations create their objects in the current schema. A later
    statement that needs more, such as ownership of a table, is caught where
    it fails (see :func:`migrate`).
    """
    row = db.fetch_one(
        "SELECT current_user, s.nspname, has_schema_privilege(s.oid, 'CREATE')"
        " FROM (SELECT 1) AS one"
        " LEFT JOIN pg_namespace s ON s.nspname = current_schema()",
        conn=conn,
    )
    assert row is not None
    role, schema, may_create = row
    if schema is not None and not may_create:
        raise MigrationNotAllowed(
            pending, f"role {role} lacks CREATE on schema {schema}", hint
        )


def _restore_deferred_indexes(db: Database, conn: psycopg.Connection[Any]) -> int:
    """Build the indexes an interrupted import dropped and return how many.

    Returns 0 and logs a warning when the role lacks the privilege.
    """
    try:
        return int(db.fetch_value("SELECT restore_deferred_indexes()", conn=conn))
    except psycopg.errors.InsufficientPrivilege as exc:
        log.warning(
            "indexes that an interrupted import dropped stay missing: %s;"
            " run 'evedmv db migrate' as the owner of the evedmv tables",
            _first_line(exc),
        )
        return 0


def _apply(db: Database, conn: psycopg.Connection[Any], migration: Migration) -> bool:
    """Apply one migration in its own transaction; False if it was applied before."""
    with conn.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,), conn=conn)
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())",
            conn=conn,
        )
        done = db.fetch_value(
            "SELECT 1 FROM schema_migrations WHERE version = %s",
            (migration.version,),
            conn=conn,
        )
        if done:
            return False
        log.info("applying migration %s", migration.file_name)
        conn.execute(migration.text.encode())
        db.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
            (migration.version, migration.name),
            conn=conn,
        )
    return True


def schema_problem(db: Database) -> SchemaNotReady | None:
    """Return why the app's tables cannot be used yet, or None when they can.

    Reads ``schema_migrations`` only, so any role may call it.

    Raises:
        DatabaseUnavailable: the role may not read ``schema_migrations``.
    """
    with db.connection() as conn:
        done = _applied(db, conn)
    pending = [m for m in available_migrations() if m.version not in done]
    return SchemaNotReady(pending, done) if pending else None


def pending_migrations(db: Database) -> list[Migration]:
    done = applied_versions(db)
    return [m for m in available_migrations() if m.version not in done]

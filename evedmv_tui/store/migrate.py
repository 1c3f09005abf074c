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


OWNER_HINT = (
    "run 'evedmv --dsn OWNER_DSN db migrate', where OWNER_DSN connects as the"
    " role that owns the evedmv tables (or one with CREATE on the schema),"
    " then run this command again"
)


class MigrationNotAllowed(DatabaseUnavailable):
    """Migrations are pending and the connected role may not apply them."""

    def __init__(self, pending: list[Migration], missing: str) -> None:
        count = len(pending)
        names = ", ".join(m.file_name for m in pending)
        noun = "migration is" if count == 1 else "migrations are"
        super().__init__(
            "cannot apply migrations",
            f"{count} {noun} pending ({names}) and {missing}",
            OWNER_HINT,
        )
        self.pending = pending
        self.missing = missing


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
        pending = _pending(db, conn)
        if pending:
            _check_may_migrate(db, conn, pending)
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


def _pending(db: Database, conn: psycopg.Connection[Any]) -> list[Migration]:
    """Return the migrations not applied yet, reading ``schema_migrations`` only."""
    try:
        done = applied_versions(db, conn=conn)
    except psycopg.errors.InsufficientPrivilege as exc:
        role = db.fetch_value("SELECT current_user", conn=conn)
        raise DatabaseUnavailable(
            "cannot read the schema version",
            f"role {role} may not read schema_migrations: {_first_line(exc)}",
            f"GRANT SELECT ON schema_migrations TO {role}, or connect as the"
            " role that owns the evedmv tables",
        ) from exc
    return [m for m in available_migrations() if m.version not in done]


def _check_may_migrate(
    db: Database, conn: psycopg.Connection[Any], pending: list[Migration]
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
            pending, f"role {role} lacks CREATE on schema {schema}"
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


def pending_migrations(db: Database) -> list[Migration]:
    done = applied_versions(db)
    return [m for m in available_migrations() if m.version not in done]

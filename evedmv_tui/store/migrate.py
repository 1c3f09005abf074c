"""Ordered SQL migrations, each applied in one transaction and recorded.

Files are ``store/migrations/NNNN_name.sql``; ``NNNN`` orders them. A
transaction-level advisory lock keeps two processes from migrating at once.
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


def _hint(error: psycopg.Error) -> str:
    """Return what to do about a failed migration, by the server's error."""
    text = str(error)
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return "connect as a role that owns the database, or GRANT CREATE on it"
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


def applied_versions(db: Database) -> set[int]:
    exists = db.fetch_value("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {row[0] for row in db.fetch_all("SELECT version FROM schema_migrations")}


def migrate(db: Database) -> list[Migration]:
    """Apply pending migrations in order and return the ones applied.

    Then build the indexes that an import which ended early left dropped
    (``0203_deferred_indexes.sql``), unless that import still runs.

    Raises :class:`MigrationFailed` naming the migration and the fix when the
    server rejects one, for example for a missing privilege or extension.
    """
    applied: list[Migration] = []
    with db.connection() as conn:
        for migration in available_migrations():
            try:
                if _apply(db, conn, migration):
                    applied.append(migration)
            except psycopg.Error as exc:
                raise MigrationFailed(migration, exc) from exc
        built = db.fetch_value("SELECT restore_deferred_indexes()", conn=conn)
    if built:
        log.warning("built %d index(es) that an interrupted import dropped", built)
    return applied


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

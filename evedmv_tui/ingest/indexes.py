"""Secondary indexes dropped for a bulk import and built again after it.

Inserting one btree entry per row and index costs the server much more CPU
than building the index by sorting once the rows are in, which is why
pg_restore builds indexes last. So an import that is large next to what is
stored drops the secondary indexes of ``attackers`` (one entry per attacker
row in each, the most costly to maintain) and builds them again when it
ends.

Safety:

- Readers see correct results throughout: without the indexes, their
  queries scan the tables instead.
- The dropped indexes are recorded in ``deferred_indexes`` in the
  transaction that drops them, with PostgreSQL's own definition of each
  (migration ``0203_deferred_indexes.sql``). Its function
  ``restore_deferred_indexes()`` builds them from those records, so no
  index definition is repeated here.
- The importer holds the advisory lock :data:`DEFER_LOCK_KEY` in a session
  of its own from before the drop until the indexes are built again. The
  function builds nothing while another session holds it, so
  ``migrate()`` (run before every command on the private cluster, and on
  a ``--dsn`` server before the commands that write) and the next import
  repair an import that ended early, and never rebuild indexes under a
  running one. One import at a time defers indexes.
- Import batches still land whole or not at all: dropping and building
  indexes happen in transactions of their own, outside any batch.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from evedmv_tui.store.db import Database, load_sql

log = logging.getLogger(__name__)

DEFER_LOCK_KEY = 7_305_000_103
"""Advisory lock of the import that deferred indexes.

``restore_deferred_indexes()`` in ``0203_deferred_indexes.sql`` tests the
same key."""
DEFERRED_TABLES = ("attackers",)
"""Tables whose secondary indexes a bulk import drops and builds again.

Batch hooks read ``killmails`` by system and time, so its indexes stay.
Deferring its three victim indexes as well saved 0.2 to 0.3 s of the
server's 5 s on the EVE Ref archives, within the noise of the import time."""
DEFER_MIN_BYTES = 4 * 1024 * 1024
"""Inputs smaller than this keep the indexes."""
BYTES_PER_KILLMAIL = 4096
"""Input bytes counted as one killmail when estimating an input's size.

NOTE: an estimate that errs low. The documents of the EVE Ref day archives
average about 3 KB as JSON and 180 bytes compressed in their archive."""
DROP_LOCK_TIMEOUT = "2s"
"""How long dropping the indexes waits for running queries on the table.

After that the import keeps the indexes rather than block readers."""

_SQL = "evedmv_tui.ingest"


def should_defer(db: Database, input_bytes: int) -> bool:
    """Return whether an import of ``input_bytes`` should defer the indexes.

    It should when the input is at least :data:`DEFER_MIN_BYTES` and fewer
    killmails are stored than the input contains by a low estimate. Building an
    index then sorts at most about twice the new rows, which costs less
    than inserting an entry per new row.
    """
    if input_bytes < DEFER_MIN_BYTES:
        return False
    estimate = input_bytes // BYTES_PER_KILLMAIL
    stored = db.fetch_value(load_sql(_SQL, "count_stored"), {"limit": estimate})
    return int(stored) < estimate


@contextlib.contextmanager
def deferred_indexes(
    db: Database, tables: Sequence[str] | None = None
) -> Iterator[list[str]]:
    """Drop the secondary indexes of ``tables`` and build them again on exit.

    ``tables`` defaults to :data:`DEFERRED_TABLES`. Yields the names of the
    dropped indexes: none when another import holds :data:`DEFER_LOCK_KEY`,
    when the role does not own the tables, or when a query kept a table
    locked for :data:`DROP_LOCK_TIMEOUT`. The indexes are built again
    however the block ends. When that fails after an error in the block,
    the error of the block is raised and the next ``migrate()`` or import
    builds them.
    """
    # A connection outside the pool holds the lock for the whole import, so
    # a pool of one connection stays free for the batches. Closing it
    # releases the lock, as does the server when the importer dies.
    with psycopg.connect(
        db.conninfo, autocommit=True, application_name=db.application_name
    ) as conn:
        if not db.fetch_value(
            "SELECT pg_try_advisory_lock(%s)", (DEFER_LOCK_KEY,), conn=conn
        ):
            log.info("another import has deferred the indexes; keeping them")
            yield []
            return
        dropped = _drop(db, conn, DEFERRED_TABLES if tables is None else tables)
        try:
            yield dropped
        except BaseException:
            if dropped:
                _restore_after_error(db, conn)
            raise
        if dropped:
            restore(db, conn=conn)


def _drop(
    db: Database, conn: psycopg.Connection[Any], tables: Sequence[str]
) -> list[str]:
    """Record and drop the secondary indexes of ``tables`` in one transaction."""
    dropped: list[str] = []
    try:
        with conn.transaction():
            db.execute(
                sql.SQL("SET LOCAL lock_timeout = {}").format(
                    sql.Literal(DROP_LOCK_TIMEOUT)
                ),
                conn=conn,
            )
            for table in tables:
                rows = db.fetch_all(
                    load_sql(_SQL, "defer_indexes"),
                    {"table": table},
                    conn=conn,
                )
                for schema_name, index_name in rows:
                    db.execute(
                        sql.SQL("DROP INDEX {}").format(
                            sql.Identifier(schema_name, index_name)
                        ),
                        conn=conn,
                    )
                    dropped.append(index_name)
    except psycopg.errors.LockNotAvailable:
        log.info(
            "queries kept %s locked for %s; the import keeps the indexes",
            ", ".join(tables),
            DROP_LOCK_TIMEOUT,
        )
        return []
    except psycopg.errors.InsufficientPrivilege as exc:
        # Only the owner of a table may drop its indexes.
        log.info(
            "the import keeps the indexes of %s: %s",
            ", ".join(tables),
            str(exc).splitlines()[0],
        )
        return []
    if dropped:
        log.info("dropped %s until the import ends", ", ".join(dropped))
    return dropped


def restore(db: Database, *, conn: psycopg.Connection[Any] | None = None) -> int:
    """Build the indexes an import dropped, unless a running import has the lock.

    Returns how many indexes it built.
    """
    built = int(db.fetch_value("SELECT restore_deferred_indexes()", conn=conn))
    if built:
        log.info("built %d deferred index(es) again", built)
    return built


def _restore_after_error(db: Database, conn: psycopg.Connection[Any]) -> None:
    try:
        restore(db, conn=conn)
    except (psycopg.Error, KeyboardInterrupt) as exc:
        log.warning(
            "cannot build the deferred indexes again (%s); the next import or"
            " 'evedmv db migrate' builds them",
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )

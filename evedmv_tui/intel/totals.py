"""Daily totals of corporations and alliances, kept up to date by the import.

Migration ``0202_intel_totals.sql`` creates the tables, the counting
function ``intel_totals_add`` and a trigger that moves ISK value changes
into the totals. It also back-fills the killmails stored before it ran.
:func:`on_batch` counts each committed import batch. A killmail is counted
once whichever way it arrives again, because ``intel_counted_killmails``
records it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.store.db import Database, load_sql

log = logging.getLogger(__name__)

TOTALS_LOCK_KEY = 7_305_000_201
"""Advisory lock held while counting. The value trigger takes it too."""


def count_killmails(
    db: Database, ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> int:
    """Count the stored, not yet counted killmails of ``ids`` in the totals.

    ``start`` and ``end`` bound their ``killmail_time`` (inclusive), so only
    those partitions are read. Returns how many killmails were counted.
    """
    if not ids:
        return 0
    with db.connection() as conn, conn.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (TOTALS_LOCK_KEY,), conn=conn)
        counted = db.fetch_value(
            load_sql("evedmv_tui.intel", "totals_add"),
            {"ids": list(ids), "start": start, "end": end},
            conn=conn,
        )
    return int(counted)


def on_batch(db: Database, result: BatchResult) -> None:
    """Batch hook: count the batch's killmails in the daily totals.

    Updated killmails are passed too: those already counted are skipped,
    and one stored before the totals saw it (imported without hooks) is
    counted now. Their value changes reach the totals through the trigger.
    """
    if result.min_time is None or result.max_time is None:
        return
    # TODO: about 1.2 s per batch of 2,000 on 1,000,000 generated killmails
    # (bench/intel.py), most of it in computing and upserting some 35,000
    # top list rows. That is slower than writing the batch itself.
    counted = count_killmails(db, result.killmail_ids, result.min_time, result.max_time)
    log.debug("counted %d killmails in the entity totals", counted)


def rebuild(db: Database) -> int:
    """Recount every stored killmail from scratch; return how many were counted.

    For a database whose killmails were imported without hooks, or after an
    SDE import that changed ship classes.
    """
    with db.connection() as conn, conn.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (TOTALS_LOCK_KEY,), conn=conn)
        db.execute(
            "TRUNCATE intel_counted_killmails, intel_entity_days,"
            " intel_entity_day_tops",
            conn=conn,
        )
        counted = db.fetch_value(
            load_sql("evedmv_tui.intel", "totals_rebuild"), conn=conn
        )
    log.info("rebuilt the entity totals from %d killmails", counted)
    return int(counted)


SHIP_CLASS_DIGEST = """
SELECT md5(coalesce(string_agg(t.type_id::text || ':' || g.ship_class, ','
                               ORDER BY t.type_id), ''))
FROM types t JOIN groups g ON g.group_id = t.group_id
"""
"""A digest of every type's ship class, as the totals see them."""


def ship_class_digest(db: Database) -> str:
    """Return a digest that changes when any type's ship class changes."""
    return str(db.fetch_value(SHIP_CLASS_DIGEST))


def recount_if_classes_changed(db: Database, before: str) -> int | None:
    """Rebuild the totals if the ship classes differ from digest ``before``.

    The totals file each ship under the class it had when its killmail was
    counted, so static data that adds types or moves them between classes
    makes them stale. Returns the killmails recounted, or None when nothing
    changed.
    """
    if ship_class_digest(db) == before:
        return None
    return rebuild(db)


UNCOUNTED = """
SELECT k.killmail_id, k.killmail_time
FROM killmails k
WHERE NOT EXISTS (
    SELECT 1 FROM intel_counted_killmails c WHERE c.killmail_id = k.killmail_id
)
ORDER BY k.killmail_time, k.killmail_id
"""
"""Stored killmails the totals have not counted, oldest first."""


def count_uncounted(db: Database, chunk: int = 2000) -> int:
    """Count every stored killmail the totals missed; return how many.

    An import whose hook failed after its batch committed (the server
    stopped, the connection dropped) leaves its killmails stored but not
    counted, and importing them again finds only duplicates.
    """
    rows = db.fetch_all(UNCOUNTED)
    counted = 0
    for first in range(0, len(rows), chunk):
        part = rows[first : first + chunk]
        ids = [int(row[0]) for row in part]
        counted += count_killmails(db, ids, part[0][1], part[-1][1])
    return counted

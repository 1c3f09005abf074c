"""Daily totals of corporations and alliances, kept up to date by the import.

Migration ``0202_intel_totals.sql`` creates the tables, the counting
function ``intel_totals_add`` and a trigger that moves ISK value changes
into the totals. It also back-fills the killmails stored before it ran.
:func:`on_batch` counts each committed import batch. A killmail is counted
once whichever way it arrives again, because ``intel_counted_killmails``
records it.

Migration ``0206_intel_totals_faster.sql`` replaces the counting function
with a faster one that writes the same rows, and adds the function that
files the ship lists again after a change of ship classes.

Migration ``0210_intel_totals_unvalued.sql`` adds the daily counts of kills
and losses without an ISK value, which the counting function and the value
trigger keep, and back-fills them from the killmails already counted.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.store.db import Database, NamedSql, load_sql

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


Progress = Callable[[int, int], None]
"""Called after each chunk with the killmails done so far and the total."""

CHUNK_KILLMAILS = 20_000
"""Killmails per statement of a rebuild or recount, in whole UTC days.

A statement keeps the rows of its whole chunk in memory. A day with more
killmails than this is one chunk of its own."""

SHIP_LISTS = ("ships_flown", "ships_lost")
"""The top lists that file ships under their class, the only part of the
totals that depends on static data."""


def _chunks(
    db: Database, conn: psycopg.Connection[Any]
) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """Split the stored killmails into runs of whole UTC days.

    Returns (start, end, killmails) per chunk, oldest first, with ``end``
    excluded. Days without killmails are left out.
    """
    chunks: list[tuple[dt.datetime, dt.datetime, int]] = []
    start: dt.datetime | None = None
    count = 0
    days = db.fetch_all(load_sql("evedmv_tui.intel", "totals_days"), conn=conn)
    for day, killmails in days:
        if start is None:
            start = day
        count += int(killmails)
        if count >= CHUNK_KILLMAILS:
            chunks.append((start, day + dt.timedelta(days=1), count))
            start, count = None, 0
    if start is not None:
        chunks.append((start, day + dt.timedelta(days=1), count))
    return chunks


def _run_chunks(
    db: Database,
    conn: psycopg.Connection[Any],
    sql: NamedSql,
    what: str,
    progress: Progress | None,
) -> int:
    """Run ``sql`` on each chunk of days in ``conn`` and return the sum of results."""
    chunks = _chunks(db, conn)
    total = sum(count for _, _, count in chunks)
    done = 0
    result = 0
    started = time.monotonic()
    for start, end, count in chunks:
        result += int(db.fetch_value(sql, {"start": start, "end": end}, conn=conn))
        done += count
        log.info(
            "%s: %d of %d killmails (to %s) in %.1f s",
            what,
            done,
            total,
            end.date(),
            time.monotonic() - started,
        )
        if progress is not None:
            progress(done, total)
    return result


def rebuild(db: Database, progress: Progress | None = None) -> int:
    """Recount every stored killmail from scratch; return how many were counted.

    For a database whose killmails were imported without hooks. It counts
    a chunk of days per statement and calls ``progress`` after each.
    """
    with db.connection() as conn, conn.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (TOTALS_LOCK_KEY,), conn=conn)
        db.execute(
            "TRUNCATE intel_counted_killmails, intel_entity_days,"
            " intel_entity_day_tops",
            conn=conn,
        )
        counted = _run_chunks(
            db,
            conn,
            load_sql("evedmv_tui.intel", "totals_rebuild"),
            "rebuilding the entity totals",
            progress,
        )
    log.info("rebuilt the entity totals from %d killmails", counted)
    return counted


def recount_ships(db: Database, progress: Progress | None = None) -> int:
    """File the ship lists of every counted killmail under the current classes.

    The rest of the totals does not depend on static data. Calls
    ``progress`` after each chunk of days and returns the killmails read.
    """
    with db.connection() as conn, conn.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (TOTALS_LOCK_KEY,), conn=conn)
        db.execute(
            "DELETE FROM intel_entity_day_tops WHERE list = ANY(%s)",
            (list(SHIP_LISTS),),
            conn=conn,
        )
        recounted = _run_chunks(
            db,
            conn,
            load_sql("evedmv_tui.intel", "totals_recount_ships"),
            "filing ships under the new classes",
            progress,
        )
    log.info("filed the ships of %d killmails under the new classes", recounted)
    return recounted


SHIP_CLASS_DIGEST = """
SELECT md5(coalesce(string_agg(t.type_id::text || ':' || g.ship_class, ','
                               ORDER BY t.type_id), ''))
FROM types t JOIN groups g ON g.group_id = t.group_id
"""
"""A digest of every type's ship class, as the totals see them."""


def ship_class_digest(db: Database) -> str:
    """Return a digest that changes when any type's ship class changes."""
    return str(db.fetch_value(SHIP_CLASS_DIGEST))


def recount_if_classes_changed(
    db: Database, before: str, progress: Progress | None = None
) -> int | None:
    """Recount the ship lists if the ship classes differ from digest ``before``.

    The totals file each ship under the class it had when its killmail was
    counted, so static data that adds types or moves them between classes
    makes the ship lists stale. Nothing else in the totals depends on it.
    Killmails the totals missed are counted too, so the result equals a
    :func:`rebuild`. Returns the killmails recounted, or None when nothing
    changed.
    """
    if ship_class_digest(db) == before:
        return None
    return recount_ships(db, progress) + count_uncounted(db)


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

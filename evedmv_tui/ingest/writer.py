"""The batch writer: binary COPY of parsed killmails, merged in one transaction.

Each batch runs in one transaction under a transaction-level advisory lock,
so concurrent importers (a file import and the live feed) never race on
``killmail_index``. Inside it:

1. one ``= ANY`` lookup in ``killmail_index`` sorts the batch into killmails
   that are new, pending or invalid (their body lands now), and already
   stored (only their zkb values may change). Records whose hash differs
   from the stored one become rejects (:mod:`evedmv_tui.ingest.merge`);
2. bodies of killmails not yet stored are COPYed straight into
   ``killmails``, ``attackers`` and ``items``. The lookup ran under the
   lock, so no row exists for them and no conflict handling is needed;
3. zkb blocks for stored killmails are COPYed into a temporary staging table
   and merged with one ``UPDATE ... FROM``, which refreshes values only where
   the newest block differs;
4. rejects are inserted;
5. the batch's counts are added to its import's ``imports`` row, so a
   running import shows what has landed.

New killmails that came without zkb values already carry ISK values
computed from prices when they were encoded (:mod:`evedmv_tui.valuation`).

Any error rolls the whole batch back, so a batch lands whole or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from evedmv_tui.ingest.encode import (
    ATTACKER_COLUMNS,
    INDEX_COLUMNS,
    ITEM_COLUMNS,
    KILLMAIL_COLUMNS,
    SIGNATURE,
    TRAILER,
    EncodedKillmail,
    WritableRecord,
    encoder,
    reencode,
    zkb_values,
)
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.merge import (
    Keyed,
    Merged,
    hashes_differ,
    merge_duplicates,
    resolve_hashes,
)
from evedmv_tui.ingest.shapes import PendingKillmail, RejectedRecord
from evedmv_tui.killmails import Zkb, decode_zkb
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.valuation import load_price_book

log = logging.getLogger(__name__)

WRITE_LOCK_KEY = 7_305_000_101
"""Advisory lock key that serialises every writer of ``killmail_index``."""

PARTITIONED_TABLES = ("killmails", "attackers", "items")

ZKB_STAGE_COLUMNS = (
    ("killmail_id", "int8"),
    ("killmail_time", "timestamptz"),
    ("killmail_hash", "text"),
    *KILLMAIL_COLUMNS[16:27],
    ("zkb_body", "text"),
    ("zkb_seen_at", "timestamptz"),
    ("source", "text"),
)

_SQL = "evedmv_tui.ingest"


def copy_statement(table: str, columns: Sequence[tuple[str, str]]) -> str:
    """Return ``COPY table (columns) FROM STDIN (FORMAT BINARY)``."""
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), names
    )
    return statement.as_string(None)


def copy_rows(
    db: Database,
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[Any]],
) -> int:
    """COPY ``rows`` into ``table`` in binary format; return the row count."""
    statement = copy_statement(table, columns)
    count = 0
    with (
        db.timed(f"ingest.copy_{table}", statement) as box,
        conn.cursor() as cur,
        cur.copy(statement) as copy,
    ):
        copy.set_types([kind for _, kind in columns])
        write_row = copy.write_row
        for row in rows:
            write_row(row)
            count += 1
        box[0] = count
    return count


COPY_BLOCK = 1024 * 1024
"""Bytes sent per ``Copy.write`` call when sending encoded rows."""


def copy_encoded(
    db: Database,
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[bytes],
) -> int:
    """COPY pre-encoded rows into ``table``.

    Each item of ``rows`` contains the rows of one killmail. Telemetry and
    the return value count those items.
    """
    statement = copy_statement(table, columns)
    count = 0
    with (
        db.timed(f"ingest.copy_{table}", statement) as box,
        conn.cursor() as cur,
        cur.copy(statement) as copy,
    ):
        block = bytearray(SIGNATURE)
        for chunk in rows:
            block += chunk
            count += 1
            if len(block) >= COPY_BLOCK:
                copy.write(block)
                block = bytearray()
        block += TRAILER
        copy.write(block)
        box[0] = count
    return count


def month_start(moment: dt.datetime) -> dt.datetime:
    """Return the first instant of ``moment``'s month in UTC."""
    utc = moment.astimezone(dt.UTC)
    return dt.datetime(utc.year, utc.month, 1, tzinfo=dt.UTC)


def month_starts(moments: Iterable[dt.datetime]) -> set[dt.datetime]:
    """Return the first instants of the UTC months of ``moments``."""
    # Parsed killmail times are in UTC already, so their year and month
    # name the month without a time zone conversion per killmail.
    utc_months = set()
    starts = set()
    for moment in moments:
        if moment.tzinfo is dt.UTC:
            utc_months.add((moment.year, moment.month))
        else:
            starts.add(month_start(moment))
    starts.update(
        dt.datetime(year, month, 1, tzinfo=dt.UTC) for year, month in utc_months
    )
    return starts


def _next_month(start: dt.datetime) -> dt.datetime:
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


class PartitionManager:
    """Create the monthly partitions of the killmail tables on demand."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: set[str] | None = None

    def _load(self) -> set[str]:
        rows = self.db.fetch_all(load_sql(_SQL, "partitions"))
        return {row[0] for row in rows}

    def ensure(self, months: Iterable[dt.datetime]) -> None:
        """Create any missing partitions for the months starting at ``months``."""
        if self._known is None:
            self._known = self._load()
        missing = sorted(
            month
            for month in set(months)
            if partition_name("killmails", month) not in self._known
        )
        if not missing:
            return
        with self.db.connection() as conn, conn.transaction():
            self.db.execute(
                "SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,), conn=conn
            )
            for month in missing:
                for table in PARTITIONED_TABLES:
                    statement = sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {}"
                        " FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(partition_name(table, month)),
                        sql.Identifier(table),
                        sql.Literal(month),
                        sql.Literal(_next_month(month)),
                    )
                    self.db.execute(statement, conn=conn)
        log.info("created partitions for %d month(s)", len(missing))
        self._known.update(partition_name("killmails", month) for month in missing)


def partition_name(table: str, month: dt.datetime) -> str:
    """Return the name of ``table``'s partition for ``month``: ``items_2021_11``."""
    return f"{table}_{month.year:04d}_{month.month:02d}"


@dataclasses.dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Counts and ids of one committed batch."""

    inserted: int
    updated: int
    duplicates: int
    pending: int
    rejected: int
    result: BatchResult
    pending_ids: tuple[int, ...] = ()
    """Killmails that became pending: new references, or a new hash."""
    hash_rejected: frozenset[int] = frozenset()
    """Positions in the batch of records rejected because their hash differs
    from the stored killmail's."""
    invalid_ids: tuple[int, ...] = ()
    """References to pairs that ESI already rejected as invalid, met again
    with the same hash. They are counted in ``duplicates`` here."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Existing:
    killmail_id: int
    state: str
    killmail_hash: str | None
    killmail_time: dt.datetime | None
    pending_zkb: str | None


@dataclasses.dataclass(slots=True)
class _Plan:
    """The batch sorted by what must happen to each killmail."""

    index_rows: list[bytes] = dataclasses.field(default_factory=list)
    """New ``killmail_index`` rows, encoded for binary COPY."""
    stored_updates: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    pending_updates: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    bodies: list[EncodedKillmail] = dataclasses.field(default_factory=list)
    zkb_stage: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    pending_ids: list[int] = dataclasses.field(default_factory=list)
    invalid_ids: list[int] = dataclasses.field(default_factory=list)
    duplicates: int = 0


def _stage_row(
    killmail_id: int,
    killmail_time: dt.datetime,
    killmail_hash: str | None,
    zkb: Zkb,
    zkb_body: str,
    seen_at: dt.datetime,
    source: str,
) -> tuple[Any, ...]:
    return (
        killmail_id,
        killmail_time,
        killmail_hash,
        *zkb_values(zkb),
        zkb_body,
        seen_at,
        source,
    )


def _plan(
    chosen: dict[int, Keyed],
    existing: dict[int, _Existing],
    seen_at: dt.datetime,
    prices: Mapping[int, float],
) -> _Plan:
    plan = _Plan()
    for killmail_id, record in chosen.items():
        found = existing.get(killmail_id)
        if isinstance(record, EncodedKillmail):
            _plan_body(plan, record, found, seen_at, prices)
        else:
            _plan_reference(plan, record, found, seen_at)
    return plan


def _plan_body(
    plan: _Plan,
    record: EncodedKillmail,
    found: _Existing | None,
    seen_at: dt.datetime,
    prices: Mapping[int, float],
) -> None:
    if found is not None and found.state == "stored":
        zkb = record.zkb
        # resolve_hashes rejected every record whose hash differs from the
        # stored one, so this record's zkb block belongs to the stored killmail.
        if zkb is None or record.zkb_body is None:
            plan.duplicates += 1
            return
        plan.zkb_stage.append(
            _stage_row(
                record.killmail_id,
                found.killmail_time or record.killmail_time,
                record.killmail_hash,
                zkb,
                record.zkb_body,
                seen_at,
                record.source,
            )
        )
        return
    if found is not None:
        # The reference that made this killmail pending brought the hash and
        # perhaps the zkb block, which the body may lack. A body with another
        # hash replaces the reference, and the block belongs to that hash.
        zkb_body = None if record.zkb_body else found.pending_zkb
        if hashes_differ(found.killmail_hash, record.killmail_hash):
            zkb_body = None
        killmail_hash = None if record.killmail_hash else found.killmail_hash
        if zkb_body or killmail_hash:
            record = reencode(
                record,
                seen_at,
                prices=prices,
                zkb_body=zkb_body,
                killmail_hash=killmail_hash,
            )
    plan.bodies.append(record)
    if found is None:
        plan.index_rows.append(record.index_copy)
    else:
        plan.stored_updates.append(
            (
                record.killmail_id,
                record.killmail_hash,
                record.killmail_time,
                record.source,
            )
        )


def _plan_reference(
    plan: _Plan,
    record: PendingKillmail,
    found: _Existing | None,
    seen_at: dt.datetime,
) -> None:
    if found is None:
        pending_zkb = None if record.zkb_body is None else Jsonb(record.zkb_body, _raw)
        plan.index_rows.append(
            encoder("killmail_index").encode(
                [
                    (
                        record.killmail_id,
                        record.killmail_hash,
                        None,
                        "pending",
                        record.source,
                        pending_zkb,
                    )
                ]
            )
        )
        plan.pending_ids.append(record.killmail_id)
        return
    if found.state == "stored":
        if record.zkb_body is None:
            plan.duplicates += 1
            return
        assert found.killmail_time is not None, "a stored killmail has a time"
        plan.zkb_stage.append(
            _stage_row(
                record.killmail_id,
                found.killmail_time,
                record.killmail_hash,
                decode_zkb(record.zkb_body.encode()),
                record.zkb_body,
                seen_at,
                record.source,
            )
        )
        return
    same_hash = found.killmail_hash == record.killmail_hash
    if found.state == "invalid" and same_hash:
        # ESI rejected this pair; only a different hash is worth a new try.
        plan.duplicates += 1
        plan.invalid_ids.append(record.killmail_id)
        return
    if same_hash and (record.zkb_body is None or record.zkb_body == found.pending_zkb):
        plan.duplicates += 1
        return
    plan.pending_updates.append(
        (record.killmail_id, record.killmail_hash, record.zkb_body, record.source)
    )
    if same_hash:
        plan.duplicates += 1
    else:
        plan.pending_ids.append(record.killmail_id)


def _body_times(records: Sequence[WritableRecord], merged: Merged) -> list[dt.datetime]:
    """Return the times of the bodies the batch may store.

    A contested killmail's body is not chosen before the lookup, so the
    times of all its bodies are included.
    """
    times = [
        record.killmail_time
        for record in merged.chosen.values()
        if isinstance(record, EncodedKillmail)
    ]
    if merged.contested:
        times.extend(
            record.killmail_time
            for record in records
            if isinstance(record, EncodedKillmail)
            and record.killmail_id in merged.contested
        )
    return times


def _raw(text: Any) -> str:
    """Pass jsonb text through unchanged (it is already JSON)."""
    return str(text)


def _reject_params(
    rejects: Sequence[RejectedRecord], import_id: int | None
) -> dict[str, Any]:
    # One INSERT ... ON CONFLICT DO UPDATE cannot touch a row twice, so the
    # same record read twice in one batch (a file named twice) is sent once.
    unique = {(r.source_file, r.position, r.raw): r for r in rejects}
    rejects = list(unique.values())
    return {
        "import_id": import_id,
        "source_file": [r.source_file for r in rejects],
        "position": [r.position for r in rejects],
        "killmail_id": [r.killmail_id for r in rejects],
        "field": [r.field for r in rejects],
        "reason": [r.reason for r in rejects],
        "raw": [r.raw for r in rejects],
        "hash_conflict": [r.hash_conflict for r in rejects],
    }


def _batch_result(
    inserted: Sequence[EncodedKillmail],
    updated: Sequence[tuple[int, dt.datetime, int]],
) -> BatchResult:
    times = [r.killmail_time for r in inserted] + [row[1] for row in updated]
    systems = {r.solar_system_id for r in inserted}
    systems.update(row[2] for row in updated)
    return BatchResult(
        inserted_ids=tuple(r.killmail_id for r in inserted),
        updated_ids=tuple(row[0] for row in updated),
        min_time=min(times) if times else None,
        max_time=max(times) if times else None,
        solar_system_ids=tuple(sorted(systems)),
        victim_ship_type_ids=tuple(sorted({r.victim_ship_type_id for r in inserted})),
    )


class BatchWriter:
    """Write batches of parsed records for one import."""

    def __init__(self, db: Database, *, import_id: int | None = None) -> None:
        self.db = db
        self.import_id = import_id
        self.partitions = PartitionManager(db)
        # NOTE: prices are read once per writer. Killmails it writes after a
        # concurrent price import has revalued the stored ones keep values
        # from the prices read here.
        self.prices = load_price_book(db)
        """Unit prices by type id, for killmails encoded without zkb values."""

    def write(self, records: Sequence[WritableRecord]) -> BatchOutcome:
        """Write one batch in one transaction and return its counts and ids."""
        seen_at = dt.datetime.now(dt.UTC)
        merged = merge_duplicates(records, seen_at, self.prices)
        self.partitions.ensure(month_starts(_body_times(records, merged)))

        db = self.db
        with db.connection() as conn, conn.transaction():
            db.execute(load_sql(_SQL, "lock_writer"), (WRITE_LOCK_KEY,), conn=conn)
            existing = {
                row.killmail_id: row
                for row in db.fetch_all(
                    load_sql(_SQL, "lookup_index"),
                    {"ids": list(merged.chosen)},
                    row=_Existing,
                    conn=conn,
                )
            }
            stored = {
                row.killmail_id: row.killmail_hash
                for row in existing.values()
                if row.state == "stored"
            }
            resolve_hashes(records, merged, stored, seen_at, self.prices)
            plan = _plan(merged.chosen, existing, seen_at, self.prices)
            self._write_plan(conn, plan, seen_at)
            updated = self._merge_zkb(conn, plan)
            if merged.rejects:
                db.execute(
                    load_sql(_SQL, "insert_rejects"),
                    _reject_params(merged.rejects, self.import_id),
                    conn=conn,
                )
            unchanged = len(plan.zkb_stage) - len(updated)
            outcome = BatchOutcome(
                inserted=len(plan.bodies),
                updated=len(updated),
                duplicates=merged.duplicates + plan.duplicates + unchanged,
                pending=len(plan.pending_ids),
                rejected=len(merged.rejects),
                result=_batch_result(plan.bodies, updated),
                pending_ids=tuple(plan.pending_ids),
                hash_rejected=frozenset(merged.rejected_positions),
                invalid_ids=tuple(plan.invalid_ids),
            )
            if self.import_id is not None:
                self._count_batch(conn, len(records), outcome)

        if merged.rejected_positions:
            first = records[merged.rejected_positions[0]]
            count = len(merged.rejected_positions)
            log.warning(
                "rejected %d %s whose killmail hash differs from the stored"
                " killmail's, such as killmail %s. See 'evedmv rejects list'.",
                count,
                "record" if count == 1 else "records",
                first.killmail_id,
            )
        return outcome

    def _count_batch(
        self, conn: psycopg.Connection[Any], read: int, outcome: BatchOutcome
    ) -> None:
        """Add the batch's counts to the ``imports`` row in its transaction.

        The importer replaces them with its own per-record totals when it
        finishes. An import that dies keeps the counts of its committed
        batches.
        """
        self.db.execute(
            load_sql(_SQL, "count_batch"),
            {
                "import_id": self.import_id,
                "read": read,
                "inserted": outcome.inserted,
                "updated": outcome.updated,
                "duplicates": outcome.duplicates,
                "pending": outcome.pending,
                "rejected": outcome.rejected,
            },
            conn=conn,
        )

    def _write_plan(
        self, conn: psycopg.Connection[Any], plan: _Plan, seen_at: dt.datetime
    ) -> None:
        db = self.db
        if plan.index_rows:
            copy_encoded(db, conn, "killmail_index", INDEX_COLUMNS, plan.index_rows)
        if plan.stored_updates:
            ids, hashes, times, sources = zip(*plan.stored_updates, strict=True)
            db.execute(
                load_sql(_SQL, "mark_stored"),
                {
                    "ids": list(ids),
                    "hashes": list(hashes),
                    "times": list(times),
                    "sources": list(sources),
                },
                conn=conn,
            )
        if plan.pending_updates:
            ids, hashes, zkbs, sources = zip(*plan.pending_updates, strict=True)
            db.execute(
                load_sql(_SQL, "refresh_pending"),
                {
                    "ids": list(ids),
                    "hashes": list(hashes),
                    "zkbs": list(zkbs),
                    "sources": list(sources),
                },
                conn=conn,
            )
        if not plan.bodies:
            return
        bodies = plan.bodies
        copy_encoded(
            db, conn, "killmails", KILLMAIL_COLUMNS, (r.killmail_copy for r in bodies)
        )
        copy_encoded(
            db, conn, "attackers", ATTACKER_COLUMNS, (r.attackers_copy for r in bodies)
        )
        copy_encoded(db, conn, "items", ITEM_COLUMNS, (r.items_copy for r in bodies))

    def _merge_zkb(
        self, conn: psycopg.Connection[Any], plan: _Plan
    ) -> list[tuple[int, dt.datetime, int]]:
        """Refresh zkb values of stored killmails; return (id, time, system) changed."""
        if not plan.zkb_stage:
            return []
        db = self.db
        db.execute(load_sql(_SQL, "create_zkb_stage"), conn=conn)
        copy_rows(db, conn, "killmail_zkb_stage", ZKB_STAGE_COLUMNS, plan.zkb_stage)
        rows = db.fetch_all(load_sql(_SQL, "merge_zkb"), conn=conn)
        return [(row[0], row[1], row[2]) for row in rows]

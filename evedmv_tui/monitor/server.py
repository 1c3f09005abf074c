"""``pg_stat_database`` rates and table statistics that hint at missing indexes."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg

from evedmv_tui.monitor.delta import counter_delta, rate, ratio
from evedmv_tui.store.db import Database, load_sql

LARGE_TABLE_ROWS = 10_000
"""A table with at least this many live rows is large enough that sequential
scans of it are worth an index."""


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseCounters:
    """Cumulative counters of the current database."""

    database: str
    backends: int
    xact_commit: int
    xact_rollback: int
    blks_read: int
    blks_hit: int
    tup_returned: int
    tup_fetched: int
    tup_inserted: int
    tup_updated: int
    tup_deleted: int
    deadlocks: int
    temp_files: int
    temp_bytes: int
    stats_reset: float | None
    max_connections: int


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseRates:
    """The current database over one interval; None where unknown."""

    database: str
    backends: int
    max_connections: int
    tps: float | None
    commits_per_s: float | None
    rollbacks_per_s: float | None
    cache_hit_ratio: float | None
    """Shared blocks hit / (hit + read) in the interval."""
    deadlocks: float | None
    temp_files: float | None
    temp_bytes: float | None
    rows_per_s: float | None
    """Rows returned, inserted, updated and deleted per second."""
    trusted: bool
    reason: str | None = None
    warming_up: bool = False
    """The server started less than :data:`CACHE_WARMUP_SECONDS` ago, so its
    shared buffers are still filling and a low hit ratio is expected."""


CACHE_WARMUP_SECONDS = 600.0
"""Seconds after a server start in which the cache hit ratio teaches no
baseline and raises no regression alert. Right after a restart every table
is read from disk again, so the ratio falls for a while (from 99.9 % to
83 % in one observed restart of the demo database)."""


def database_rates(
    previous: DatabaseCounters | None,
    current: DatabaseCounters,
    elapsed: float,
    *,
    restarted: bool = False,
) -> DatabaseRates:
    """Compute per-second rates and the interval's cache hit ratio."""
    reason = None
    if previous is None:
        reason = "first poll"
    elif restarted:
        reason = "the server restarted between polls"
    elif previous.stats_reset != current.stats_reset:
        reason = "pg_stat_reset() ran between polls"
    elif elapsed <= 0:
        reason = "the clock did not advance between polls"
    if reason is not None or previous is None:
        return DatabaseRates(
            current.database,
            current.backends,
            current.max_connections,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            False,
            reason,
        )
    commits = rate(previous.xact_commit, current.xact_commit, elapsed)
    rollbacks = rate(previous.xact_rollback, current.xact_rollback, elapsed)
    tps = None if commits is None or rollbacks is None else commits + rollbacks
    hit = counter_delta(previous.blks_hit, current.blks_hit)
    read = counter_delta(previous.blks_read, current.blks_read)
    lookups = None if hit is None or read is None else hit + read
    rows = [
        rate(getattr(previous, name), getattr(current, name), elapsed)
        for name in ("tup_returned", "tup_inserted", "tup_updated", "tup_deleted")
    ]
    known_rows = [value for value in rows if value is not None]
    trusted = tps is not None and lookups is not None
    return DatabaseRates(
        current.database,
        current.backends,
        current.max_connections,
        tps,
        commits,
        rollbacks,
        ratio(hit, lookups),
        counter_delta(previous.deadlocks, current.deadlocks),
        counter_delta(previous.temp_files, current.temp_files),
        counter_delta(previous.temp_bytes, current.temp_bytes),
        sum(known_rows) if len(known_rows) == len(rows) else None,
        trusted,
        None if trusted else "counters went down (a reset)",
    )


@dataclasses.dataclass(frozen=True, slots=True)
class TableScans:
    schema_name: str
    table_name: str
    seq_scan: int
    seq_tup_read: int
    idx_scan: int
    live_rows: int
    size_bytes: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class IndexHint:
    """A large table read mostly by sequential scans."""

    table: TableScans
    rows_per_scan: float
    recent_seq_scans: int | None
    """Sequential scans since the previous table poll, when known."""

    @property
    def message(self) -> str:
        return (
            f"{self.table.schema_name}.{self.table.table_name}:"
            f" {self.table.seq_scan} sequential scans read"
            f" {self.rows_per_scan:,.0f} rows each on average"
            f" ({self.table.idx_scan} index scans); an index may be missing"
        )


def read_tables(
    db: Database, conn: psycopg.Connection[Any], min_rows: int = LARGE_TABLE_ROWS
) -> list[TableScans]:
    return db.fetch_all(
        load_sql("evedmv_tui.monitor", "tables"),
        {"min_rows": min_rows},
        row=TableScans,
        conn=conn,
    )


def index_hints(
    tables: list[TableScans],
    previous: dict[tuple[str, str], TableScans] | None = None,
    min_rows: int = LARGE_TABLE_ROWS,
) -> list[IndexHint]:
    """Flag large tables whose sequential scans outnumber index scans and
    read, on average, at least ``min_rows`` rows each."""
    hints = []
    for table in tables:
        if table.seq_scan <= 0 or table.seq_scan <= table.idx_scan:
            continue
        per_scan = table.seq_tup_read / table.seq_scan
        if per_scan < min_rows:
            continue
        before = (previous or {}).get((table.schema_name, table.table_name))
        recent = None
        if before is not None:
            change = counter_delta(before.seq_scan, table.seq_scan)
            recent = None if change is None else int(change)
        hints.append(IndexHint(table, per_scan, recent))
    hints.sort(key=lambda h: h.table.seq_tup_read, reverse=True)
    return hints

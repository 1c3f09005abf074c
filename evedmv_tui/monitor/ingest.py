"""Ingest health: feed cursors and lag, throughput, pending bodies, known-invalid
references, rejects, the ESI error budget, and connection counts."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg

from evedmv_tui.ingest import IMPORT_LOCK_CLASS
from evedmv_tui.store.db import Database, load_sql

if TYPE_CHECKING:
    from evedmv_tui.esi import EsiClient

RECENT_WINDOW_SECONDS = 300
"""Killmails stored within this window count toward the live throughput."""
INGEST_TABLES = (
    "killmails",
    "killmail_index",
    "rejects",
    "imports",
    "feed_cursors",
    "reject_states",
)
"""The application's tables and views that :func:`read_ingest` reads."""


@dataclasses.dataclass(frozen=True, slots=True)
class FeedCursor:
    feed: str
    sequence: int
    age_seconds: float
    """Time since the cursor last moved."""


@dataclasses.dataclass(frozen=True, slots=True)
class ImportRun:
    import_id: int
    started: float
    finished: float | None
    read: int
    inserted: int
    rejected: int
    pending: int
    locked: bool
    """Whether the importer still holds the import's session lock."""
    repaired: float | None = None
    """When ``evedmv repair`` ran after the import stopped early."""
    failed: bool = False
    """Whether an error ended the import part way. Such an import still has
    ``finished`` and the counts of what it stored."""

    @property
    def state(self) -> str:
        """``finished``, ``failed``, ``running``, or ``interrupted`` when the
        importer died.

        An interrupted import is ``interrupted, repaired`` after a repair.
        """
        if self.finished is not None:
            return "failed" if self.failed else "finished"
        if self.locked:
            return "running"
        if self.repaired is not None:
            return "interrupted, repaired"
        return "interrupted"


@dataclasses.dataclass(frozen=True, slots=True)
class IngestCounts:
    recent_kills: int
    median_lag_seconds: float | None
    max_lag_seconds: float | None
    pending: int
    rejects: int
    """Unresolved rejects, the ones that 'evedmv rejects list' lists by default."""
    rejects_last_hour: int
    """The unresolved rejects that were rejected in the last hour."""
    invalid: int = 0
    """Killmail references whose id and hash ESI rejected, the ones that
    'evedmv rejects list --invalid' lists."""


@dataclasses.dataclass(frozen=True, slots=True)
class EsiBudget:
    """What the ESI client reports about its error budget."""

    errors_remain: int | None
    """``X-ESI-Error-Limit-Remain`` of the latest response."""
    reset_seconds: int | None
    """``X-ESI-Error-Limit-Reset`` of the latest response."""
    requests_sent: int
    retries: int
    rate_limit_remaining: int | None = None
    """The lowest ``X-Ratelimit-Remaining`` over the routes the client used."""


@dataclasses.dataclass(frozen=True, slots=True)
class IngestHealth:
    counts: IngestCounts
    cursors: list[FeedCursor]
    last_import: ImportRun | None
    esi: EsiBudget | None
    window_seconds: int = RECENT_WINDOW_SECONDS
    read_at: float | None = None
    """Wall-clock time of the read. The monitor reads these figures less often
    than it polls, so a snapshot can carry an older read."""

    @property
    def kills_per_minute(self) -> float:
        return self.counts.recent_kills / (self.window_seconds / 60)


EsiBudgetSource = Callable[[], EsiBudget | None]

_esi_sources: list[EsiBudgetSource] = []
_esi_lock = threading.Lock()


def register_esi_budget(source: EsiBudgetSource) -> None:
    """Make ``source`` the ESI budget the monitor shows (the latest one wins)."""
    with _esi_lock:
        _esi_sources.append(source)


def esi_budget() -> EsiBudget | None:
    with _esi_lock:
        source = _esi_sources[-1] if _esi_sources else None
    return None if source is None else source()


def budget_of_client(client: EsiClient) -> EsiBudget:
    """Read the error and rate-limit budget of an ESI client."""
    return EsiBudget(
        client.errors_remain,
        client.reset_seconds,
        client.requests_sent,
        client.retries,
        client.rate_limit_remaining,
    )


def has_ingest_tables(db: Database, conn: psycopg.Connection[Any]) -> bool:
    return bool(
        db.fetch_value(load_sql("evedmv_tui.monitor", "ingest_present"), conn=conn)
    )


def read_ingest(
    db: Database,
    conn: psycopg.Connection[Any],
    *,
    window_seconds: int = RECENT_WINDOW_SECONDS,
) -> IngestHealth:
    counts = db.fetch_one(
        load_sql("evedmv_tui.monitor", "ingest_health"),
        {"window": window_seconds},
        row=IngestCounts,
        conn=conn,
    )
    assert counts is not None
    cursors = db.fetch_all(
        load_sql("evedmv_tui.monitor", "feed_cursors"), row=FeedCursor, conn=conn
    )
    last = db.fetch_one(
        load_sql("evedmv_tui.monitor", "last_import"),
        {"lock_class": IMPORT_LOCK_CLASS},
        row=ImportRun,
        conn=conn,
    )
    return IngestHealth(
        counts, cursors, last, esi_budget(), window_seconds, read_at=time.time()
    )

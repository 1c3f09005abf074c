"""Timing of every query the application runs, tagged with its operation.

:meth:`evedmv_tui.store.db.Database.execute` and its relatives record each
statement here. The operation tag comes from the innermost
:func:`operation` block (a screen name, ``import``, ``battles.detect``), so
the monitor can list the slowest application operations next to
``pg_stat_statements``.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import dataclasses
import threading
import time
from collections.abc import Iterator

_current_operation: contextvars.ContextVar[str] = contextvars.ContextVar(
    "evedmv_operation", default="app"
)


@contextlib.contextmanager
def operation(name: str) -> Iterator[None]:
    """Tag the queries run inside this block with ``name``."""
    token = _current_operation.set(name)
    try:
        yield
    finally:
        _current_operation.reset(token)


def current_operation() -> str:
    return _current_operation.get()


@dataclasses.dataclass(frozen=True, slots=True)
class QueryRecord:
    """One statement the application ran."""

    operation: str
    name: str
    """The named SQL file, or the first words of an inline statement."""
    sql: str
    params: tuple[object, ...] | dict[str, object] | None
    started: float
    """Wall-clock time (``time.time()``) when the statement was sent."""
    seconds: float
    rows: int
    error: str | None = None


@dataclasses.dataclass(slots=True)
class OperationStats:
    """Aggregates of the statements of one operation tag."""

    operation: str
    calls: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0
    errors: int = 0
    recent: collections.deque[float] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=512)
    )

    @property
    def mean_seconds(self) -> float:
        return self.total_seconds / self.calls if self.calls else 0.0

    def quantile(self, q: float) -> float:
        """Return the ``q`` quantile of the most recent 512 durations."""
        if not self.recent:
            return 0.0
        ordered = sorted(self.recent)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]


class Telemetry:
    """Thread-safe, bounded store of recent query records and per-tag stats."""

    def __init__(self, history: int = 2000) -> None:
        self._lock = threading.Lock()
        self._records: collections.deque[QueryRecord] = collections.deque(
            maxlen=history
        )
        self._stats: dict[str, OperationStats] = {}
        self.total_statements = 0

    def record(self, record: QueryRecord) -> None:
        with self._lock:
            self._records.append(record)
            self.total_statements += 1
            stats = self._stats.get(record.operation)
            if stats is None:
                stats = self._stats[record.operation] = OperationStats(record.operation)
            stats.calls += 1
            stats.total_seconds += record.seconds
            stats.max_seconds = max(stats.max_seconds, record.seconds)
            stats.recent.append(record.seconds)
            if record.error is not None:
                stats.errors += 1

    def records(self) -> list[QueryRecord]:
        with self._lock:
            return list(self._records)

    def operations(self) -> list[OperationStats]:
        with self._lock:
            return [
                dataclasses.replace(s, recent=collections.deque(s.recent, maxlen=512))
                for s in self._stats.values()
            ]

    def slowest(self, limit: int = 20) -> list[QueryRecord]:
        with self._lock:
            return sorted(self._records, key=lambda r: r.seconds, reverse=True)[:limit]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._stats.clear()
            self.total_statements = 0


@contextlib.contextmanager
def count_statements(telemetry: Telemetry) -> Iterator[list[int]]:
    """Yield a one-item list that holds, after the block, the statements run in it."""
    box = [0]
    before = telemetry.total_statements
    try:
        yield box
    finally:
        box[0] = telemetry.total_statements - before


def now() -> float:
    return time.perf_counter()


TELEMETRY = Telemetry()
"""The process-wide telemetry that every :class:`Database` records into."""

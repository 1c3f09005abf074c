"""The application's own side: query telemetry per operation and cache statistics."""

from __future__ import annotations

import collections
import dataclasses
import time

from evedmv_tui.cache import CacheRegistry, CacheStats
from evedmv_tui.monitor.delta import counter_delta, ratio
from evedmv_tui.monitor.severity import Severity, classify_seconds
from evedmv_tui.store.telemetry import OperationStats, QueryRecord, Telemetry


@dataclasses.dataclass(frozen=True, slots=True)
class OperationRow:
    """One operation tag: cumulative figures and its calls in the interval."""

    operation: str
    calls: int
    interval_calls: int | None
    mean_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    errors: int
    severity: Severity
    """By ``p95_ms`` against the slow-query thresholds when the operation ran
    in the last :data:`OPERATION_WINDOW_SECONDS`, else OK."""


@dataclasses.dataclass(frozen=True, slots=True)
class SlowAppQuery:
    """One application statement above the warning threshold."""

    record: QueryRecord
    severity: Severity


OPERATION_WINDOW_SECONDS = 300.0
"""How far back an operation's durations count towards its severity, so
one old slow call stops marking the operation once this much time passed."""
WINDOW_DURATIONS = 512
"""Durations kept per operation for the window, as many as
``OperationStats.recent`` keeps."""


@dataclasses.dataclass(slots=True)
class OperationHistory:
    """State of one operation that :func:`operation_rows` keeps between polls."""

    calls: int = 0
    """The operation's calls at the last poll, to tell which durations are new."""
    timed: collections.deque[tuple[float, float]] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=WINDOW_DURATIONS)
    )
    """(time first seen, seconds) of the operation's recent durations."""
    version: tuple[int, float, float, int] | None = None
    """(calls, total seconds, max seconds, errors) when ``p50`` and ``p95``
    were computed."""
    p50: float = 0.0
    p95: float = 0.0


QuantileCache = dict[str, OperationHistory]
"""Each operation's :class:`OperationHistory`, by operation tag."""

SLOW_SCAN_MARGIN_SECONDS = 1.0
"""How far before ``since`` a record may have finished and still be followed,
in the history, by one that finished after ``since``. The history is in order
of completion, but threads can take its lock a little out of order."""


def operation_rows(
    stats: list[OperationStats],
    previous_calls: dict[str, int],
    *,
    warning_seconds: float,
    error_seconds: float,
    quantiles: QuantileCache | None = None,
    now: float | None = None,
) -> list[OperationRow]:
    """Rank operation tags, errors first, then warnings, each by total time.

    p50, p95 and the severity come from the durations of the last
    :data:`OPERATION_WINDOW_SECONDS` before ``now`` (``time.time()``). An
    operation with no call in that window shows the p50 and p95 of its last
    512 durations and is OK, so one old slow call does not keep it an error.
    ``quantiles``, kept by the caller from poll to poll, holds when each
    duration was first seen, so the caller must pass the same one every
    poll. It also saves sorting the durations of an operation that ran no
    statement since.
    """
    cache: QuantileCache = {} if quantiles is None else quantiles
    now = time.time() if now is None else now
    rows: list[tuple[float, OperationRow]] = []
    for stat in stats:
        before = previous_calls.get(stat.operation)
        interval = None if before is None else counter_delta(before, stat.calls)
        history = cache.get(stat.operation)
        if history is None or stat.calls < history.calls:
            # New, or the telemetry was cleared since.
            history = cache[stat.operation] = OperationHistory()
        _note_new_durations(history, stat, now)
        p50, p95, recent = _window_quantiles(history, stat, now)
        severity = (
            classify_seconds(p95, warning_seconds, error_seconds)
            if recent
            else Severity.OK
        )
        rows.append(
            (
                stat.total_seconds,
                OperationRow(
                    stat.operation,
                    stat.calls,
                    None if interval is None else int(interval),
                    stat.mean_seconds * 1000,
                    p50 * 1000,
                    p95 * 1000,
                    stat.max_seconds * 1000,
                    stat.errors,
                    severity,
                ),
            )
        )
    return [row for _total, row in sorted(rows, key=_problems_first)]


def _problems_first(ranked: tuple[float, OperationRow]) -> tuple[int, float]:
    total_seconds, row = ranked
    return -int(row.severity), -total_seconds


def _note_new_durations(
    history: OperationHistory, stat: OperationStats, now: float
) -> None:
    """Add the durations recorded since the last poll, seen at ``now``.

    NOTE: the telemetry keeps no per-operation times, so a duration counts
    from the poll that first reads it, up to one interval after the call. The
    durations found at the first poll all count from that poll.
    """
    new = stat.calls - history.calls
    history.calls = stat.calls
    if new <= 0:
        return
    durations = list(stat.recent)[-new:]
    history.timed.extend((now, seconds) for seconds in durations)


def _window_quantiles(
    history: OperationHistory, stat: OperationStats, now: float
) -> tuple[float, float, bool]:
    """Return p50 and p95 in seconds, and whether they cover the window.

    Without a duration in the window, they come from the last 512 durations.
    """
    timed = history.timed
    start = now - OPERATION_WINDOW_SECONDS
    while timed and timed[0][0] < start:
        timed.popleft()
        history.version = None
    version = (stat.calls, stat.total_seconds, stat.max_seconds, stat.errors)
    if history.version != version:
        durations = [seconds for _seen, seconds in timed] or list(stat.recent)
        history.p50 = _quantile(durations, 0.5)
        history.p95 = _quantile(durations, 0.95)
        history.version = version
    return history.p50, history.p95, bool(timed)


def _quantile(durations: list[float], q: float) -> float:
    """Return the ``q`` quantile of ``durations``, as OperationStats does."""
    if not durations:
        return 0.0
    ordered = sorted(durations)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def slow_app_queries(
    telemetry: Telemetry,
    since: float,
    *,
    warning_seconds: float,
    error_seconds: float,
    limit: int = 20,
) -> list[SlowAppQuery]:
    """Return the slow statements that finished at or after ``since``
    (``time.time()``), slowest first.

    Selecting by end time lists a statement that was sent before the previous
    poll but finished after it, so a statement longer than the poll interval
    still appears, once. The history is read from its newest record back to
    the first that finished more than :data:`SLOW_SCAN_MARGIN_SECONDS` before
    ``since``, so a poll reads only the records of about its own interval.
    """
    found = []
    stop_before = since - SLOW_SCAN_MARGIN_SECONDS
    for record in reversed(telemetry.records()):
        finished = record.started + record.seconds
        if finished < stop_before:
            break
        if finished < since or record.seconds <= warning_seconds:
            continue
        found.append(record)
    found.sort(key=lambda r: r.seconds, reverse=True)
    return [
        SlowAppQuery(
            record, classify_seconds(record.seconds, warning_seconds, error_seconds)
        )
        for record in found[:limit]
    ]


SLOW_QUERY_KEEP_SECONDS = 300.0
"""How long the App tab keeps listing a slow application query after it
finished, so there is time to select it and explain it."""
SLOW_QUERY_LIMIT = 20
"""Slow application queries the App tab lists at most, the newest."""


def slow_query_key(record: QueryRecord) -> str:
    """Return the App tab's row key of a slow application query."""
    return f"{record.operation}:{record.name}:{record.started}"


class RecentSlowQueries:
    """The slow application queries of the last polls, newest first.

    Each poll lists the statements that finished in its own interval only;
    this keeps them for :data:`SLOW_QUERY_KEEP_SECONDS` after they finished.
    """

    def __init__(self) -> None:
        self._by_key: dict[str, SlowAppQuery] = {}

    def add(self, found: list[SlowAppQuery], now: float) -> None:
        """Keep ``found`` and drop those that finished too long before ``now``.

        Adding a statement already kept changes nothing, so one poll's list
        may be added more than once.
        """
        for slow in found:
            self._by_key.setdefault(slow_query_key(slow.record), slow)
        oldest = now - SLOW_QUERY_KEEP_SECONDS
        newest_first = sorted(self._by_key.values(), key=_finished, reverse=True)
        self._by_key = {
            slow_query_key(slow.record): slow
            for slow in newest_first[:SLOW_QUERY_LIMIT]
            if _finished(slow) >= oldest
        }

    def listed(self) -> list[SlowAppQuery]:
        """Return the kept slow queries, the latest to finish first."""
        return list(self._by_key.values())


def _finished(slow: SlowAppQuery) -> float:
    return slow.record.started + slow.record.seconds


@dataclasses.dataclass(frozen=True, slots=True)
class CacheRow:
    """One in-process cache with its hit ratio overall and in the interval."""

    stats: CacheStats
    interval_hit_ratio: float | None
    interval_lookups: int | None
    interval_evictions: int | None


def cache_rows(
    registry: CacheRegistry, previous: dict[str, CacheStats]
) -> list[CacheRow]:
    rows = []
    for stats in registry.stats():
        before = previous.get(stats.name)
        hits = misses = evictions = None
        if before is not None:
            hits = counter_delta(before.hits, stats.hits)
            misses = counter_delta(before.misses, stats.misses)
            evictions = counter_delta(before.evictions, stats.evictions)
        lookups = None if hits is None or misses is None else hits + misses
        rows.append(
            CacheRow(
                stats,
                ratio(hits, lookups),
                None if lookups is None else int(lookups),
                None if evictions is None else int(evictions),
            )
        )
    return rows

"""The application's own side: query telemetry per operation and cache statistics."""

from __future__ import annotations

import dataclasses

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
    """By the p95 of recent durations against the slow-query thresholds."""


@dataclasses.dataclass(frozen=True, slots=True)
class SlowAppQuery:
    """One application statement above the warning threshold."""

    record: QueryRecord
    severity: Severity


QuantileCache = dict[str, tuple[tuple[int, float, float, int], float, float]]
"""Each operation's p50 and p95 in seconds, by its (calls, total seconds, max
seconds, errors) when they were computed."""

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
) -> list[OperationRow]:
    """Rank operation tags by total time, slowest first.

    ``quantiles``, kept by the caller from poll to poll, saves sorting the
    recent durations of an operation that ran no statement since. Such an
    operation has the same (calls, total, max, errors) and the same durations.
    """
    cache: QuantileCache = {} if quantiles is None else quantiles
    rows = []
    for stat in sorted(stats, key=lambda s: s.total_seconds, reverse=True):
        before = previous_calls.get(stat.operation)
        interval = None if before is None else counter_delta(before, stat.calls)
        version = (stat.calls, stat.total_seconds, stat.max_seconds, stat.errors)
        cached = cache.get(stat.operation)
        if cached is not None and cached[0] == version:
            _, p50, p95 = cached
        else:
            p50 = stat.quantile(0.5)
            p95 = stat.quantile(0.95)
            cache[stat.operation] = (version, p50, p95)
        rows.append(
            OperationRow(
                stat.operation,
                stat.calls,
                None if interval is None else int(interval),
                stat.mean_seconds * 1000,
                p50 * 1000,
                p95 * 1000,
                stat.max_seconds * 1000,
                stat.errors,
                classify_seconds(p95, warning_seconds, error_seconds),
            )
        )
    return rows


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

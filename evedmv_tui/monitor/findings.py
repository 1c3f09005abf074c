"""Findings of a snapshot: alerts for people and samples for baselines."""

from __future__ import annotations

import functools
from typing import Any

from evedmv_tui.monitor import memory as memory_mod
from evedmv_tui.monitor.capabilities import PanelProblem
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Alert, MemoryView, Snapshot
from evedmv_tui.monitor.statements import clip
from evedmv_tui.widgets.text import count_noun

ESI_BUDGET_WARNING = 20
"""Warn when ESI's error limit has this many errors or fewer left."""


def build_alerts(snapshot: Snapshot) -> list[Alert]:
    """Collect every finding of the snapshot worth a warning or an error."""
    alerts = [
        _problem_alert(problem)
        for problem in [*snapshot.problems, *snapshot.notes]
        if problem.severity > Severity.OK
    ]
    alerts.extend(_statement_alerts(snapshot))
    alerts.extend(_activity_alerts(snapshot))
    alerts.extend(_app_alerts(snapshot))
    database = snapshot.database
    if database is not None and database.deadlocks:
        alerts.append(
            Alert(
                Severity.WARNING,
                "database",
                f"{database.deadlocks:.0f} deadlocks in the interval",
                "database:deadlocks",
            )
        )
    for hint in snapshot.index_hints:
        table = hint.table
        alerts.append(
            Alert(
                Severity.WARNING,
                "tables",
                hint.message,
                f"table:{table.schema_name}.{table.table_name}",
            )
        )
    if snapshot.memory is not None:
        alerts.extend(_memory_alerts(snapshot.memory))
    ingest = snapshot.ingest
    remain = None if ingest is None or ingest.esi is None else ingest.esi.errors_remain
    if remain is not None and remain <= ESI_BUDGET_WARNING:
        alerts.append(
            Alert(
                Severity.WARNING,
                "ingest",
                f"ESI error budget low: {remain} errors left in the window",
                "ingest:esi",
            )
        )
    return alerts


def _problem_alert(problem: PanelProblem) -> Alert:
    return Alert(
        problem.severity, problem.panel, problem.text, f"problem:{problem.panel}"
    )


def _statement_alerts(snapshot: Snapshot) -> list[Alert]:
    alerts = []
    for view in snapshot.statements:
        # The severity is OK for every entry under the thresholds, so only
        # the others need their mean.
        if view.severity == Severity.OK:
            continue
        mean = view.delta.mean_ms
        if mean is None:
            continue
        alerts.append(
            Alert(
                view.severity,
                "statements",
                f"mean {mean / 1000:.2f} s over {count_noun(view.delta.calls, 'call')}:"
                f" {view.one_line(70)}",
                f"statement:{view.row_key}",
            )
        )
    return alerts


def _activity_alerts(snapshot: Snapshot) -> list[Alert]:
    if snapshot.activity is None:
        return []
    alerts = []
    for running in snapshot.activity.running:
        if running.severity == Severity.OK:
            continue
        backend = running.backend
        if running.idle_in_transaction:
            state_text = f"idle in transaction, open {running.seconds:.1f} s"
        else:
            state_text = f"running {running.seconds:.1f} s"
        owner = " (monitor)" if running.monitor else ""
        alerts.append(
            Alert(
                running.severity,
                "activity",
                f"pid {backend.pid}{owner} {state_text}: {clip(backend.query, 60)}",
                f"backend:{backend.pid}",
            )
        )
    for chain in snapshot.activity.chains:
        alerts.append(
            Alert(
                Severity.WARNING,
                "activity",
                "blocked: " + snapshot.activity.chain_text(chain),
                f"chain:{chain[0]}",
            )
        )
    return alerts


def _app_alerts(snapshot: Snapshot) -> list[Alert]:
    alerts = []
    for row in snapshot.operations:
        if row.severity == Severity.OK:
            continue
        alerts.append(
            Alert(
                row.severity,
                "app",
                f"operation {row.operation}: p95 {row.p95_ms / 1000:.2f} s",
                f"operation:{row.operation}",
            )
        )
    for slow in snapshot.slow_app_queries:
        record = slow.record
        alerts.append(
            Alert(
                slow.severity,
                "app",
                f"{record.operation} ran {record.name} in {record.seconds:.2f} s",
                f"app-query:{record.operation}:{record.name}:{record.started}",
            )
        )
    return alerts


def _memory_alerts(memory: MemoryView) -> list[Alert]:
    trend = memory.trend
    if trend is None or not trend.leak_suspected:
        return []
    return [
        Alert(
            Severity.WARNING,
            "memory",
            f"RSS grows {trend.slope_bytes_per_min / memory_mod.MIB:.1f} MiB/min"
            f" over {trend.span_seconds / 60:.0f} min"
            f" (R² {trend.r_squared:.2f}): leak suspected",
            "memory:leak",
        )
    ]


MIN_CACHE_LOOKUPS = 20
"""Lookups in a poll below which a cache's hit ratio is not sampled: two
misses of three lookups are no sign of a cache gone cold."""


def build_samples(snapshot: Snapshot, elapsed: float) -> list[Sample]:
    """Turn the snapshot into the keyed samples that baselines learn from.

    Statements are summed by fingerprint, so entries of one query text under
    several roles, databases or nesting levels give one series.
    """
    at = snapshot.at
    samples = _statement_samples(snapshot, at, elapsed)
    for row in snapshot.operations:
        if not row.interval_calls:
            # An idle operation's figures repeat its old calls. Sampling them
            # would teach a baseline a one-off value (the start's connection)
            # many times over.
            continue
        for name, value in (("p50_ms", row.p50_ms), ("p95_ms", row.p95_ms)):
            samples.append(
                Sample(
                    f"operation:{row.operation}:{name}",
                    value,
                    at,
                    elapsed,
                    True,
                    f"{row.operation} {name.removesuffix('_ms')}",
                )
            )
    if snapshot.memory is not None:
        samples.extend(memory_samples(snapshot.memory, at, elapsed))
    activity = snapshot.activity
    if activity is not None:
        # The dashboard's own pool opens connections as screens reload
        # (all at once after a reconnect); only other clients count here.
        samples.append(
            Sample(
                "process:count",
                float(activity.client_backends - activity.app_backends),
                at,
                elapsed,
                True,
                "client backends of other applications",
            )
        )
    database = snapshot.database
    if database is not None:
        reason = database.reason
        samples.append(
            Sample(
                "database:tps",
                database.tps or 0.0,
                at,
                elapsed,
                database.tps is not None,
                reason or "transactions per second",
            )
        )
        ratio = database.cache_hit_ratio
        if reason is None and database.warming_up:
            reason = "shared buffers still filling after the server started"
        samples.append(
            Sample(
                "database:cache_hit_ratio",
                ratio if ratio is not None else 0.0,
                at,
                elapsed,
                ratio is not None and not database.warming_up,
                reason or "shared buffer hit ratio",
            )
        )
    for cache in snapshot.caches:
        lookups = cache.interval_lookups or 0
        if cache.interval_hit_ratio is not None and lookups >= MIN_CACHE_LOOKUPS:
            samples.append(
                Sample(
                    f"cache:{cache.stats.name}:hit_ratio",
                    cache.interval_hit_ratio,
                    at,
                    elapsed,
                    True,
                    cache.stats.name,
                )
            )
    cost = snapshot.cost
    samples.append(
        Sample("monitor:poll_ms", cost.wall_seconds * 1000, at, elapsed, True, "")
    )
    samples.append(
        Sample("monitor:cpu_ms", cost.cpu_seconds * 1000, at, elapsed, True, "")
    )
    return samples


def _statement_samples(snapshot: Snapshot, at: float, elapsed: float) -> list[Sample]:
    # Sum the interval's figures and the cumulative ones per fingerprint in
    # one pass over the entries: [interval calls, interval exec ms, interval
    # rows, total calls, total exec ms, every change trusted, first view]. An
    # entry without a trusted change makes its group use the cumulative
    # figures.
    # Counters' calls, exec_ms and rows are its fields 0, 1 and 3.
    sums: dict[str, list[Any]] = {}
    find_group = sums.get
    for view in snapshot.statements:
        delta, _, statement_fingerprint, _ = view
        if statement_fingerprint is None:
            continue
        _, change, total, _ = delta
        group = find_group(statement_fingerprint)
        if group is None:
            group = sums[statement_fingerprint] = [0, 0.0, 0, 0, 0.0, True, view]
        group[3] += total[0]
        group[4] += total[1]
        if change is None:
            group[5] = False
        else:
            group[0] += change[0]
            group[1] += change[1]
            group[2] += change[3]
    samples: list[Sample] = []
    append = samples.append
    # Built without the named tuple's Python-level __new__: a poll makes two
    # per listed statement.
    new_sample = tuple.__new__
    interval_trusted = snapshot.statements_trusted
    for statement_fingerprint, group in sums.items():
        trusted = interval_trusted and group[5]
        if trusted:
            calls = group[0]
            exec_ms = group[1]
            rate = calls / elapsed if elapsed > 0 else 0.0
        else:
            # Cumulative figures, marked untrusted: a reset or restart hides
            # what happened in this interval.
            calls = group[3]
            exec_ms = group[4]
            rate = 0.0
        if calls <= 0:
            continue
        # The detector skips untrusted samples, so they carry no rows per call.
        rows_per_call = group[2] / calls if trusted else None
        first = group[6]
        label = _label(first.query) if first.query else first.one_line(80)
        mean_key, rate_key = _sample_keys(statement_fingerprint)
        append(
            new_sample(
                Sample,
                (mean_key, exec_ms / calls, at, elapsed, trusted, label, rows_per_call),
            )
        )
        append(new_sample(Sample, (rate_key, rate, at, elapsed, trusted, label, None)))
    return samples


@functools.lru_cache(maxsize=4096)
def _sample_keys(statement_fingerprint: str) -> tuple[str, str]:
    """Return the sample keys of a fingerprint, built once per fingerprint."""
    prefix = f"statement:{statement_fingerprint}"
    return f"{prefix}:mean_ms", f"{prefix}:calls_per_s"


@functools.lru_cache(maxsize=4096)
def _label(query_text: str) -> str:
    """Return a sample's label for a query text, clipped once per text."""
    return clip(query_text, 80)


def memory_samples(memory: MemoryView, at: float, elapsed: float) -> list[Sample]:
    samples = []
    if memory.app.rss is not None:
        samples.append(
            Sample("memory:rss_bytes", float(memory.app.rss), at, elapsed, True, "")
        )
    if memory.trend is not None:
        samples.append(
            Sample(
                "memory:trend_bytes_per_min",
                memory.trend.slope_bytes_per_min,
                at,
                elapsed,
                True,
                "",
            )
        )
    return samples

"""Plain-text and JSON renderings of a snapshot for the report commands.

In JSON every ``queryid`` is a decimal string: it is a signed 64-bit value,
and JSON readers that hold numbers as doubles (JavaScript, jq) would round
it. Everything else is a plain number or string.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from evedmv_tui.monitor.memory import MIB, ProcessMemory
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Snapshot, StatementView
from evedmv_tui.monitor.statements import HIDDEN_LABEL
from evedmv_tui.widgets.text import count_noun


def _number(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def statement_dict(view: StatementView) -> dict[str, Any]:
    delta = view.delta
    key = delta.key
    total = delta.total
    return {
        "key": view.row_key,
        "queryid": None if key is None else str(key.queryid),
        "userid": None if key is None else key.userid,
        "dbid": None if key is None else key.dbid,
        "toplevel": None if key is None else key.toplevel,
        "hidden": key is None,
        "fingerprint": view.fingerprint,
        "query": view.query,
        "severity": view.severity.word,
        "trusted": delta.trusted,
        "interval": None
        if delta.delta is None
        else {
            "calls": delta.calls,
            "total_ms": _number(delta.total_ms),
            "mean_ms": _number(delta.mean_ms),
            "rows": delta.rows,
            "shared_blks": delta.shared_blks,
            "calls_per_s": _number(delta.calls_per_s),
        },
        "cumulative": {
            "calls": total.calls,
            "total_ms": _number(total.exec_ms + total.plan_ms),
            "rows": total.rows,
        },
    }


def _memory_dict(process: ProcessMemory) -> dict[str, Any]:
    return {
        "pid": process.pid,
        "role": process.role,
        "rss_bytes": process.rss,
        "uss_bytes": process.uss,
        "uss_at": process.uss_at,
        "sampled_at": process.sampled_at,
        "cpu_percent": _number(process.cpu_percent, 1),
        "error": process.error,
    }


def snapshot_dict(
    snapshot: Snapshot, *, top: int = 20, sort: str = "total"
) -> dict[str, Any]:
    """Return the snapshot as one JSON-ready object."""
    caps = snapshot.capabilities
    memory = snapshot.memory
    database = snapshot.database
    activity = snapshot.activity
    ingest = snapshot.ingest
    return {
        "severity": snapshot.severity.word,
        "exit_status": int(snapshot.severity),
        "at": snapshot.at,
        "interval_seconds": _number(snapshot.elapsed),
        "connected": snapshot.connected,
        "error": snapshot.error,
        "server": snapshot.server,
        "server_version": None if caps is None else caps.server_version,
        "pg_stat_statements": None if caps is None else caps.pgss_version,
        "problems": [
            dataclasses.asdict(p) | {"severity": p.severity.word}
            for p in snapshot.problems
        ],
        "notes": [
            dataclasses.asdict(p) | {"severity": p.severity.word}
            for p in snapshot.notes
        ],
        "statements": {
            "trusted": snapshot.statements_trusted,
            "reason": snapshot.statements_reason,
            "sort": sort,
            "top": [statement_dict(v) for v in snapshot.top_statements(sort, top)],
        },
        "activity": None
        if activity is None
        else {
            "client_backends": activity.client_backends,
            "by_state": activity.by_state,
            "blocked": activity.blocked,
            "chains": [list(chain) for chain in activity.chains],
            "running": [
                {
                    "pid": r.backend.pid,
                    "seconds": _number(r.seconds),
                    "state": r.backend.state,
                    "wait": r.backend.wait,
                    "severity": r.severity.word,
                    "query": r.backend.query,
                }
                for r in activity.running[:top]
            ],
        },
        "database": None
        if database is None
        else {
            "tps": _number(database.tps),
            "cache_hit_ratio": _number(database.cache_hit_ratio, 4),
            "deadlocks": database.deadlocks,
            "temp_files": database.temp_files,
            "temp_bytes": database.temp_bytes,
            "backends": database.backends,
            "max_connections": database.max_connections,
            "trusted": database.trusted,
            "reason": database.reason,
        },
        "index_hints": [h.message for h in snapshot.index_hints],
        "operations": [
            {
                "operation": r.operation,
                "calls": r.calls,
                "mean_ms": _number(r.mean_ms),
                "p50_ms": _number(r.p50_ms),
                "p95_ms": _number(r.p95_ms),
                "max_ms": _number(r.max_ms),
                "errors": r.errors,
                "severity": r.severity.word,
            }
            for r in snapshot.operations
        ],
        "slow_app_queries": [
            {
                "operation": s.record.operation,
                "name": s.record.name,
                "seconds": _number(s.record.seconds),
                "severity": s.severity.word,
            }
            for s in snapshot.slow_app_queries
        ],
        "memory": None if memory is None else memory_dict(snapshot),
        "caches": [
            {
                "name": c.stats.name,
                "entries": c.stats.entries,
                "max_entries": c.stats.max_entries,
                "approx_bytes": c.stats.approx_bytes,
                "hits": c.stats.hits,
                "misses": c.stats.misses,
                "hit_ratio": _number(c.stats.hit_ratio, 4),
                "interval_hit_ratio": _number(c.interval_hit_ratio, 4),
                "evictions": c.stats.evictions,
            }
            for c in snapshot.caches
        ],
        "ingest": None
        if ingest is None
        else {
            "kills_per_minute": _number(ingest.kills_per_minute, 2),
            "median_lag_seconds": _number(ingest.counts.median_lag_seconds),
            "pending": ingest.counts.pending,
            "invalid": ingest.counts.invalid,
            "rejects": ingest.counts.rejects,
            "rejects_last_hour": ingest.counts.rejects_last_hour,
            "cursors": [dataclasses.asdict(c) for c in ingest.cursors],
            "esi": None if ingest.esi is None else dataclasses.asdict(ingest.esi),
        },
        "alerts": [
            {"severity": a.severity.word, "source": a.source, "message": a.message}
            for a in snapshot.alerts
        ],
        "monitor_cost": {
            "poll_ms": _number(snapshot.cost.wall_seconds * 1000),
            "cpu_ms": _number(snapshot.cost.cpu_seconds * 1000),
            "backend_cpu_ms": None
            if snapshot.cost.backend_cpu_seconds is None
            else _number(snapshot.cost.backend_cpu_seconds * 1000),
            "queries": snapshot.cost.queries,
        },
    }


def memory_dict(snapshot: Snapshot) -> dict[str, Any]:
    memory = snapshot.memory
    assert memory is not None
    trend = memory.trend
    return {
        "app": _memory_dict(memory.app),
        "trend": None
        if trend is None
        else {
            "slope_bytes_per_min": _number(trend.slope_bytes_per_min, 1),
            "r_squared": _number(trend.r_squared, 3),
            "span_seconds": _number(trend.span_seconds, 1),
            "samples": trend.samples,
            "leak_suspected": trend.leak_suspected,
            "judged": trend.judged,
            "starting_up": trend.starting_up,
            "window_seconds": _number(trend.window_seconds, 1),
        },
        "backends": [_memory_dict(b) for b in memory.backends],
        "backends_hidden_reason": memory.backends_hidden_reason,
        "gc": [dataclasses.asdict(g) for g in memory.gc],
        "top_allocations": None
        if memory.top_allocations is None
        else [dataclasses.asdict(a) for a in memory.top_allocations],
    }


# -- text -------------------------------------------------------------------


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:,.1f} MiB"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def header_lines(
    snapshot: Snapshot, *, judged: str = "overall", severity: Severity | None = None
) -> list[str]:
    """Return the server, the interval and the worst severity, then the problems.

    ``severity`` replaces the snapshot's worst one when a report judges only
    part of it, which ``judged`` names (``statements``), so the line agrees
    with what the report lists and its exit status.
    """
    if not snapshot.connected:
        return [f"✖ error: not connected to {snapshot.server}: {snapshot.error}"]
    judged_severity = snapshot.severity if severity is None else severity
    caps = snapshot.capabilities
    assert caps is not None
    lines = [
        f"PostgreSQL {caps.server_version}, pg_stat_statements"
        f" {caps.pgss_version or 'absent'}, {snapshot.server}",
        f"interval {snapshot.elapsed or 0:.1f} s; {judged} {judged_severity.label}",
    ]
    for problem in [*snapshot.problems, *snapshot.notes]:
        lines.append(f"{problem.severity.glyph} {problem.panel}: {problem.case}")
        if problem.fix != "-":
            lines.append(f"    fix: {problem.fix}")
    return lines


def statement_lines(
    snapshot: Snapshot, *, top: int = 20, sort: str = "total", width: int = 100
) -> list[str]:
    views = snapshot.top_statements(sort, top)
    state = "trusted" if snapshot.statements_trusted else "NOT trusted"
    lines = [f"top statements by {sort} ({state}"]
    if snapshot.statements_reason:
        lines[0] += f": {snapshot.statements_reason}"
    lines[0] += ")"
    lines.append(
        f"{'':7} {'calls':>7} {'total ms':>10} {'mean ms':>9} {'rows':>8}"
        f" {'blocks':>8}  query"
    )
    query_width = max(width - 55, 20)
    for view in views:
        delta = view.delta
        text = HIDDEN_LABEL if delta.hidden else view.one_line(query_width)
        if delta.trusted:
            figures = (
                f"{delta.calls:>7} {delta.total_ms:>10,.1f} {_ms(delta.mean_ms):>9}"
                f" {delta.rows:>8} {delta.shared_blks:>8}"
            )
        else:
            total = delta.total
            total_ms = total.exec_ms + total.plan_ms
            figures = (
                f"{total.calls:>7} {total_ms:>10,.1f} {'(total)':>9}"
                f" {total.rows:>8} {'':>8}"
            )
        lines.append(f"{view.severity.label:<7} {figures}  {text}")
    if not views:
        lines.append("  (no statements ran in the interval)")
    return lines


def summary_lines(snapshot: Snapshot, *, top: int = 5) -> list[str]:
    """Render the one-screen summary of ``evedmv performance``."""
    lines = header_lines(snapshot)
    if not snapshot.connected:
        return lines
    database = snapshot.database
    if database is not None:
        hit = database.cache_hit_ratio
        lines.append(
            f"database {database.database}: {_ms(database.tps)} tps,"
            f" cache hit {'—' if hit is None else f'{hit:.1%}'},"
            f" {database.backends}/{database.max_connections} backends,"
            f" deadlocks {database.deadlocks or 0:.0f},"
            f" temp files {database.temp_files or 0:.0f}"
        )
    activity = snapshot.activity
    if activity is not None:
        states = ", ".join(f"{n} {s}" for s, n in sorted(activity.by_state.items()))
        lines.append(
            f"activity: {activity.client_backends} client backends"
            f" ({states or 'none'}), {activity.blocked} blocked"
        )
        for running in activity.running[:3]:
            backend = running.backend
            lines.append(
                f"  {running.severity.label:<7} pid {backend.pid}"
                f" {running.seconds:.1f} s {backend.wait}"
                f" {HIDDEN_LABEL if not backend.query else backend.query[:60]}"
            )
    lines.extend(statement_lines(snapshot, top=top))
    if snapshot.operations:
        lines.append("app operations (slowest by total time):")
        for row in snapshot.operations[:top]:
            calls = "call" if row.calls == 1 else "calls"
            lines.append(
                f"  {row.severity.label:<7} {row.operation:<24} {row.calls:>7,}"
                f" {calls:<5} p50 {row.p50_ms:,.1f} ms p95 {row.p95_ms:,.1f} ms"
            )
    lines.extend(memory_lines(snapshot, brief=True))
    if snapshot.ingest is not None:
        ingest = snapshot.ingest
        counts = ingest.counts
        lag = counts.median_lag_seconds
        invalid = f"{counts.invalid:,} known invalid, " if counts.invalid else ""
        lines.append(
            f"ingest: {ingest.kills_per_minute:.1f} kills/min, lag"
            f" {'—' if lag is None else f'{lag:.0f} s'}, {counts.pending:,}"
            f" pending, {invalid}{counts.rejects:,} unresolved rejects"
        )
    cost = snapshot.cost
    lines.append(
        f"monitor: poll {cost.wall_seconds * 1000:.1f} ms,"
        f" CPU {cost.cpu_seconds * 1000:.1f} ms, {cost.queries} queries"
    )
    # These are the findings of this command's own polls. The regression
    # alerts of a running dashboard live in its baseline store.
    lines.append(
        f"findings in the interval: {len(snapshot.alerts)}"
        " (regression alerts: evedmv regressions)"
    )
    for alert in snapshot.alerts:
        lines.append(f"  {alert.severity.label:<7} {alert.source}: {alert.message}")
    return lines


def memory_lines(snapshot: Snapshot, *, brief: bool = False) -> list[str]:
    memory = snapshot.memory
    if memory is None:
        return []
    app = memory.app
    uss_age = "" if app.uss_at is None else f" as of {_clock(app.uss_at)}"
    lines = [
        f"app process {app.pid}: RSS {_mib(app.rss)}, USS {_mib(app.uss)}{uss_age}"
    ]
    trend = memory.trend
    if trend is not None:
        lines.append(f"  {trend.describe()}")
    if memory.backends_hidden_reason:
        lines.append(f"  backends: {memory.backends_hidden_reason}")
    elif memory.backends:
        known = [b.rss for b in memory.backends if b.rss is not None]
        lines.append(
            f"  {len(memory.backends)} server processes, RSS {_mib(sum(known))}"
            " in all (shared buffers counted in each)"
        )
    if brief:
        return lines
    for backend in memory.backends:
        sampled = (
            "" if backend.sampled_at is None else f" as of {_clock(backend.sampled_at)}"
        )
        error = f" {backend.error}" if backend.error else ""
        lines.append(
            f"    pid {backend.pid:>7} {backend.role:<28} RSS {_mib(backend.rss):>12}"
            f"{sampled}{error}"
        )
    lines.append("caches:")
    for cache in snapshot.caches:
        stats = cache.stats
        ratio = stats.hit_ratio
        size = f"{stats.entries:,}/{stats.max_entries:,}"
        lines.append(
            f"  {stats.name:<28} {size:>15} entries"
            f" {_mib(stats.approx_bytes):>12}"
            f" hit {'—' if ratio is None else f'{ratio:.1%}'}"
            f" evictions {stats.evictions:,}"
        )
    lines.append("garbage collector:")
    for generation in memory.gc:
        lines.append(
            f"  gen {generation.generation}:"
            f" {count_noun(generation.collections, 'collection')},"
            f" {generation.collected:,} collected,"
            f" {generation.uncollectable:,} uncollectable"
        )
    if memory.top_allocations is not None:
        lines.append("top allocation sites (tracemalloc):")
        for site in memory.top_allocations:
            lines.append(
                f"  {site.size_bytes / 1024:>10,.1f} KiB {site.count:>7,} blocks"
                f"  {site.file}:{site.line}"
            )
    return lines


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))

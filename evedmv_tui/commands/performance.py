"""``evedmv performance``, ``evedmv query-performance`` and ``evedmv memory-analysis``.

Each polls the server twice, ``--interval`` seconds apart, and reports the
interval. ``memory-analysis`` also samples its own memory during the
interval and judges the trend with the monitor's leak rule. The exit status
is 0 when all is well, 1 with warnings and 2 with errors, so the commands can
run from cron or CI.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import psutil

from evedmv_tui.commands.arguments import SECONDS, whole
from evedmv_tui.commands.helptext import examples
from evedmv_tui.config import Settings
from evedmv_tui.errors import ConfigError, DatabaseUnavailable
from evedmv_tui.monitor import memory as memory_mod
from evedmv_tui.monitor import report
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.monitor.severity import Severity, worst
from evedmv_tui.monitor.snapshot import SORT_FIELDS, Snapshot
from evedmv_tui.store.connect import server_conninfo

_EXIT_STATUS = (
    "Exits with status 0 when all is well, 1 with warnings and 2 with errors,"
    " so it can run from cron or CI."
)


def register(subparsers: Any) -> None:
    summary = subparsers.add_parser(
        "performance",
        help="one-screen summary of database and application performance",
        description="Poll PostgreSQL twice, --interval seconds apart, and print"
        " one screen: server activity, the top statements, this process's"
        f" memory and the monitor's own cost. {_EXIT_STATUS}",
        **examples("evedmv performance", "evedmv performance --interval 10 --json"),
    )
    summary.add_argument(
        "--interval",
        type=SECONDS,
        default=2.0,
        help="seconds between the two polls the rates come from (default 2)",
    )
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(handler=performance)

    queries = subparsers.add_parser(
        "query-performance",
        help="top pg_stat_statements entries over an interval",
        description="Read pg_stat_statements twice, --interval seconds apart,"
        " and list the statements that took the most time in between, with"
        f" slow ones flagged. {_EXIT_STATUS} A server without a readable"
        " pg_stat_statements exits with 2, because nothing was measured.",
        **examples(
            "evedmv query-performance",
            "evedmv query-performance --interval 60 --sort mean --top 10",
        ),
    )
    queries.add_argument(
        "--top", type=whole(1), default=20, help="statements to list (default 20)"
    )
    queries.add_argument(
        "--sort",
        choices=SORT_FIELDS,
        default="total",
        help="order by total time, mean time, calls, rows or shared blocks",
    )
    queries.add_argument(
        "--interval",
        type=SECONDS,
        default=5.0,
        help="seconds to measure over (default 5)",
    )
    queries.add_argument("--json", action="store_true", help="print one JSON object")
    queries.set_defaults(handler=query_performance)

    memory = subparsers.add_parser(
        "memory-analysis",
        help="process memory, caches, trend, garbage collector and allocations",
        description="Sample this process's memory for --interval seconds and"
        " report it with the caches, the garbage collector and, with --trace,"
        " the top allocation sites. The leak rule needs --window seconds of"
        f" samples (default {memory_mod.LEAK_WINDOW_SECONDS:.0f}), so the"
        " default 2 s run reports the memory but judges no leak: use"
        f" --interval {memory_mod.LEAK_WINDOW_SECONDS:.0f} for that."
        f" {_EXIT_STATUS}",
        **examples(
            "evedmv memory-analysis",
            f"evedmv memory-analysis --interval {memory_mod.LEAK_WINDOW_SECONDS:.0f}"
            " --trace",
        ),
    )
    memory.add_argument(
        "--trace",
        action="store_true",
        help="trace allocations with tracemalloc during the interval and list"
        " the top allocation sites of this process",
    )
    memory.add_argument(
        "--interval",
        type=SECONDS,
        default=2.0,
        help="seconds to measure over; this process's memory is sampled at"
        " least 8 times and at most once a second (default 2, which is too"
        " short to judge a leak)",
    )
    memory.add_argument(
        "--window",
        type=SECONDS,
        default=memory_mod.LEAK_WINDOW_SECONDS,
        help="seconds of growth that the leak rule needs before it can flag a leak"
        f" (default {memory_mod.LEAK_WINDOW_SECONDS:.0f}); the interval must"
        " cover it",
    )
    memory.add_argument("--json", action="store_true", help="print one JSON object")
    memory.set_defaults(handler=memory_analysis)


def _unreachable_hint(settings: Settings) -> str:
    """Return what to check when the monitor cannot reach its server.

    'evedmv db status' reports the private cluster, not a server given by
    --dsn or EVEDMV_DSN.
    """
    if settings.dsn is not None:
        return (
            "check the DSN (--dsn or EVEDMV_DSN) and that its server runs and"
            " accepts connections, for example with psql"
        )
    return "check that the private cluster runs ('evedmv db status')"


def measure(
    settings: Settings,
    interval: float,
    *,
    tick: Callable[[], None] | None = None,
    tick_seconds: float = 1.0,
) -> Snapshot:
    """Poll twice, ``interval`` seconds apart, and return the second snapshot.

    ``tick`` runs right after the first poll, every ``tick_seconds`` during
    the interval, and right before the second poll.
    """
    monitor = Monitor(None, settings, conninfo=server_conninfo(settings))
    try:
        first = monitor.poll()
        if not first.connected:
            raise DatabaseUnavailable(
                "cannot monitor PostgreSQL",
                f"{first.server}: {first.error}",
                _unreachable_hint(settings),
            )
        deadline = time.monotonic() + interval
        while tick is not None and time.monotonic() < deadline:
            tick()
            time.sleep(min(tick_seconds, max(deadline - time.monotonic(), 0.0)))
        time.sleep(max(deadline - time.monotonic(), 0.0))
        if tick is not None:
            tick()
        return monitor.poll()
    finally:
        monitor.close()


def _emit(data: dict[str, Any] | None, lines: list[str], as_json: bool) -> None:
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")


def performance(args: argparse.Namespace, settings: Settings) -> int:
    snapshot = measure(settings, args.interval)
    _emit(
        report.snapshot_dict(snapshot) if args.json else None,
        report.summary_lines(snapshot),
        args.json,
    )
    return int(snapshot.severity)


def statements_severity(snapshot: Snapshot) -> Severity:
    """Return the worst finding about statements: flagged entries and gaps."""
    found = [v.severity for v in snapshot.statements]
    found += [a.severity for a in snapshot.alerts if a.source == "statements"]
    if not snapshot.connected:
        found.append(Severity.ERROR)
    if statements_unread(snapshot):
        found.append(Severity.ERROR)
    return worst(found)


def statements_unread(snapshot: Snapshot) -> bool:
    """Return whether pg_stat_statements could not be read, so nothing was measured."""
    return any(problem.panel == "statements" for problem in snapshot.problems)


def query_performance(args: argparse.Namespace, settings: Settings) -> int:
    snapshot = measure(settings, args.interval)
    if not snapshot.connected:
        raise DatabaseUnavailable(
            "lost the connection while measuring", str(snapshot.error), None
        )
    severity = statements_severity(snapshot)
    data = None
    if args.json:
        full = report.snapshot_dict(snapshot, top=args.top, sort=args.sort)
        data = {
            "severity": severity.word,
            "exit_status": int(severity),
            "interval_seconds": full["interval_seconds"],
            "server": full["server"],
            "pg_stat_statements": full["pg_stat_statements"],
            "problems": [p for p in full["problems"] if p["panel"] == "statements"],
            "notes": [n for n in full["notes"] if n["panel"] == "statements"],
            "statements": full["statements"],
        }
    lines = report.header_lines(snapshot, judged="statements", severity=severity)
    lines += report.statement_lines(snapshot, top=args.top, sort=args.sort)
    if statements_unread(snapshot):
        # The panel's problem is a warning on the dashboard, but this
        # command exists to measure statements, so it fails.
        lines.append(
            f"{Severity.ERROR.glyph} error: no statement was measured because"
            " pg_stat_statements could not be read (exit status 2)"
        )
    _emit(data, lines, args.json)
    return int(severity)


def _unjudged_reason(
    interval: float, window: float, trend: memory_mod.Trend | None
) -> str | None:
    """Return why the run judged no leak, with the options that would, or None."""
    if trend is not None and trend.judged:
        return None
    return (
        f"leak not judged: the leak rule needs {window:g} s of samples and this"
        f" run measured for {interval:g} s; run with --interval {window:.0f} or"
        " more, or give a shorter --window"
    )


def memory_analysis(args: argparse.Namespace, settings: Settings) -> int:
    started = memory_mod.start_tracing() if args.trace else False
    if args.trace and not started:
        raise ConfigError(
            "tracemalloc is already tracing",
            "PYTHONTRACEMALLOC or -X tracemalloc started it before evedmv",
            "drop --trace, or unset PYTHONTRACEMALLOC",
        )
    trend = memory_mod.MemoryTrend(window_seconds=args.window)
    process = psutil.Process()

    def sample() -> None:
        trend.add(time.monotonic(), process.memory_info().rss)

    try:
        snapshot = measure(
            settings,
            args.interval,
            tick=sample,
            tick_seconds=min(1.0, args.interval / 8),
        )
    finally:
        if started:
            # The snapshot already holds the top sites; stop to free the traces.
            memory_mod.stop_tracing()
    found = [a.severity for a in snapshot.alerts if a.source == "memory"]
    judged = trend.trend()
    if snapshot.memory is not None:
        # The monitor saw two samples; this process's own series is denser.
        snapshot = dataclasses.replace(
            snapshot, memory=dataclasses.replace(snapshot.memory, trend=judged)
        )
    if judged is not None and judged.leak_suspected:
        found.append(Severity.WARNING)
    severity = worst(found)
    data = None
    if args.json and snapshot.memory is not None:
        full = report.snapshot_dict(snapshot)
        data = {
            "severity": severity.word,
            "exit_status": int(severity),
            "memory": full["memory"],
            "caches": full["caches"],
            "leak_rule": {
                "window_seconds": args.window,
                "slope_bytes_per_min": memory_mod.LEAK_SLOPE_BYTES_PER_MIN,
                "min_r_squared": memory_mod.LEAK_MIN_R_SQUARED,
            },
        }
    lines = report.memory_lines(snapshot)
    unjudged = _unjudged_reason(args.interval, args.window, judged)
    if data is not None:
        data["leak_rule"]["judged"] = unjudged is None
        data["leak_rule"]["not_judged_because"] = unjudged
    if lines and unjudged is not None:
        # Under the trend line, or the process line when there is no trend.
        lines.insert(2 if judged is not None else 1, f"  {unjudged}")
    _emit(data, lines, args.json)
    return int(severity)

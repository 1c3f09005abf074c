"""CPU cost of the performance monitor's polls, next to pg_activity's refreshes.

Usage: .venv/bin/python bench/monitor.py [--seconds 60] [--interval 2]
    [--tables 50] [--rate 20] [--steps]

Steps, on a private cluster in a fresh directory under /tmp (removed at the
end):

1. migrate the application database, create ``--tables`` small tables and
   run 8 distinct statements on each once (400 by default), so
   ``pg_stat_statements`` contains a few hundred entries. Open 4 idle
   connections, as the app's pool would, and start a thread that sends
   ``--rate`` statements per second, drawn from that set, on a connection
   of its own. The thread stops by itself after the two runs (or at a
   bounded statement count);
2. in a child process, fill the application's query telemetry with 2,000
   records (a full history, as after some use of the app), build the
   monitor as the dashboard does (``default_monitor_factory``, a real
   :class:`Monitor` on its own pool) and run it in :class:`MonitorLoop`,
   which polls, then waits :meth:`Monitor.next_delay` (``--interval``),
   for ``--seconds``;
3. in a second child process, after the first, run pg_activity's data
   collection with its default options for ``--seconds``, waiting
   ``--interval`` after each refresh. A refresh makes the calls that its
   ``ui.main`` makes in the default activities mode, without the curses
   screen. They read server information, memory, swap and load,
   ``pg_stat_activity`` and psutil figures of each active backend.

Each child measures its own process CPU time (user plus system, all
threads, from ``time.process_time``) over ``--seconds`` from just before it
connects, so each figure includes connecting and the first poll. The
figure per poll is that time divided by the polls made. Neither figure
includes drawing a screen. Separately, just before it disconnects, each
child reads with psutil the CPU time of its server backends, which all
started inside the run. That server-side figure is reported but not judged.

Targets: the monitor's process CPU at most 1 % of one core at a 2 s
interval, and no more process CPU per poll than pg_activity per refresh.
The last output line is one JSON object with the figures and the ratios
(at most 1 meets the target).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attr
import psutil
import psycopg
from pgactivity import activities, cli
from pgactivity import data as pga_data
from pgactivity import types as pga_types

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evedmv_tui.config import Settings
from evedmv_tui.monitor.loop import MonitorLoop
from evedmv_tui.monitor.snapshot import MemoryView, PollCost, Snapshot
from evedmv_tui.screens.performance import default_monitor_factory
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from evedmv_tui.store.db import MONITOR_APPLICATION_NAME, Database
from evedmv_tui.store.migrate import migrate
from evedmv_tui.store.telemetry import TELEMETRY, QueryRecord, Telemetry

CORE_TARGET_PERCENT = 1.0
IDLE_APP_CONNECTIONS = 4
TELEMETRY_RECORDS = 2000
"""The default history of :class:`Telemetry`, so the monitor reads a full one."""
ROWS_PER_TABLE = 200
WORKLOAD_MARGIN_SECONDS = 120.0
"""How long the workload thread outlives the two runs before it stops itself."""

Params = tuple[Any, ...]
Shape = tuple[str, Callable[[random.Random, int], Params]]


# -- the background workload ----------------------------------------------


def statement_shapes(tables: int) -> list[Shape]:
    """Return 8 distinct statements per table, each with a parameter maker."""
    shapes: list[Shape] = []
    for i in range(tables):
        table = f"workload.t{i}"
        other = f"workload.t{(i + 1) % tables}"
        shapes += [
            (
                f"-- One row of {table} by id.\n"
                f"SELECT id, grp, name, amount, created\nFROM {table}\nWHERE id = %s",
                lambda rng, _n: (rng.randrange(ROWS_PER_TABLE),),
            ),
            (
                f"-- Rows of one group in {table}.\n"
                f"SELECT count(*) AS rows, sum(amount) AS amount\nFROM {table}\n"
                f"WHERE grp = %s",
                lambda rng, _n: (rng.randrange(10),),
            ),
            (
                f"-- Busiest groups of {table} in the last hours.\n"
                f"SELECT grp, sum(amount) AS total, avg(amount) AS mean\n"
                f"FROM {table}\nWHERE created > now() - %s * interval '1 hour'\n"
                f"GROUP BY grp\nORDER BY total DESC\nLIMIT 10",
                lambda rng, _n: (rng.randint(1, 48),),
            ),
            (
                f"-- Add to the amount of one row of {table}.\n"
                f"UPDATE {table}\nSET amount = amount + %s\nWHERE id = %s",
                lambda rng, _n: (rng.random(), rng.randrange(ROWS_PER_TABLE)),
            ),
            (
                f"-- Names of {table} by prefix.\n"
                f"SELECT id, name\nFROM {table}\nWHERE name LIKE %s\n"
                f"ORDER BY name\nLIMIT 20",
                lambda rng, _n: (f"name-{rng.randrange(10)}%",),
            ),
            (
                f"-- Insert or replace one row of {table}.\n"
                f"INSERT INTO {table} (id, grp, name, amount, created)\n"
                f"VALUES (%s, %s, %s, %s, now())\n"
                f"ON CONFLICT (id) DO UPDATE SET amount = excluded.amount",
                lambda rng, n: (
                    ROWS_PER_TABLE + n % 1000,
                    rng.randrange(10),
                    f"name-{n}",
                    rng.random() * 100,
                ),
            ),
            (
                f"-- Rows of {other} in the group of one row of {table}.\n"
                f"SELECT a.id, b.id AS other_id, b.name\nFROM {table} AS a\n"
                f"JOIN {other} AS b ON b.grp = a.grp\nWHERE a.id = %s\n"
                f"ORDER BY b.id\nLIMIT 5",
                lambda rng, _n: (rng.randrange(ROWS_PER_TABLE),),
            ),
            (
                f"-- Range figures of {table}.\n"
                f"SELECT max(created) AS newest, min(amount) AS smallest\n"
                f"FROM {table}\nWHERE id BETWEEN %s AND %s",
                lambda rng, _n: (rng.randrange(100), 100 + rng.randrange(100)),
            ),
        ]
    return shapes


def create_tables(conn: psycopg.Connection[Any], tables: int) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS workload")
    for i in range(tables):
        conn.execute(
            f"CREATE TABLE workload.t{i} (id int PRIMARY KEY, grp int NOT NULL,"
            " name text NOT NULL, amount float8 NOT NULL,"
            " created timestamptz NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO workload.t{i}"
            " SELECT g, g %% 10, 'name-' || g, g * 1.5,"
            " now() - g * interval '10 minutes'"
            " FROM generate_series(0, %s) AS g",
            (ROWS_PER_TABLE - 1,),
        )
    conn.execute("ANALYZE")


class Workload(threading.Thread):
    """Sends a steady trickle of statements on one connection, then stops.

    The thread stops at ``deadline`` (``time.monotonic()``), after
    ``max_statements``, or when :meth:`stop` is called, whichever comes first.
    """

    def __init__(
        self,
        conninfo: str,
        shapes: list[Shape],
        rate: float,
        deadline: float,
        max_statements: int,
    ) -> None:
        super().__init__(name="bench-workload", daemon=True)
        self.conninfo = conninfo
        self.shapes = shapes
        self.rate = rate
        self.deadline = deadline
        self.max_statements = max_statements
        self.sent = 0
        self.error: BaseException | None = None
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)

    def run(self) -> None:
        rng = random.Random(2)
        period = 1.0 / self.rate
        try:
            with psycopg.connect(
                self.conninfo, autocommit=True, application_name="evedmv"
            ) as conn:
                next_at = time.monotonic()
                while self.sent < self.max_statements:
                    if time.monotonic() >= self.deadline:
                        break
                    query, make_params = rng.choice(self.shapes)
                    conn.execute(query, make_params(rng, self.sent))
                    self.sent += 1
                    next_at += period
                    if self._stop_event.wait(max(next_at - time.monotonic(), 0.0)):
                        break
        except psycopg.Error as exc:
            self.error = exc


# -- the monitor child ----------------------------------------------------


def fill_telemetry(telemetry: Telemetry, records: int) -> None:
    """Record ``records`` made-up application statements over 12 operations."""
    rng = random.Random(3)
    operations = [f"screen.{name}" for name in ("killmails", "battles", "intel")]
    operations += ["import", "battles.detect", "intel.page", "intel.search"]
    operations += ["names.resolve", "valuation", "alerts", "feed", "app"]
    started = time.time() - records
    for n in range(records):
        operation = operations[n % len(operations)]
        telemetry.record(
            QueryRecord(
                operation,
                f"{operation}.query{n % 7}",
                f"SELECT {n % 7} FROM killmails WHERE killmail_id = %s",
                (n,),
                started + n,
                rng.lognormvariate(-5, 1.2),
                rng.randrange(100),
            )
        )


def backend_cpu_seconds(conninfo: str, application_name: str) -> float:
    """Return the summed CPU time of the server backends of ``application_name``.

    Every such backend must have started inside the measured run, so its
    whole CPU time belongs to the run. Backends that already ended are
    missed.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
    total = 0.0
    for (pid,) in rows:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def time_steps() -> dict[str, float]:
    """Wrap the poll's steps so each adds its thread CPU time to the returned dict.

    A nested step counts in its caller too: ``_statements`` includes
    ``fetch_texts``, ``fingerprint`` and ``statement_deltas``. ``gc`` is the
    time of every garbage collection, whatever step it interrupted.
    """
    from evedmv_tui.monitor import poller, statements

    totals: dict[str, float] = {}
    targets: list[tuple[Any, str]] = [
        (poller, "_read_poll_start"),
        (poller.Monitor, "_statements"),
        (statements.StatementReader, "read_set"),
        (statements.StatementReader, "fetch_texts"),
        (statements, "fingerprint"),
        (poller, "statement_deltas"),
        (poller.Monitor, "_activity"),
        (poller.Monitor, "_slow_collectors"),
        (poller.Monitor, "_memory"),
        (poller.Monitor, "_app_side"),
        (poller.Monitor, "_backend_cost"),
        (poller, "build_alerts"),
        (poller, "build_samples"),
    ]
    for owner, name in targets:
        setattr(owner, name, _timed(getattr(owner, name), name, totals))

    started = [0.0]

    def time_collection(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.thread_time()
        else:
            totals["gc"] = totals.get("gc", 0.0) + time.thread_time() - started[0]

    gc.callbacks.append(time_collection)
    return totals


def _timed(
    function: Callable[..., Any], name: str, totals: dict[str, float]
) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.thread_time() - started

    return timed


@dataclasses.dataclass(frozen=True, slots=True)
class PollRecord:
    """The figures of one snapshot that the summary reads."""

    connected: bool
    error: str | None
    cost: PollCost
    statements: int
    """Statement rows the snapshot lists."""


class PollRecorder:
    """A monitor subscriber that keeps each poll's figures and the last snapshot.

    The dashboard's ``MonitorService`` keeps its latest snapshot only, so
    older ones are freed. Keeping every snapshot grew the heap each poll,
    so the garbage collector ran more often than in the dashboard. In one
    sitting, two 60 s runs that kept every snapshot collected 24 times each
    (3.7 and 4.4 ms of CPU time). A run that kept the last one collected 13
    times (1.4 ms).
    """

    def __init__(self) -> None:
        self.records: list[PollRecord] = []
        self.last: Snapshot | None = None

    def __call__(self, snapshot: Snapshot) -> None:
        self.records.append(
            PollRecord(
                snapshot.connected,
                snapshot.error,
                snapshot.cost,
                len(snapshot.statements),
            )
        )
        self.last = snapshot

    @property
    def last_memory(self) -> MemoryView | None:
        return self.last.memory if self.last is not None else None


def measure_monitor(
    conninfo: str, seconds: float, interval: float, *, steps: bool = False
) -> dict[str, Any]:
    """Run the monitor at ``interval`` for ``seconds`` and return its CPU figures.

    With ``steps``, the figures also contain each step's thread CPU time
    (see :func:`time_steps`). The wrappers add to the CPU figures, so a run
    with steps is not comparable with one without.
    """
    step_seconds = time_steps() if steps else None
    fill_telemetry(TELEMETRY, TELEMETRY_RECORDS)
    settings = Settings(dsn=conninfo, poll_interval=interval)
    recorder = PollRecorder()
    started = time.perf_counter()
    cpu_started = time.process_time()
    monitor = default_monitor_factory(settings)(conninfo)
    monitor.subscribe(recorder)
    loop = MonitorLoop(monitor)
    loop.start()
    time.sleep(max(started + seconds - time.perf_counter(), 0.0))
    loop.stop()
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - started
    backend_cpu = backend_cpu_seconds(conninfo, MONITOR_APPLICATION_NAME)
    monitor.close()

    records = recorder.records
    failed = [r.error for r in records if not r.connected]
    if failed:
        raise SystemExit(f"monitor polls failed: {failed[0]}")
    costs = [r.cost for r in records]
    last_memory = recorder.last_memory
    return {
        "polls": len(records),
        "seconds": wall,
        "cpu_seconds": cpu,
        "backend_cpu_seconds": backend_cpu,
        "thread_cpu_seconds": sum(c.cpu_seconds for c in costs),
        "first_poll_thread_cpu_seconds": costs[0].cpu_seconds,
        "poll_wall_seconds": statistics.mean(c.wall_seconds for c in costs),
        "queries_per_poll": statistics.mean(c.queries for c in costs[1:]),
        "statement_rows_per_poll": statistics.mean(r.statements for r in records[1:]),
        "backends_sampled": len(last_memory.backends) if last_memory else 0,
        "steps": step_seconds,
    }


# -- the pg_activity child -------------------------------------------------


class PgActivityCollector:
    """pg_activity's data collection, as its ``ui.main`` (3.6) runs it.

    :meth:`refresh` makes the calls of one pass of its loop in the default
    activities mode with no key pressed, without drawing the screen.
    """

    def __init__(self, conninfo: str) -> None:
        options = cli.get_parser().parse_args([conninfo])
        self.options = options
        filters = pga_types.Filters.from_options(options.filters)
        self.data = pga_data.pg_connect(
            options, min_duration=options.minduration, filters=filters
        )
        # What ui.main does before its loop.
        self.is_local = self.data.pg_is_local() and self.data.pg_is_local_access()
        self.skip_db_size = not options.dbsize
        self.server_information = self.data.pg_get_server_information(
            prev_server_info=None,
            using_rds=options.rds,
            skip_db_size=self.skip_db_size,
            skip_tempfile=not options.tempfiles,
            skip_walreceiver=not options.walreceiver,
        )
        self.duration_mode = int(options.durationmode)
        self.sys_procs: dict[int, pga_types.SystemProcess] = {}
        self.pg_procs = pga_types.SelectableProcesses([])

    def refresh(self) -> int:
        """Collect one refresh and return the backends it lists."""
        options = self.options
        if not options.dbsize and not self.skip_db_size:
            self.skip_db_size = True
        self.server_information = self.data.pg_get_server_information(
            prev_server_info=self.server_information,
            using_rds=options.rds,
            skip_db_size=self.skip_db_size,
            skip_tempfile=not options.tempfiles,
            skip_walreceiver=not options.walreceiver,
        )

        memory, swap, load = activities.mem_swap_load()
        system_info = pga_types.SystemInfo.default(memory=memory, swap=swap, load=load)
        if self.is_local:
            memory, swap, load = activities.mem_swap_load()
            system_info = attr.evolve(system_info, memory=memory, swap=swap, load=load)

        self.pg_procs.set_items(self.data.pg_get_activities(self.duration_mode))
        if self.is_local:
            local_procs, io_read, io_write = activities.ps_complete(
                self.pg_procs.items,  # type: ignore[arg-type]
                self.sys_procs,
                options.blocksize,
            )
            system_info = attr.evolve(
                system_info,
                io_read=io_read,
                io_write=io_write,
                max_iops=activities.update_max_iops(
                    system_info.max_iops, io_read.count, io_write.count
                ),
            )
            self.pg_procs.set_items(local_procs)
        return len(self.pg_procs.items)

    def close(self) -> None:
        self.data.pg_conn.close()


def measure_pg_activity(
    conninfo: str, seconds: float, interval: float
) -> dict[str, Any]:
    """Refresh pg_activity's data every ``interval`` for ``seconds``.

    The loop waits ``interval`` after each refresh, as pg_activity's
    ``--refresh`` does.
    """
    started = time.perf_counter()
    cpu_started = time.process_time()
    collector = PgActivityCollector(conninfo)
    deadline = started + seconds
    listed: list[int] = []
    while True:
        listed.append(collector.refresh())
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        time.sleep(min(interval, remaining))
        if time.perf_counter() >= deadline:
            break
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - started

    backend_cpu = backend_cpu_seconds(conninfo, "pg_activity")
    collector.close()
    return {
        "refreshes": len(listed),
        "seconds": wall,
        "cpu_seconds": cpu,
        "backend_cpu_seconds": backend_cpu,
        "is_local": collector.is_local,
        "active_backends_per_refresh": statistics.mean(listed),
    }


# -- the parent --------------------------------------------------------------


def run_child(
    kind: str, conninfo: str, seconds: float, interval: float, *, steps: bool = False
) -> dict[str, Any]:
    """Run one measurement in a fresh Python process and return its figures."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
    command += ["--conninfo", conninfo, "--seconds", str(seconds)]
    command += ["--interval", str(interval)]
    if steps:
        command.append("--steps")
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 120
    )
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(
            f"{kind} run failed with exit status {result.returncode}"
            " (its error output is above)"
        )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def server_counts(conninfo: str) -> tuple[int, int]:
    """Return the ``pg_stat_statements`` entries and the server's backends."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        entries = conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
        backends = conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()
    assert entries is not None and backends is not None
    return int(entries[0]), int(backends[0])


def summarize(
    monitor: dict[str, Any], pg_activity: dict[str, Any], interval: float
) -> dict[str, Any]:
    polls = monitor["polls"]
    refreshes = pg_activity["refreshes"]
    cpu_per_poll = monitor["cpu_seconds"] / polls
    theirs_per_refresh = pg_activity["cpu_seconds"] / refreshes
    core_share = 100 * monitor["cpu_seconds"] / monitor["seconds"]
    return {
        "interval_seconds": interval,
        "polls": polls,
        "seconds": round(monitor["seconds"], 2),
        "cpu_per_poll_ms": round(1000 * cpu_per_poll, 2),
        "core_share_percent": round(core_share, 3),
        "thread_cpu_per_poll_ms": round(
            1000 * monitor["thread_cpu_seconds"] / polls, 2
        ),
        "first_poll_thread_cpu_ms": round(
            1000 * monitor["first_poll_thread_cpu_seconds"], 2
        ),
        "poll_wall_ms": round(1000 * monitor["poll_wall_seconds"], 2),
        "queries_per_poll": round(monitor["queries_per_poll"], 1),
        "statement_rows_per_poll": round(monitor["statement_rows_per_poll"], 1),
        "backends_sampled": monitor["backends_sampled"],
        "backend_cpu_per_poll_ms": round(
            1000 * monitor["backend_cpu_seconds"] / polls, 2
        ),
        "pg_activity_refreshes": refreshes,
        "pg_activity_seconds": round(pg_activity["seconds"], 2),
        "pg_activity_cpu_per_refresh_ms": round(1000 * theirs_per_refresh, 2),
        "pg_activity_core_share_percent": round(
            100 * pg_activity["cpu_seconds"] / pg_activity["seconds"], 3
        ),
        "pg_activity_backend_cpu_per_refresh_ms": round(
            1000 * pg_activity["backend_cpu_seconds"] / refreshes, 2
        ),
        "pg_activity_active_backends": round(
            pg_activity["active_backends_per_refresh"], 1
        ),
        "pg_activity_is_local": pg_activity["is_local"],
        "core_target_percent": CORE_TARGET_PERCENT,
        "ratio_to_core_target": round(core_share / CORE_TARGET_PERCENT, 3),
        "ratio_to_pg_activity": round(cpu_per_poll / theirs_per_refresh, 3),
    }


def print_figures(figures: dict[str, Any]) -> None:
    print(
        f"server: {figures['pg_stat_statements_entries']} pg_stat_statements"
        f" entries, {figures['server_backends']} rows in pg_stat_activity,"
        f" {figures['workload_statements']} workload statements sent"
    )
    print(
        f"monitor: {figures['polls']} polls in {figures['seconds']} s,"
        f" process CPU {figures['cpu_per_poll_ms']} ms per poll,"
        f" {figures['core_share_percent']} % of one core"
    )
    print(
        f"  polling thread {figures['thread_cpu_per_poll_ms']} ms per poll"
        f" (first poll {figures['first_poll_thread_cpu_ms']} ms),"
        f" poll wall time {figures['poll_wall_ms']} ms,"
        f" {figures['queries_per_poll']} queries per poll"
    )
    print(
        f"  server backend {figures['backend_cpu_per_poll_ms']} ms per poll,"
        f" {figures['statement_rows_per_poll']} statement rows shown,"
        f" {figures['backends_sampled']} backends sampled with psutil"
    )
    print(
        f"pg_activity: {figures['pg_activity_refreshes']} refreshes in"
        f" {figures['pg_activity_seconds']} s, process CPU"
        f" {figures['pg_activity_cpu_per_refresh_ms']} ms per refresh,"
        f" {figures['pg_activity_core_share_percent']} % of one core"
    )
    print(
        f"  server backend {figures['pg_activity_backend_cpu_per_refresh_ms']} ms"
        f" per refresh, {figures['pg_activity_active_backends']} active backends"
        f" per refresh, local system figures: {figures['pg_activity_is_local']}"
    )
    print(
        f"ratio to the 1 % core target: {figures['ratio_to_core_target']},"
        f" ratio to pg_activity per refresh: {figures['ratio_to_pg_activity']}"
    )
    print(f"load average before and after: {figures['load_average']}")
    for name, ms in figures.get("steps_ms_per_poll", {}).items():
        print(f"  step {name}: {ms} ms per poll")


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="evedmv-bench-monitor-", dir="/tmp"))
    # Run as root, the server's user must be able to pass through this directory.
    base.chmod(0o711)
    cluster = PrivateCluster(base / "data", fast=True)
    try:
        cluster.start()
        ensure_database(cluster)
        conninfo = cluster.url()
        app = Database(
            conninfo, min_size=IDLE_APP_CONNECTIONS, max_size=IDLE_APP_CONNECTIONS
        )
        try:
            migrate(app)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                create_tables(conn, args.tables)
                shapes = statement_shapes(args.tables)
                rng = random.Random(1)
                for n, (query, make_params) in enumerate(shapes):
                    conn.execute(query, make_params(rng, n))
            run_seconds = 2 * (args.seconds + 30)
            workload = Workload(
                conninfo,
                shapes,
                args.rate,
                deadline=time.monotonic() + run_seconds + WORKLOAD_MARGIN_SECONDS,
                max_statements=int(args.rate * (run_seconds + WORKLOAD_MARGIN_SECONDS)),
            )
            workload.start()
            time.sleep(2 * args.interval)
            entries, backends = server_counts(conninfo)
            load_before = os.getloadavg()[0]
            ours = run_child(
                "monitor", conninfo, args.seconds, args.interval, steps=args.steps
            )
            theirs = run_child("pg_activity", conninfo, args.seconds, args.interval)
            load_after = os.getloadavg()[0]
            workload.stop()
            if workload.error is not None:
                raise SystemExit(f"workload failed: {workload.error}")
        finally:
            app.close()
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)
    figures = summarize(ours, theirs, args.interval)
    if ours["steps"] is not None:
        figures["steps_ms_per_poll"] = {
            name: round(1000 * seconds / ours["polls"], 3)
            for name, seconds in sorted(ours["steps"].items(), key=lambda i: -i[1])
        }
    figures["pg_stat_statements_entries"] = entries
    figures["server_backends"] = backends
    figures["workload_statements"] = workload.sent
    figures["load_average"] = [round(load_before, 2), round(load_after, 2)]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="length of each run, in seconds"
    )
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between polls"
    )
    parser.add_argument(
        "--tables", type=int, default=50, help="workload tables (8 statements each)"
    )
    parser.add_argument(
        "--rate", type=float, default=20.0, help="workload statements per second"
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="also time each step of the monitor's polls, in thread CPU ms per"
        " poll (the timing adds to the CPU figures)",
    )
    parser.add_argument("--child", choices=("monitor", "pg_activity"), help="internal")
    parser.add_argument("--conninfo", help="internal: the server a child polls")
    args = parser.parse_args()
    if args.child is not None:
        if args.child == "monitor":
            figures = measure_monitor(
                args.conninfo, args.seconds, args.interval, steps=args.steps
            )
        else:
            figures = measure_pg_activity(args.conninfo, args.seconds, args.interval)
        print(json.dumps(figures))
        return 0
    figures = run_benchmark(args)
    print_figures(figures)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

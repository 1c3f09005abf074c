"""The monitor: one synchronous :meth:`Monitor.poll` that reads every collector.

A caller runs ``poll()`` off the UI thread on a one-shot timer that it re-arms
after each poll, waiting :meth:`Monitor.next_delay` seconds, so a slow poll
never overlaps the next. :class:`MonitorLoop` does exactly that in a thread
for callers without Textual. Subscribers get every snapshot.

The monitor uses its own small pool with ``application_name`` set to
:data:`MONITOR_APPLICATION_NAME`, its own telemetry, and, where the role may,
``SET pg_stat_statements.track = none``; every monitor query also starts with
:data:`MONITOR_MARKER`. Together these keep its own work out of what it shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import select
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from evedmv_tui.cache import REGISTRY, CacheRegistry, CacheStats
from evedmv_tui.config import Settings
from evedmv_tui.errors import EvedmvError
from evedmv_tui.monitor import activity as activity_mod
from evedmv_tui.monitor import explain as explain_mod
from evedmv_tui.monitor import memory as memory_mod
from evedmv_tui.monitor.appside import (
    OperationRow,
    QuantileCache,
    SlowAppQuery,
    cache_rows,
    operation_rows,
    slow_app_queries,
)
from evedmv_tui.monitor.capabilities import (
    MonitorCapabilities,
    PanelProblem,
    read_capabilities,
)
from evedmv_tui.monitor.delta import (
    StatementDelta,
    StatementInterval,
    StatementPoll,
    statement_deltas,
)
from evedmv_tui.monitor.findings import build_alerts, build_samples, memory_samples
from evedmv_tui.monitor.ingest import (
    INGEST_TABLES,
    IngestHealth,
    has_ingest_tables,
    read_ingest,
)
from evedmv_tui.monitor.memory import MemoryTrend, ProcessSampler, ServerLocality
from evedmv_tui.monitor.server import (
    CACHE_WARMUP_SECONDS,
    DatabaseCounters,
    DatabaseRates,
    IndexHint,
    TableScans,
    database_rates,
    index_hints,
    read_tables,
)
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import (
    Alert,
    MemoryView,
    PollCost,
    Snapshot,
    StatementView,
)
from evedmv_tui.monitor.statements import (
    HIDDEN_LABEL,
    MONITOR_MARKER,
    StatementReader,
)
from evedmv_tui.store.db import (
    APPLICATION_NAME,
    MONITOR_APPLICATION_NAME,
    Database,
    NamedSql,
    connect_reason,
    load_sql,
    redact,
)
from evedmv_tui.store.migrate import CREATOR_FIX
from evedmv_tui.store.telemetry import TELEMETRY, Telemetry

log = logging.getLogger(__name__)

Connection = psycopg.Connection[Any]
Subscriber = Callable[[Snapshot], None]

MIN_INTERVAL = 0.5
MAX_INTERVAL = 60.0
MAX_BACKOFF = 30.0
SLOW_COLLECTOR_SECONDS = 30.0
"""Table statistics and ingest health are read at most this often. Their
figures move slowly: the scan hints judge counts since the last statistics
reset, and the ingest rates are averages over 300 s."""
CAPABILITY_RECHECK_SECONDS = 30.0
IDLE_BACKEND_MAX_AGE_SECONDS = 30.0
"""A server process that runs no query is sampled with psutil at most this
often, because its memory and CPU time barely move while it waits. In
between, the snapshot repeats its last sample, and the sample's
``sampled_at`` gives its age, which the screen shows. Running backends are
sampled every poll."""
STATEMENT_TIMEOUT_MS = 10_000
LOCK_TIMEOUT_MS = 300
"""``lock_timeout`` of the reads that lock application tables (the table
statistics and the ingest tables). A session that holds an ACCESS EXCLUSIVE
lock on one of them then delays a poll by this much, not by the 10 s
statement timeout, so the other panels keep refreshing."""


class Disconnected(Exception):
    """The connection to the watched server broke during a poll."""


MONITOR_BORROW_SECONDS = 6.0
"""Seconds a poll waits for a pooled connection: the 5 s connect timeout plus 1 s."""


def monitor_conninfo(conninfo: str) -> str:
    """Add a statement timeout and a connect timeout to the monitor's DSN."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    options = str(params.get("options") or "")
    params["options"] = f"{options} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
    params.setdefault("connect_timeout", "5")
    return psycopg.conninfo.make_conninfo("", **params)


_POLL_BORROW = threading.local()
"""``quick`` is true while the polling thread borrows a connection."""


def check_pooled_connection(conn: Connection) -> None:
    """Check a pooled connection before it is lent, cheaply for a poll.

    The pool's usual check sends an empty query, a round trip on every
    borrow. For a poll, it runs only when the socket is readable: an idle
    session receives nothing from a running server, while a server that
    ended the session (a restart, an ended backend) leaves its error message
    or end-of-file to read. A backend ended a moment before the borrow, or a
    session cut off silently by the network, passes, and the poll's first
    query then fails. Other borrows (EXPLAIN, cancel) keep the usual check.
    """
    if not getattr(_POLL_BORROW, "quick", False):
        ConnectionPool.check_connection(conn)
        return
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        # A descriptor that select() cannot watch: check the usual way.
        readable = [True]
    if readable:
        ConnectionPool.check_connection(conn)


def open_monitor_database(conninfo: str, *, open_timeout: float = 3.0) -> Database:
    """Open the monitor's own two-connection pool on ``conninfo``."""
    return Database(
        monitor_conninfo(conninfo),
        min_size=1,
        max_size=2,
        application_name=MONITOR_APPLICATION_NAME,
        telemetry=Telemetry(history=500),
        open_timeout=open_timeout,
        # A poll should report a lost server within one connect timeout,
        # not after the pool's default wait.
        borrow_timeout=MONITOR_BORROW_SECONDS,
        check=check_pooled_connection,
    )


@dataclasses.dataclass(slots=True)
class _Previous:
    """What the next poll's deltas are computed against."""

    monotonic: float | None = None
    statements: StatementPoll | None = None
    database: tuple[float, DatabaseCounters] | None = None
    postmaster_start: float | None = None
    tables: dict[tuple[str, str], TableScans] = dataclasses.field(default_factory=dict)
    operation_calls: dict[str, int] = dataclasses.field(default_factory=dict)
    caches: dict[str, CacheStats] = dataclasses.field(default_factory=dict)
    wall: float = 0.0
    recorded: int | None = None
    """The telemetry's ``total_statements`` when ``operations`` were ranked."""
    operations: list[OperationRow] = dataclasses.field(default_factory=list)


class Monitor:
    """Polls one PostgreSQL server and this process, one snapshot per call.

    Args:
        db: an open pool made with :func:`open_monitor_database`, or None to
            open one on ``conninfo``. The monitor owns it and replaces it
            after a lost connection.
        settings: interval (clamped like :attr:`interval`) and slow-query
            thresholds.
        conninfo: the server to watch when ``db`` is None.
        telemetry: the application's query telemetry to report on.
        registry: the application's caches.
    """

    def __init__(
        self,
        db: Database | None,
        settings: Settings,
        *,
        conninfo: str | None = None,
        telemetry: Telemetry = TELEMETRY,
        registry: CacheRegistry = REGISTRY,
        sampler: ProcessSampler | None = None,
        locality_probe: Callable[
            [str | None, int | None], ServerLocality
        ] = memory_mod.judge_locality,
    ) -> None:
        if db is None and conninfo is None:
            raise ValueError("pass an open Database or a conninfo")
        self.settings = settings
        self._db = db
        self._conninfo = conninfo if conninfo is not None else db.conninfo  # type: ignore[union-attr]
        self._server_text = redact(self._conninfo)
        self.telemetry = telemetry
        self.registry = registry
        self.sampler = sampler or ProcessSampler()
        self.allocation_sites = memory_mod.AllocationSites()
        """tracemalloc's top sites, read on every poll unless the owner limits it."""
        self._locality_probe = locality_probe
        self._interval = MIN_INTERVAL
        self.interval = settings.poll_interval
        self.warning_seconds = settings.slow_warning_seconds
        self.error_seconds = settings.slow_error_seconds
        self.paused = False
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._sequence = 0
        self._previous = _Previous()
        self._reader: StatementReader | None = None
        self._capabilities: MonitorCapabilities | None = None
        self._capabilities_at = 0.0
        self._untracked_pids: set[int] = set()
        self.tracking_disabled: bool | None = None
        """Whether ``SET pg_stat_statements.track = none`` succeeded."""
        self._own_pids: set[int] = set()
        self._ingest_present: bool | None = None
        self._slow_at = 0.0
        self._slow_cache: tuple[
            list[IndexHint], IngestHealth | None, list[PanelProblem]
        ] = ([], None, [])
        """The slow collectors' last results, problems included, which every
        poll between two reads reports again."""
        self._trend = MemoryTrend(
            step_seconds=memory_mod.TREND_STEP_SECONDS,
            judge_after=memory_mod.warmup_end(),
        )
        self._operation_quantiles: QuantileCache = {}
        self._idle_samples: dict[int, tuple[float, memory_mod.ProcessMemory]] = {}
        """The last psutil sample of each idle server process, by pid, with
        its ``time.monotonic()``."""
        self._disconnected_since: float | None = None
        self._failures = 0
        self._next_attempt = 0.0
        self._last_error: str | None = None
        self._locality: ServerLocality | None = None
        self._backend_cpu: tuple[int, float] | None = None

    # -- settings and subscribers -----------------------------------------

    @property
    def interval(self) -> float:
        """Seconds between polls, clamped to MIN_INTERVAL..MAX_INTERVAL."""
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._interval = min(max(seconds, MIN_INTERVAL), MAX_INTERVAL)

    def next_delay(self) -> float:
        """Return the seconds to wait before the next poll (backoff when down)."""
        if self._disconnected_since is None:
            return self._interval
        return max(self._next_attempt - time.monotonic(), MIN_INTERVAL)

    @property
    def connected(self) -> bool:
        return self._disconnected_since is None and self._db is not None

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every snapshot, in the polling thread.

        Returns a function that removes the subscription.
        """
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def close(self) -> None:
        """Close the pool and drop every subscriber, so none is called later.

        A poll that waits on a server that stopped responding gets a
        connection error, instead of keeping its thread until the server
        responds.
        """
        with self._lock:
            self._subscribers.clear()
        if self._db is not None:
            self._db.abort()
            self._db = None
        self.sampler.close()

    # -- polling ------------------------------------------------------------

    def poll(self) -> Snapshot:
        """Read every collector once and return the snapshot (never raises
        for a lost server: the snapshot says disconnected instead)."""
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        started = time.perf_counter()
        cpu_started = time.thread_time()
        try:
            db = self._ensure_connected()
            snapshot = self._collect(db, sequence, started, cpu_started)
        except (Disconnected, EvedmvError, psycopg.Error) as exc:
            # Any other failure also drops the pool: reconnecting re-reads
            # the server's capabilities, which is what most failures need.
            snapshot = self._lost(exc, sequence, started, cpu_started)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(snapshot)
            except Exception:
                log.exception("monitor subscriber %r failed", subscriber)
        return snapshot

    def retry_now(self) -> None:
        """Let the next poll connect at once instead of after the backoff.

        The app calls it when its own connection to the server is back.
        """
        self._next_attempt = 0.0

    def _ensure_connected(self) -> Database:
        if self._db is not None:
            return self._db
        if time.monotonic() < self._next_attempt:
            raise Disconnected(self._last_error or "waiting to reconnect")
        log.info("monitor connecting to %s", redact(self._conninfo))
        self._db = open_monitor_database(self._conninfo)
        return self._db

    def _lost(
        self, exc: BaseException, sequence: int, started: float, cpu_started: float
    ) -> Snapshot:
        if isinstance(exc, psycopg.Error) and _is_connection_error(exc):
            # A failed reconnect: libpq's message names the socket and runs
            # past the width of a status line.
            message = f"cannot connect ({connect_reason(exc)})"
        else:
            message = _error_text(exc)
        if self._db is not None:
            log.warning("monitor lost %s: %s", redact(self._conninfo), message)
            with contextlib.suppress(Exception):
                self._db.close()
            self._db = None
        if not isinstance(exc, Disconnected) or self._disconnected_since is None:
            self._failures += 1
            delay = min(2.0 ** (self._failures - 1), MAX_BACKOFF)
            self._next_attempt = time.monotonic() + delay
            log.debug("monitor reconnects in %.1f s", delay)
        if self._disconnected_since is None:
            self._disconnected_since = time.time()
        self._last_error = message
        self._capabilities = None
        self._reader = None
        self._untracked_pids.clear()
        self._own_pids.clear()
        self._ingest_present = None
        # The server may come back on another host (a fail-over, a moved
        # container), so the next connection decides again whether it is local.
        self._locality = None
        self._backend_cpu = None
        memory = self._memory(None, [])
        since = self._disconnected_since
        alerts = [
            Alert(
                Severity.ERROR,
                "connection",
                f"disconnected since {_clock_text(since)}: {message}",
                "connection",
            )
        ]
        at = time.time()
        return Snapshot(
            sequence=sequence,
            at=at,
            elapsed=None,
            interval=self._interval,
            connected=False,
            disconnected_since=since,
            error=message,
            server=self._server_text,
            capabilities=None,
            problems=[],
            notes=[],
            statements=[],
            statements_trusted=False,
            statements_reason="disconnected",
            activity=None,
            database=None,
            index_hints=[],
            operations=[],
            slow_app_queries=[],
            memory=memory,
            caches=[],
            ingest=None,
            alerts=alerts,
            samples=memory_samples(memory, at, 0.0),
            cost=PollCost(
                time.perf_counter() - started,
                time.thread_time() - cpu_started,
                None,
                0,
            ),
        )

    @contextlib.contextmanager
    def _connection(self, db: Database) -> Iterator[Connection]:
        _POLL_BORROW.quick = True
        try:
            with db.connection() as conn:
                _POLL_BORROW.quick = False
                yield conn
        except psycopg.OperationalError as exc:
            raise Disconnected(_lost_text(exc)) from exc
        finally:
            _POLL_BORROW.quick = False

    def _collect(
        self, db: Database, sequence: int, started: float, cpu_started: float
    ) -> Snapshot:
        queries_before = db.telemetry.total_statements
        problems: list[PanelProblem] = []
        notes: list[PanelProblem] = []
        with self._connection(db) as conn:
            self._disable_tracking(db, conn)
            reader = self._incremental_reader(conn)
            changes_query = reader.changes_query if reader is not None else None
            clock, backend_rows, change_rows = self._guard(
                conn, lambda: _read_poll_start(db, conn, changes_query)
            )
            changes = None
            if reader is not None and change_rows is not None:
                changes = _ReadChanges(reader, change_rows, time.monotonic())
            backend_pid, _, postmaster_start = clock[:3]
            counters = DatabaseCounters(*clock[3:]) if clock[4] is not None else None
            counters_at = time.monotonic()
            self._own_pids.add(int(backend_pid))
            restarted = (
                self._previous.postmaster_start is not None
                and postmaster_start != self._previous.postmaster_start
            )
            self._previous.postmaster_start = postmaster_start
            if self._disconnected_since is not None:
                log.info("monitor reconnected to %s", redact(self._conninfo))
                self._disconnected_since = None
                self._failures = 0
            caps = self._refresh_capabilities(db, conn, force=restarted)
            if restarted:
                # The pool reconnects to a restarted server without a failed
                # poll, so judge the server's locality again here too.
                self._locality = None
            now = time.monotonic()
            elapsed = (
                None
                if self._previous.monotonic is None
                else now - self._previous.monotonic
            )
            statements, interval, problem = self._statements(
                db, conn, caps, postmaster_start, changes
            )
            statements_problem = problem
            if problem is not None:
                problems.append(problem)
            notes.extend(caps.privilege_notes())
            backends, activity, problem = self._activity(db, conn, backend_rows)
            if problem is not None:
                problems.append(problem)
            if activity is not None:
                hidden = activity_mod.hidden_sessions_note(
                    activity.hidden, caps.role_name
                )
                if hidden is not None:
                    notes.append(hidden)
            rates = self._database(counters, counters_at, restarted)
            server_time = clock[1]
            if (
                rates is not None
                and postmaster_start is not None
                and server_time - postmaster_start < CACHE_WARMUP_SECONDS
            ):
                rates = dataclasses.replace(rates, warming_up=True)
            hints, ingest, slow_problems = self._slow_collectors(db, conn, backends)
            problems.extend(slow_problems)
        locality = self._server_locality(caps, int(backend_pid))
        if not locality.local:
            notes.append(
                PanelProblem("memory", locality.reason or "", "-", Severity.OK)
            )
        memory = self._memory(locality, backends)
        # Read the clock before the history: a statement that finishes during
        # the scan may then be listed twice, but never missed.
        wall = time.time()
        operations, slow = self._app_side()
        self._previous.wall = wall
        caches = cache_rows(self.registry, self._previous.caches)
        self._previous.caches = {row.stats.name: row.stats for row in caches}
        self._previous.monotonic = now
        cost = PollCost(
            time.perf_counter() - started,
            time.thread_time() - cpu_started,
            self._backend_cost(locality, int(backend_pid)),
            db.telemetry.total_statements - queries_before,
        )
        snapshot = Snapshot(
            sequence=sequence,
            at=wall,
            elapsed=elapsed,
            interval=self._interval,
            connected=True,
            disconnected_since=None,
            error=None,
            server=self._server_text,
            capabilities=caps,
            problems=problems,
            notes=notes,
            statements=statements,
            statements_trusted=interval.trusted if interval is not None else False,
            statements_reason=_interval_reason(interval, statements_problem),
            activity=activity,
            database=rates,
            index_hints=hints,
            operations=operations,
            slow_app_queries=slow,
            memory=memory,
            caches=caches,
            ingest=ingest,
            alerts=[],
            samples=[],
            cost=cost,
        )
        # Fill the alert and sample lists in place before any subscriber gets
        # the snapshot, which costs less than copying it with replace().
        snapshot.alerts.extend(build_alerts(snapshot))
        snapshot.samples.extend(build_samples(snapshot, elapsed or 0.0))
        return snapshot

    def _guard(self, conn: Connection, read: Callable[[], Any]) -> Any:
        """Run one collector query; a broken connection becomes Disconnected."""
        try:
            return read()
        except psycopg.Error as exc:
            lost = conn.broken or conn.closed
            if lost or _is_connection_error(exc):
                raise Disconnected(_lost_text(exc)) from exc
            raise

    def _capabilities_due(self) -> bool:
        """Tell whether this poll reads the server's capabilities again."""
        caps = self._capabilities
        stale = time.monotonic() - self._capabilities_at > CAPABILITY_RECHECK_SECONDS
        # While the statements panel is blocked, look every poll, so a fix
        # (CREATE EXTENSION, say) shows at once.
        blocked = caps is not None and caps.statements_problem() is not None
        return caps is None or stale or blocked

    def _incremental_reader(self, conn: Connection) -> StatementReader | None:
        """Return the reader whose changes query can join the poll's first query.

        That is the current reader when the capabilities stay as they are in
        this poll and the session's temporary table contains the last poll's
        counters. Otherwise None, and the statements are read on their own.
        """
        reader = self._reader
        if reader is None or self._capabilities_due():
            return None
        if not reader.tracks_session(conn.info.backend_pid):
            return None
        return reader

    def _refresh_capabilities(
        self, db: Database, conn: Connection, *, force: bool = False
    ) -> MonitorCapabilities:
        if self._capabilities_due() or force:
            caps = self._guard(conn, lambda: read_capabilities(db, conn))
            if caps != self._capabilities:
                log.info(
                    "monitor: PostgreSQL %s, pg_stat_statements %s",
                    caps.server_version,
                    caps.pgss_version or "absent",
                )
                self._reader = None
            self._capabilities = caps
            self._capabilities_at = time.monotonic()
        assert self._capabilities is not None
        return self._capabilities

    def _disable_tracking(self, db: Database, conn: Connection) -> None:
        """Stop ``pg_stat_statements`` recording this connection, once per backend.

        Runs before any other query on a pooled connection, by a poll or an
        EXPLAIN; the SET itself is still recorded, and its text carries the
        monitor marker.
        """
        pid = conn.info.backend_pid
        if pid in self._untracked_pids:
            return
        self._untracked_pids.add(pid)
        try:
            db.execute(load_sql("evedmv_tui.monitor", "disable_tracking"), conn=conn)
            self.tracking_disabled = True
        except psycopg.Error as exc:
            if conn.broken:
                raise Disconnected(_lost_text(exc)) from exc
            self.tracking_disabled = False
            log.debug("cannot SET pg_stat_statements.track: %s", _error_text(exc))

    # -- collectors ---------------------------------------------------------

    def _statements(
        self,
        db: Database,
        conn: Connection,
        caps: MonitorCapabilities,
        postmaster_start: float | None,
        changes: _ReadChanges | None = None,
    ) -> tuple[list[StatementView], StatementInterval | None, PanelProblem | None]:
        """Read and rank the statements, from ``changes`` when already read."""
        problem = caps.statements_problem()
        if problem is not None:
            self._previous.statements = None
            return [], None, problem
        version = caps.pgss_version_tuple
        assert version is not None and caps.pgss_schema is not None
        if self._reader is None:
            self._reader = StatementReader(caps.pgss_schema, version)
        reader = self._reader
        if changes is not None and changes.reader is not reader:
            # The capabilities changed after the first query, which dropped
            # that query's reader and its sessions with it.
            changes = None
        rows = changes.rows if changes is not None else None
        try:
            statements, info = self._guard(
                conn, lambda: reader.read_set(db, conn, rows)
            )
            read_at = time.monotonic() if changes is None else changes.read_at
        except psycopg.Error as exc:
            # Dropped or broken extension: re-check what the server has now.
            self._capabilities = None
            self._reader = None
            self._previous.statements = None
            fresh = self._refresh_capabilities(db, conn, force=True)
            return (
                [],
                None,
                fresh.statements_problem()
                or PanelProblem(
                    "statements",
                    f"reading pg_stat_statements failed: {_error_text(exc)}",
                    f"GRANT EXECUTE ON FUNCTION {caps.pgss_schema}.pg_stat_statements"
                    f"(boolean) TO {caps.role_name};",
                ),
            )
        previous = self._previous.statements
        current = StatementPoll(
            read_at,
            statements,
            info[0] if info else None,
            info[1] if info else None,
            postmaster_start,
        )
        self._previous.statements = current
        if previous is None:
            # Nothing to show yet, so no text is fetched. The next poll loads
            # the texts of the entries listed now in one query, and later
            # polls load those of new entries.
            return [], None, None
        interval = statement_deltas(
            previous,
            current,
            include_unchanged=False,
            changed=reader.changed_keys(previous.statements),
        )
        # A trusted entry without calls in the interval is not shown, so only
        # the others need a text. These loops run for every changed entry of
        # every poll, so they unpack the tuples instead of reading properties,
        # and build each view without the named tuple's Python-level __new__.
        trusted = interval.trusted
        visible: list[tuple[StatementDelta, tuple[int, int, int] | None]] = []
        text_keys = set()
        for delta in interval.deltas:
            key, change = delta[0], delta[1]
            if trusted and change is not None and change[0] <= 0:
                continue
            # A key's first three fields are its text key.
            text_key = None if key is None else key[:3]
            if text_key is not None:
                text_keys.add(text_key)
            visible.append((delta, text_key))
        texts = self._guard(
            conn,
            lambda: reader.fetch_texts(
                db, conn, text_keys, known=current.statements.entries
            ),
        )
        find_text = texts.get
        warning_seconds = self.warning_seconds
        error_seconds = self.error_seconds
        new_view = tuple.__new__
        views: list[StatementView] = []
        for delta, text_key in visible:
            text: str | None = None
            statement_fingerprint: str | None = None
            if text_key is None:
                text = HIDDEN_LABEL
            else:
                found = find_text(text_key)
                if found is not None:
                    if found.own:
                        continue
                    text, statement_fingerprint = found.text, found.fingerprint
            change = delta[1]
            severity = Severity.OK
            if change is not None and change[0] > 0:
                # classify_seconds, inline.
                seconds = change[1] / change[0] / 1000
                if seconds > error_seconds:
                    severity = Severity.ERROR
                elif seconds > warning_seconds:
                    severity = Severity.WARNING
            views.append(
                new_view(StatementView, (delta, text, statement_fingerprint, severity))
            )
        if not interval.trusted:
            views.sort(key=lambda v: v.sort_value("total"), reverse=True)
            views = views[:200]
        return views, interval, None

    def _activity(
        self,
        db: Database,
        conn: Connection,
        rows: list[tuple[Any, ...]] | None = None,
    ) -> tuple[
        list[activity_mod.Backend],
        activity_mod.ActivitySummary | None,
        PanelProblem | None,
    ]:
        """Summarise ``pg_stat_activity`` from ``rows``, or read it when None."""
        try:
            if rows is None:
                backends = self._guard(
                    conn, lambda: activity_mod.read_backends(db, conn)
                )
            else:
                backends = [activity_mod.Backend._make(row) for row in rows]
        except psycopg.Error as exc:
            return (
                [],
                None,
                PanelProblem(
                    "activity",
                    f"reading pg_stat_activity failed: {_error_text(exc)}",
                    f"GRANT pg_read_all_stats TO {self._role_name()};",
                ),
            )
        summary = activity_mod.summarize_activity(
            backends,
            exclude_pids=self._own_pids,
            monitor_application=MONITOR_APPLICATION_NAME,
            warning_seconds=self.warning_seconds,
            error_seconds=self.error_seconds,
            app_application=APPLICATION_NAME,
        )
        return backends, summary, None

    def _database(
        self, counters: DatabaseCounters | None, now: float, restarted: bool
    ) -> DatabaseRates | None:
        """Turn the counters that ``poll_clock`` read at ``now`` into rates."""
        if counters is None:
            return None
        previous = self._previous.database
        self._previous.database = (now, counters)
        if previous is None:
            return database_rates(None, counters, 0.0)
        return database_rates(
            previous[1], counters, now - previous[0], restarted=restarted
        )

    def _slow_collectors(
        self, db: Database, conn: Connection, backends: list[activity_mod.Backend]
    ) -> tuple[list[IndexHint], IngestHealth | None, list[PanelProblem]]:
        if time.monotonic() - self._slow_at < SLOW_COLLECTOR_SECONDS:
            cached_hints, cached_ingest, cached_problems = self._slow_cache
            return cached_hints, cached_ingest, list(cached_problems)
        problems: list[PanelProblem] = []
        self._slow_at = time.monotonic()
        hints: list[IndexHint] = []
        try:
            tables = self._guard(
                conn, lambda: _lock_limited(db, conn, lambda: read_tables(db, conn))
            )
            hints = index_hints(tables, self._previous.tables)
            self._previous.tables = {(t.schema_name, t.table_name): t for t in tables}
        except psycopg.Error as exc:
            problems.append(
                self._app_read_problem(
                    db,
                    conn,
                    backends,
                    exc,
                    ("tables", "reading pg_stat_user_tables", None),
                    "check the role's privileges",
                )
            )
        ingest = None
        try:
            if self._ingest_present is None:
                self._ingest_present = self._guard(
                    conn, lambda: has_ingest_tables(db, conn)
                )
            if self._ingest_present:
                ingest = self._guard(
                    conn,
                    lambda: _lock_limited(db, conn, lambda: read_ingest(db, conn)),
                )
            else:
                problems.append(
                    PanelProblem(
                        "ingest",
                        "this database has no evedmv schema",
                        CREATOR_FIX,
                        Severity.OK,
                    )
                )
        except psycopg.Error as exc:
            self._ingest_present = None
            problems.append(
                self._app_read_problem(
                    db,
                    conn,
                    backends,
                    exc,
                    ("ingest", "reading ingest tables", INGEST_TABLES),
                    f"GRANT SELECT ON {', '.join(INGEST_TABLES)}"
                    f" TO {self._role_name()};",
                )
            )
        self._slow_cache = (hints, ingest, list(problems))
        return hints, ingest, problems

    def _app_read_problem(
        self,
        db: Database,
        conn: Connection,
        backends: list[activity_mod.Backend],
        exc: psycopg.Error,
        read: tuple[str, str, tuple[str, ...] | None],
        privilege_fix: str,
    ) -> PanelProblem:
        """Build the panel problem of a failed read of application tables.

        ``read`` is the panel, the read's description and the tables whose
        locks can block it (None for any table). A lock timeout names the
        sessions that hold or wait for an ACCESS EXCLUSIVE lock on them,
        with their role and application when the poll's ``backends`` list
        them. Only a permission error (SQLSTATE 42501) gets
        ``privilege_fix``.
        """
        panel, description, tables = read
        retry = f"the monitor reads again in {SLOW_COLLECTOR_SECONDS:.0f} s"
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            holders = self._lock_holders(db, conn, tables)
            known = {b.pid: b for b in backends}
            named = [
                f"pid {pid} ({known[pid].identity})" if pid in known else f"pid {pid}"
                for pid in holders
            ]
            case = (
                f"{description} was blocked by a lock"
                f" (gave up after lock_timeout {LOCK_TIMEOUT_MS} ms)"
            )
            if not named:
                return PanelProblem(
                    panel,
                    case,
                    "find the session that holds an ACCESS EXCLUSIVE lock in"
                    f" pg_locks and end its transaction; {retry}",
                )
            pids = ", ".join(str(pid) for pid in holders)
            return PanelProblem(
                panel,
                f"{case} of {', '.join(named)}",
                f"end the transaction of pid {pids} (commit, roll back, or"
                f" cancel it on the Activity tab); {retry}",
            )
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return PanelProblem(
                panel, f"{description} failed: {_error_text(exc)}", privilege_fix
            )
        return PanelProblem(
            panel,
            f"{description} failed: {_error_text(exc)}",
            f"see the server log for the error; {retry}",
        )

    def _lock_holders(
        self, db: Database, conn: Connection, tables: tuple[str, ...] | None
    ) -> list[int]:
        """Return the pids that hold or wait for ACCESS EXCLUSIVE on ``tables``."""
        try:
            rows = self._guard(
                conn,
                lambda: db.fetch_all(
                    load_sql("evedmv_tui.monitor", "lock_holders"),
                    {"tables": None if tables is None else list(tables)},
                    conn=conn,
                ),
            )
        except psycopg.Error as exc:
            log.debug("monitor: reading pg_locks failed: %s", _error_text(exc))
            return []
        return [int(row[0]) for row in rows]

    def _app_side(self) -> tuple[list[OperationRow], list[SlowAppQuery]]:
        """Rank the application's operations and list its new slow statements.

        When the application recorded no statement since the last poll, no
        operation has calls in the interval and no statement finished since,
        so the last poll's rows are reused without copying the telemetry,
        unless one of them is flagged and may have aged out of the window.
        """
        recorded = self.telemetry.total_statements
        previous = self._previous
        # NOTE: Telemetry.clear() followed by exactly as many statements as
        # before within one interval would look idle here. Only tests clear
        # the telemetry.
        # A flagged row can age out of the severity window without new
        # statements, so rows are reused only while none is flagged.
        if recorded == previous.recorded and all(
            row.severity is Severity.OK for row in previous.operations
        ):
            if any(row.interval_calls != 0 for row in previous.operations):
                previous.operations = [
                    dataclasses.replace(row, interval_calls=0)
                    for row in previous.operations
                ]
            return previous.operations, []
        operations = operation_rows(
            self.telemetry.operations(),
            previous.operation_calls,
            warning_seconds=self.warning_seconds,
            error_seconds=self.error_seconds,
            quantiles=self._operation_quantiles,
        )
        previous.operation_calls = {r.operation: r.calls for r in operations}
        previous.operations = operations
        previous.recorded = recorded
        slow = slow_app_queries(
            self.telemetry,
            previous.wall,
            warning_seconds=self.warning_seconds,
            error_seconds=self.error_seconds,
        )
        return operations, slow

    def _server_locality(
        self, caps: MonitorCapabilities, backend_pid: int
    ) -> ServerLocality:
        if self._locality is None:
            self._locality = self._locality_probe(caps.server_address, backend_pid)
        return self._locality

    def _memory(
        self, locality: ServerLocality | None, backends: list[activity_mod.Backend]
    ) -> MemoryView:
        now = time.monotonic()
        app = self.sampler.sample(
            memory_mod.own_pid(),
            "app",
            with_uss=True,
            now=now,
            cpu_seconds=time.process_time(),
        )
        if app.rss is not None:
            self._trend.add(now, app.rss)
        server: list[memory_mod.ProcessMemory] = []
        reason = None
        if locality is None:
            reason = "not connected"
        elif not locality.local:
            reason = locality.reason
        else:
            pids = set()
            idle_samples = self._idle_samples
            self._idle_samples = {}
            for backend in backends:
                if backend.pid in self._own_pids:
                    continue
                pids.add(backend.pid)
                # pg_stat_activity hides the type of other roles' processes
                # from a role without pg_read_all_stats.
                role = (
                    backend.backend_type
                    or self.sampler.title_backend_type(backend.pid)
                    or "backend"
                )
                last = None if backend.running else idle_samples.get(backend.pid)
                if last is not None and now - last[0] < IDLE_BACKEND_MAX_AGE_SECONDS:
                    sample = last[1]
                else:
                    sample = self.sampler.sample(backend.pid, role, now=now)
                    last = (now, sample)
                if not backend.running and sample.error is None:
                    self._idle_samples[backend.pid] = last
                server.append(sample)
            self.sampler.prune(pids | self._own_pids | {memory_mod.own_pid()})
        return MemoryView(
            app,
            self._trend.trend(),
            server,
            reason,
            memory_mod.gc_stats(),
            self.allocation_sites.read(now),
        )

    def _backend_cost(self, locality: ServerLocality, pid: int) -> float | None:
        if not locality.local:
            return None
        cpu_seconds = self.sampler.cpu_time(pid)
        if cpu_seconds is None:
            return None
        before = self._backend_cpu
        self._backend_cpu = (pid, cpu_seconds)
        if before is None or before[0] != pid:
            return None
        return max(cpu_seconds - before[1], 0.0)

    # -- actions ------------------------------------------------------------

    def _role_name(self) -> str:
        caps = self._capabilities
        return caps.role_name if caps is not None else "<role>"

    def _require_db(self) -> Database:
        if self._db is None:
            raise EvedmvError(
                "not connected",
                "the monitor has no connection to the server now",
                "wait for it to reconnect",
            )
        return self._db

    def explain_app_query(
        self,
        record: Any,
        *,
        analyze: bool = False,
        stopper: explain_mod.ExplainStopper | None = None,
    ) -> explain_mod.ExplainResult:
        db = self._require_db()
        return explain_mod.explain_app_query(
            db,
            record,
            analyze=analyze,
            prepare_connection=lambda conn: self._disable_tracking(db, conn),
            stopper=stopper,
        )

    def explain_statement(
        self,
        query_text: str,
        *,
        analyze: bool = False,
        stopper: explain_mod.ExplainStopper | None = None,
    ) -> explain_mod.ExplainResult:
        caps = self._capabilities
        version = caps.server_version_num if caps is not None else 0
        db = self._require_db()
        return explain_mod.explain_statement(
            db,
            query_text,
            version,
            analyze=analyze,
            prepare_connection=lambda conn: self._disable_tracking(db, conn),
            stopper=stopper,
        )

    def cancel_backend(self, backend: activity_mod.Backend) -> bool:
        return activity_mod.cancel_backend(self._require_db(), backend)

    def terminate_backend(self, backend: activity_mod.Backend) -> bool:
        return activity_mod.terminate_backend(self._require_db(), backend)


@dataclasses.dataclass(frozen=True, slots=True)
class _ReadChanges:
    """Rows of a reader's changes query that the poll's first query returned."""

    reader: StatementReader
    rows: list[tuple[Any, ...]]
    read_at: float
    """``time.monotonic()`` when the rows arrived."""


@functools.lru_cache(maxsize=8)
def _poll_start_sql(changes: NamedSql | None = None) -> NamedSql:
    """Join ``poll_clock``, ``changes`` when given, and ``activity`` in one text."""
    parts = [load_sql("evedmv_tui.monitor", "poll_clock").text]
    if changes is not None:
        parts.append(changes.text)
    parts.append(load_sql("evedmv_tui.monitor", "activity").text)
    return NamedSql(
        "monitor.poll_start", ";\n".join(part.rstrip().rstrip(";") for part in parts)
    )


def _read_poll_start(
    db: Database, conn: Connection, changes: NamedSql | None = None
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]] | None, list[tuple[Any, ...]] | None]:
    """Read ``poll_clock``, the statements' changes and activity in one round trip.

    The statements go in one simple-protocol query, so the client waits and
    processes results once instead of once per statement. It returns
    ``poll_clock``'s row, then the activity rows and the rows of ``changes``
    (None when not given). When that query fails on a working connection
    (``pg_stat_activity`` unreadable, the extension dropped), the server
    rolls all of it back and ``poll_clock`` runs alone. The other two are
    then None, so their collectors read them again later in the poll and
    report their own errors.
    """
    query = _poll_start_sql(changes)
    rows: list[tuple[Any, ...]] | None
    change_rows: list[tuple[Any, ...]] | None = None
    try:
        with conn.cursor() as cur, db.timed(query.name, query.text) as box:
            # Without parameters psycopg sends the text as a simple query,
            # which may contain several statements.
            cur.execute(query.text)
            clock = cur.fetchone()
            if changes is not None:
                _next_result(cur)
                change_rows = cur.fetchall()
            _next_result(cur)
            rows = cur.fetchall()
            box[0] = len(rows) + len(change_rows or ()) + 1
    except psycopg.Error as exc:
        if conn.broken or conn.closed:
            raise
        log.debug(
            "monitor: reading the poll's first statements in one query failed: %s",
            _error_text(exc),
        )
        clock = db.fetch_one(load_sql("evedmv_tui.monitor", "poll_clock"), conn=conn)
        rows = change_rows = None
    if clock is None:
        raise psycopg.ProgrammingError("poll_clock returned no row")
    return clock, rows, change_rows


def _lock_limited(db: Database, conn: Connection, read: Callable[[], Any]) -> Any:
    """Run ``read`` in a read-only transaction with a short ``lock_timeout``.

    The transaction is always rolled back. Its statements carry the monitor
    marker, unlike those of ``conn.transaction()``, so ``pg_stat_statements``
    never lists them. ``conn`` must be in autocommit mode, as every pooled
    connection is.
    """
    db.execute(
        NamedSql(
            "monitor.lock_limited",
            f"{MONITOR_MARKER} BEGIN TRANSACTION READ ONLY;\n"
            f"{MONITOR_MARKER} SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}",
        ),
        conn=conn,
    )
    try:
        return read()
    finally:
        if not (conn.closed or conn.broken):
            # A failed ROLLBACK leaves the connection broken or in a
            # transaction, and the pool discards or rolls back such a
            # connection when it is returned.
            with contextlib.suppress(psycopg.Error):
                db.execute(f"{MONITOR_MARKER} ROLLBACK", conn=conn)


def _next_result(cur: psycopg.Cursor[Any]) -> None:
    if not cur.nextset():
        raise psycopg.ProgrammingError(
            "the poll's first query returned too few results"
        )


def _clock_text(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def _interval_reason(
    interval: StatementInterval | None, problem: PanelProblem | None
) -> str | None:
    """Return why the statement rates cannot be trusted, or None.

    A statements panel with a problem has no interval on any poll, so its
    problem is the reason rather than a first poll.
    """
    if problem is not None:
        return problem.case
    if interval is None:
        return "first poll: rates appear after the next one"
    return interval.reason


def _is_connection_error(exc: psycopg.Error) -> bool:
    if not isinstance(exc, psycopg.OperationalError):
        return False
    sqlstate = getattr(exc, "sqlstate", None)
    # 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown,
    # cannot connect now.
    return (
        sqlstate is None
        or sqlstate.startswith("08")
        or sqlstate in {"57P01", "57P02", "57P03"}
    )


def _lost_text(exc: BaseException) -> str:
    """Return the reason the connection to the server was lost, in a few words."""
    return f"connection lost ({connect_reason(exc)})"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, EvedmvError):
        return exc.message
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__

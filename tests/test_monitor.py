"""The monitor against the real PostgreSQL: deltas, slow statements, missing
privileges and extensions, resets, restarts, activity and EXPLAIN."""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from evedmv_tui.cache import CacheRegistry, LRUCache
from evedmv_tui.config import Settings
from evedmv_tui.monitor import ingest as ingest_mod
from evedmv_tui.monitor import poller
from evedmv_tui.monitor.explain import (
    ExplainError,
    ExplainStopped,
    ExplainStopper,
    check_analyzable,
    explain_app_query,
    explain_statement,
    first_keyword,
    plan_lines,
)
from evedmv_tui.monitor.findings import MIN_CACHE_LOOKUPS
from evedmv_tui.monitor.memory import ProcessSampler, ServerLocality
from evedmv_tui.monitor.poller import Monitor, open_monitor_database
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Snapshot, StatementView
from evedmv_tui.monitor.statements import (
    HIDDEN_LABEL,
    MONITOR_MARKER,
    StatementReader,
    build_statement_set,
)
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from evedmv_tui.store.db import Database, NamedSql, load_sql
from evedmv_tui.store.telemetry import QueryRecord, Telemetry, operation
from evedmv_tui.widgets import perf_rows


def make_monitor(
    url: str,
    settings: Settings,
    *,
    telemetry: Telemetry | None = None,
    registry: CacheRegistry | None = None,
) -> Monitor:
    return Monitor(
        None,
        settings,
        conninfo=url,
        telemetry=telemetry or Telemetry(),
        registry=registry or CacheRegistry(),
    )


@pytest.fixture
def monitor(db_url: str, settings: Settings) -> Iterator[Monitor]:
    watcher = make_monitor(db_url, settings)
    try:
        yield watcher
    finally:
        watcher.close()


def matching(snapshot: Snapshot, needle: str) -> list[StatementView]:
    return [v for v in snapshot.statements if v.query and needle in v.query]


def run(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def test_known_workload_gives_interval_deltas(db_url: str, monitor: Monitor) -> None:
    table = f"delta_{uuid.uuid4().hex[:8]}"
    run(db_url, f"CREATE TABLE {table} AS SELECT g AS v FROM generate_series(1, 50) g")
    first = monitor.poll()
    with psycopg.connect(db_url, autocommit=True) as conn:
        for value in range(7):
            conn.execute(f"SELECT v FROM {table} WHERE v <= %s", (value + 1,))
    second = monitor.poll()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"SELECT v FROM {table} WHERE v <= %s", (10,))
    third = monitor.poll()

    assert first.statements == []
    assert first.statements_reason is not None
    assert second.statements_trusted is True
    (view,) = matching(second, f"FROM {table} WHERE")
    assert view.delta.calls == 7
    assert view.delta.rows == sum(range(1, 8))
    assert view.delta.calls_per_s is not None and view.delta.calls_per_s > 0
    assert view.fingerprint is not None
    (later,) = matching(third, f"FROM {table} WHERE")
    assert later.delta.calls == 1
    assert later.delta.rows == 10
    keys = [s.key for s in third.samples]
    assert f"statement:{later.fingerprint}:mean_ms" in keys
    assert f"statement:{later.fingerprint}:calls_per_s" in keys
    assert "database:tps" in keys
    seven_calls = {s.key: s for s in second.samples}[
        f"statement:{view.fingerprint}:mean_ms"
    ]
    assert seven_calls.rows_per_call == sum(range(1, 8)) / 7
    one_call = {s.key: s for s in third.samples}[
        f"statement:{later.fingerprint}:mean_ms"
    ]
    assert one_call.rows_per_call == 10.0


def test_slow_statements_flagged_warning_and_error(
    db: Database, db_url: str, settings: Settings
) -> None:
    watcher = make_monitor(db_url, settings, telemetry=db.telemetry)
    try:
        watcher.poll()
        with operation("slow-test"):
            db.execute("SELECT pg_sleep(1.2)")
            db.execute("SELECT 1 FROM pg_sleep(5.2)")
        snapshot = watcher.poll()
    finally:
        watcher.close()

    (warning,) = matching(snapshot, "SELECT pg_sleep(")
    (error,) = matching(snapshot, "FROM pg_sleep(")
    assert warning.severity == Severity.WARNING
    assert error.severity == Severity.ERROR
    slow = {s.record.sql: s.severity for s in snapshot.slow_app_queries}
    assert slow["SELECT pg_sleep(1.2)"] == Severity.WARNING
    assert slow["SELECT 1 FROM pg_sleep(5.2)"] == Severity.ERROR
    (row,) = [r for r in snapshot.operations if r.operation == "slow-test"]
    assert row.calls == 2
    assert row.severity == Severity.ERROR
    assert snapshot.severity == Severity.ERROR
    sources = {(a.source, a.severity) for a in snapshot.alerts}
    assert ("statements", Severity.ERROR) in sources
    assert ("statements", Severity.WARNING) in sources
    assert ("app", Severity.ERROR) in sources


def test_slow_query_across_previous_poll_listed(
    db_url: str, settings: Settings
) -> None:
    telemetry = Telemetry()
    watcher = make_monitor(db_url, settings, telemetry=telemetry)
    try:
        watcher.poll()
        time.sleep(0.05)
        # Sent 6 s ago, before the first poll, and finished after it.
        finished = time.time()
        telemetry.record(
            QueryRecord("import", "long", "SELECT long", None, finished - 6.0, 6.0, 1)
        )
        second = watcher.poll()
        third = watcher.poll()
    finally:
        watcher.close()
    assert [s.record.name for s in second.slow_app_queries] == ["long"]
    assert second.slow_app_queries[0].severity == Severity.ERROR
    assert ("app", Severity.ERROR) in {(a.source, a.severity) for a in second.alerts}
    assert third.slow_app_queries == []


def test_operation_sampled_only_when_it_ran(db_url: str, settings: Settings) -> None:
    telemetry = Telemetry()
    watcher = make_monitor(db_url, settings, telemetry=telemetry)
    key = "operation:app.connect:p95_ms"
    try:
        telemetry.record(
            QueryRecord("app.connect", "open", "SELECT 1", None, time.time(), 0.02, 1)
        )
        first = watcher.poll()
        idle = watcher.poll()
        telemetry.record(
            QueryRecord("app.connect", "open", "SELECT 1", None, time.time(), 0.02, 1)
        )
        again = watcher.poll()
    finally:
        watcher.close()
    # The first poll has no earlier count to tell whether the call is new.
    assert not any(s.key == key for s in first.samples)
    assert not any(s.key == key for s in idle.samples)
    (sample,) = [s for s in again.samples if s.key == key]
    assert sample.value == pytest.approx(20.0)
    assert sample.label == "app.connect p95"


def test_thresholds_are_configurable(db_url: str, settings: Settings) -> None:
    strict = Settings(
        dsn=db_url,
        data_dir=settings.data_dir,
        state_dir=settings.state_dir,
        slow_warning_seconds=0.05,
        slow_error_seconds=0.1,
    )
    watcher = make_monitor(db_url, strict)
    try:
        watcher.poll()
        run(db_url, "SELECT pg_sleep(0.2)")
        snapshot = watcher.poll()
    finally:
        watcher.close()
    (view,) = matching(snapshot, "SELECT pg_sleep(")
    assert view.severity == Severity.ERROR


def test_monitor_queries_absent_from_top_list(db_url: str, monitor: Monitor) -> None:
    for _ in range(3):
        snapshot = monitor.poll()
    assert monitor.tracking_disabled is True
    assert all(MONITOR_MARKER not in (v.query or "") for v in snapshot.statements)
    with psycopg.connect(db_url, autocommit=True) as conn:
        recorded = conn.execute(
            "SELECT query FROM pg_stat_statements WHERE query LIKE %s AND dbid ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())",
            (MONITOR_MARKER + "%",),
        ).fetchall()
    # Only the SET that stops the recording is recorded, once.
    assert recorded == [
        (load_sql("evedmv_tui.monitor", "disable_tracking").text.strip(),)
    ]
    assert snapshot.activity is not None
    assert all(
        r.backend.application_name != "evedmv-monitor"
        for r in snapshot.activity.running
    )
    assert snapshot.cost.queries > 0
    assert snapshot.cost.cpu_seconds >= 0


def test_reset_between_polls_marks_interval(db_url: str, monitor: Monitor) -> None:
    monitor.poll()
    run(db_url, "SELECT 'before reset'")
    trusted = monitor.poll()
    run(db_url, "SELECT pg_stat_statements_reset()", "SELECT 'after reset'")
    reset = monitor.poll()
    run(db_url, "SELECT 'after reset'")
    recovered = monitor.poll()

    assert trusted.statements_trusted is True
    assert reset.statements_trusted is False
    assert reset.statements_reason is not None
    assert "pg_stat_statements_reset()" in reset.statements_reason
    assert all(not v.delta.trusted for v in reset.statements)
    statement_samples = [s for s in reset.samples if s.key.startswith("statement:")]
    assert statement_samples
    assert all(s.trusted is False for s in statement_samples)
    assert recovered.statements_trusted is True


def test_role_without_read_all_stats(
    db_url: str, limited_role: str, settings: Settings
) -> None:
    watcher = make_monitor(limited_role, settings)
    blocker = psycopg.connect(db_url, autocommit=True)
    try:
        watcher.poll()
        run(db_url, "SELECT count(*) AS superuser_work FROM pg_class")
        run(limited_role, "SELECT 1 AS limited_work")
        blocker.execute("SELECT 1")
        snapshot = watcher.poll()
    finally:
        blocker.close()
        watcher.close()

    assert snapshot.capabilities is not None
    assert snapshot.capabilities.read_all_stats is False
    assert watcher.tracking_disabled is False
    hidden = [v for v in snapshot.statements if v.delta.key is None]
    assert len(hidden) == 1
    assert hidden[0].query == HIDDEN_LABEL
    assert hidden[0].fingerprint is None
    assert all(
        v.delta.key is None or v.queryid is not None for v in snapshot.statements
    )
    assert matching(snapshot, "AS limited_work")
    assert not matching(snapshot, "AS superuser_work")
    assert all(MONITOR_MARKER not in (v.query or "") for v in snapshot.statements)
    # The monitor's own activity read, recorded here because this role cannot
    # stop the recording, is recognised by its marker too.
    assert not matching(snapshot, "pg_blocking_pids")
    (note,) = [n for n in snapshot.notes if n.panel == "statements"]
    assert "GRANT pg_read_all_stats TO" in note.fix
    assert snapshot.problem("statements") is None


class TitleCountingSampler(ProcessSampler):
    """A sampler that counts, per pid, the requests for a title's type."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: collections.Counter[int] = collections.Counter()

    def title_backend_type(self, pid: int) -> str | None:
        self.asked[pid] += 1
        return super().title_backend_type(pid)


def backend_types(url: str) -> dict[int, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, coalesce(backend_type, '') FROM pg_stat_activity"
        ).fetchall()
    return {int(pid): str(kind) for pid, kind in rows}


def test_limited_role_sees_process_types(
    db_url: str, limited_role: str, settings: Settings
) -> None:
    """The server's own processes keep their type for a limited role.

    pg_stat_activity hides the backend_type of the checkpointer, the
    background writer and the other auxiliary processes, and of other roles'
    client backends, from a role without pg_read_all_stats. The memory view
    labelled them all "backend"; their process titles show the type.
    """
    sampler = TitleCountingSampler()
    watcher = Monitor(
        None,
        settings,
        conninfo=limited_role,
        telemetry=Telemetry(),
        registry=CacheRegistry(),
        sampler=sampler,
    )
    other = psycopg.connect(db_url, autocommit=True)
    other_pid = other.info.backend_pid
    try:
        watcher.poll()
        snapshot = watcher.poll()
        seen_by_limited = backend_types(limited_role)
        truth = backend_types(db_url)
    finally:
        other.close()
        watcher.close()

    assert snapshot.memory is not None
    assert snapshot.memory.backends_hidden_reason is None
    roles = {b.pid: b.role for b in snapshot.memory.backends}
    auxiliary = {
        "checkpointer",
        "background writer",
        "walwriter",
        "autovacuum launcher",
        "logical replication launcher",
    }
    assert auxiliary <= set(roles.values())
    assert roles[other_pid] == "client backend"
    wrong = {
        pid: (role, truth[pid])
        for pid, role in roles.items()
        if pid in truth and role != truth[pid]
    }
    assert wrong == {}
    hidden = {pid for pid, kind in seen_by_limited.items() if kind == ""}
    assert auxiliary <= {truth[pid] for pid in hidden if pid in truth}
    # Titles are read only for processes whose type the server hides.
    assert sampler.asked
    assert set(sampler.asked) <= hidden


def test_extension_dropped_while_polling(db_url: str, monitor: Monitor) -> None:
    monitor.poll()
    run(db_url, "DROP EXTENSION pg_stat_statements")
    dropped = monitor.poll()
    run(db_url, "CREATE EXTENSION pg_stat_statements")
    monitor.poll()
    run(db_url, "SELECT 1 AS back_again")
    restored = monitor.poll()

    problem = dropped.problem("statements")
    assert problem is not None
    assert "not installed in this database" in problem.case
    assert problem.fix == "CREATE EXTENSION pg_stat_statements;"
    assert dropped.connected is True
    assert dropped.statements == []
    assert dropped.activity is not None
    assert dropped.database is not None
    assert dropped.memory is not None
    assert restored.problem("statements") is None
    assert restored.statements_reason is None
    assert matching(restored, "AS back_again"), [v.query for v in restored.statements]


def poll_until(monitor: Monitor, connected: bool, limit: float = 30.0) -> Snapshot:
    deadline = time.monotonic() + limit
    while True:
        snapshot = monitor.poll()
        if snapshot.connected is connected or time.monotonic() > deadline:
            return snapshot
        time.sleep(min(monitor.next_delay(), 1.0))


def test_retry_now_skips_the_backoff(
    own_cluster: PrivateCluster, settings: Settings
) -> None:
    """Once the app has reconnected, the monitor reconnects at its next poll
    instead of after the rest of its backoff (up to 30 s)."""
    own_cluster.start()
    ensure_database(own_cluster)
    watcher = make_monitor(own_cluster.url(), settings)
    try:
        assert watcher.poll().connected
        own_cluster.stop()
        assert not watcher.poll().connected
        watcher._next_attempt = time.monotonic() + 30.0
        own_cluster.start()
        waiting = watcher.poll()
        watcher.retry_now()
        back = watcher.poll()
    finally:
        watcher.close()
    assert not waiting.connected
    assert back.connected


def test_failed_reconnect_reason_fits_summary(
    tmp_path: Path, settings: Settings
) -> None:
    """A server whose socket is gone gives a short reason, not libpq's
    whole message with the socket path, so the summary line fits."""
    socket_dir = tmp_path / "gone"
    socket_dir.mkdir()
    watcher = make_monitor(f"host={socket_dir} dbname=evedmv", settings)
    try:
        down = watcher.poll()
    finally:
        watcher.close()
    assert not down.connected
    assert down.error == "cannot connect (no server socket)"
    summary = perf_rows.summary_text(down, paused=False).plain
    assert summary.endswith(", retrying: cannot connect (no server socket)")
    assert len(summary) <= 78, summary


def test_server_restart_while_polling(
    own_cluster: PrivateCluster, settings: Settings
) -> None:
    own_cluster.start()
    ensure_database(own_cluster)
    watcher = make_monitor(own_cluster.url(), settings)
    try:
        watcher.poll()
        before = watcher.poll()
        own_cluster.stop()
        down = watcher.poll()
        still_down = watcher.poll()
        own_cluster.start()
        back = poll_until(watcher, connected=True)
        after = watcher.poll()
    finally:
        watcher.close()

    assert before.connected is True
    assert down.connected is False
    assert down.disconnected_since is not None
    assert down.severity == Severity.ERROR
    assert "disconnected since" in down.alerts[0].message
    # libpq's long message is cut to its reason, so the line fits 80 columns.
    assert down.error in {
        "connection lost (server closed the connection)",
        "connection lost (no server socket)",
        "cannot connect (no server socket)",
    }, down.error
    summary = perf_rows.summary_text(down, paused=False).plain
    assert len(summary) <= 78, summary
    assert down.memory is not None and down.memory.app.rss is not None
    assert still_down.disconnected_since == down.disconnected_since
    assert back.connected is True
    assert back.capabilities is not None
    assert back.capabilities.pgss_version is not None
    assert back.statements_trusted is False
    assert back.statements_reason == "the server restarted between polls"
    assert back.database is not None and back.database.trusted is False
    assert after.statements_trusted is True


def test_capabilities_read_again_after_restart(
    own_cluster: PrivateCluster, settings: Settings
) -> None:
    own_cluster.start()
    ensure_database(own_cluster)
    url = own_cluster.url()
    watcher = make_monitor(url, settings)
    try:
        watcher.poll()
        before = watcher.poll()
        # Takes effect only when the server starts again.
        run(url, "ALTER SYSTEM SET pg_stat_statements.track = 'none'")
        own_cluster.stop()
        own_cluster.start()
        # No poll ran while the server was down: the pool reconnects
        # without a failed poll, and only the restart shows.
        back = watcher.poll()
    finally:
        watcher.close()

    assert before.problem("statements") is None
    assert before.capabilities is not None
    assert before.capabilities.pgss_track == "top"
    assert back.connected is True
    assert back.capabilities is not None
    assert back.capabilities.pgss_track == "none"
    problem = back.problem("statements")
    assert problem is not None
    assert problem.case == "pg_stat_statements.track is none: nothing is recorded"
    assert problem.fix == (
        "ALTER SYSTEM SET pg_stat_statements.track = 'top'; SELECT pg_reload_conf();"
    )
    assert back.statements == []


def test_track_none_in_one_database(db_url: str, settings: Settings) -> None:
    database = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    # Applies to the sessions opened in this test's database from now on.
    run(db_url, f"ALTER DATABASE \"{database}\" SET pg_stat_statements.track = 'none'")
    watcher = make_monitor(db_url, settings)
    try:
        snapshot = watcher.poll()
    finally:
        watcher.close()
    assert snapshot.capabilities is not None
    assert snapshot.capabilities.pgss_track == "none"
    problem = snapshot.problem("statements")
    assert problem is not None
    assert problem.case == "pg_stat_statements.track is none: nothing is recorded"
    assert snapshot.statements_reason is not None


def test_locality_judged_again_after_reconnect(db_url: str, settings: Settings) -> None:
    reason = "per-backend memory and CPU are hidden by the test's probe"
    probed: list[int | None] = []

    def remote(server_address: str | None, backend_pid: int | None) -> ServerLocality:
        probed.append(backend_pid)
        return ServerLocality(False, reason)

    db = open_monitor_database(db_url)
    watcher = Monitor(
        db,
        settings,
        telemetry=Telemetry(),
        registry=CacheRegistry(),
        locality_probe=remote,
    )
    try:
        first = watcher.poll()
        second = watcher.poll()
        probed_while_connected = len(probed)
        # A closed pool fails the next poll like a lost server.
        db.close()
        lost = watcher.poll()
        back = poll_until(watcher, connected=True)
    finally:
        watcher.close()

    assert first.memory is not None
    assert first.memory.backends == []
    assert first.memory.backends_hidden_reason == reason
    assert [n.case for n in first.notes if n.panel == "memory"] == [reason]
    assert second.memory is not None
    assert second.memory.backends_hidden_reason == reason
    assert probed_while_connected == 1
    assert lost.connected is False
    assert back.connected is True
    assert len(probed) == 2
    assert back.memory is not None
    assert back.memory.backends_hidden_reason == reason


class SteppedClock:
    """Stands in for the poller's ``time`` module; the test moves ``monotonic``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_unreachable_server_backs_off(
    db_url: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppedClock()
    monkeypatch.setattr(poller, "time", clock)
    unreachable = f"postgresql:///nothing?host={tmp_path}&port=5999"
    reachable = False
    opened: list[Database] = []

    def opener(conninfo: str, *, open_timeout: float = 3.0) -> Database:
        if not reachable:
            return open_monitor_database(unreachable, open_timeout=0.2)
        opened.append(open_monitor_database(conninfo, open_timeout=open_timeout))
        return opened[-1]

    monkeypatch.setattr(poller, "open_monitor_database", opener)
    watcher = make_monitor(db_url, settings)
    delays = []
    try:
        first = watcher.poll()
        delays.append(watcher.next_delay())
        waiting = watcher.poll()
        for _ in range(6):
            clock.now += watcher.next_delay()
            failed = watcher.poll()
            delays.append(watcher.next_delay())
        reachable = True
        clock.now += watcher.next_delay()
        back = watcher.poll()
        delay_when_connected = watcher.next_delay()
        # Lose the connection again: a closed pool fails like a broken one.
        opened[-1].close()
        reachable = False
        lost_again = watcher.poll()
        delay_after_success = watcher.next_delay()
    finally:
        watcher.close()

    assert first.connected is False
    assert first.error is not None
    assert waiting.connected is False
    assert waiting.disconnected_since == first.disconnected_since
    assert failed.disconnected_since == first.disconnected_since
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, poller.MAX_BACKOFF, poller.MAX_BACKOFF]
    assert back.connected is True
    assert delay_when_connected == watcher.interval
    assert lost_again.connected is False
    assert delay_after_success == 1.0


def test_blocking_chain_cancel_and_terminate(db_url: str, monitor: Monitor) -> None:
    table = f"locked_{uuid.uuid4().hex[:8]}"
    run(db_url, f"CREATE TABLE {table} (v int)")
    holder = psycopg.connect(db_url)
    holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    holder_pid = holder.info.backend_pid
    waiter = psycopg.connect(db_url, autocommit=True)
    waiter_pid = waiter.info.backend_pid
    outcome: list[BaseException] = []

    def wait_for_lock() -> None:
        try:
            waiter.execute(f"SELECT * FROM {table}")
        except psycopg.Error as exc:
            outcome.append(exc)

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        chains: list[tuple[int, ...]] = []
        while time.monotonic() < deadline and not chains:
            snapshot = monitor.poll()
            assert snapshot.activity is not None
            chains = snapshot.activity.chains
            time.sleep(0.1)
        assert chains == [(waiter_pid, holder_pid)]
        assert snapshot.activity is not None
        running = {r.backend.pid: r.backend for r in snapshot.activity.running}
        assert monitor.cancel_backend(running[waiter_pid]) is True
        thread.join(10)
        assert isinstance(outcome[0], psycopg.errors.QueryCanceled)
        assert monitor.terminate_backend(running[holder_pid]) is True
        deadline = time.monotonic() + 10
        pids: set[int] = {holder_pid}
        while time.monotonic() < deadline and holder_pid in pids:
            snapshot = monitor.poll()
            assert snapshot.activity is not None
            pids = {r.backend.pid for r in snapshot.activity.running}
            time.sleep(0.1)
        with pytest.raises(psycopg.OperationalError):
            holder.execute("SELECT 1")
    finally:
        thread.join(10)
        waiter.close()
        holder.close()


def test_explain_app_query_with_real_parameters(db: Database) -> None:
    db.fetch_all("SELECT relname FROM pg_class WHERE oid = %s", (1259,))
    record = db.telemetry.records()[-1]
    result = explain_app_query(db, record)
    assert result.method == "parameters"
    assert result.analyzed is False
    assert result.plan.node_type == "Index Scan"
    assert "Index Cond: (oid = '1259'::oid)" in result.plan.detail
    assert plan_lines(result.plan)[0].startswith("Index Scan")


def test_explain_analyze_is_rolled_back(db: Database) -> None:
    db.execute("CREATE TABLE explained (v int)")
    db.execute("INSERT INTO explained VALUES (%s)", (1,))
    record = db.telemetry.records()[-1]
    estimate = explain_app_query(db, record)
    result = explain_app_query(db, record, analyze=True)
    assert estimate.plan.node_type == "ModifyTable"
    assert estimate.analyzed is False
    assert result.analyzed is True
    assert result.execution_ms is not None
    assert result.plan.actual_rows == 0
    assert db.fetch_value("SELECT count(*) FROM explained") == 1


@pytest.mark.parametrize("timeouts", [0, 1])
def test_stopped_explain_analyze_is_cancelled_and_rolled_back(
    db: Database, monkeypatch: pytest.MonkeyPatch, timeouts: int
) -> None:
    """A running EXPLAIN ANALYZE could only wait for its 30 s timeout.

    With ``timeouts``, the first cancel request times out, as it can while
    a loaded server forks the process that takes it, and the stop sent no
    second one, so the EXPLAIN ran on to its timeout.
    """
    cancel_safe = psycopg.Connection.cancel_safe
    sent: list[float] = []

    def slow_cancel(conn: psycopg.Connection[Any], *, timeout: float = 30.0) -> None:
        sent.append(timeout)
        if len(sent) <= timeouts:
            raise psycopg.errors.CancellationTimeout("cancellation timeout expired")
        cancel_safe(conn, timeout=timeout)

    monkeypatch.setattr(psycopg.Connection, "cancel_safe", slow_cancel)
    db.execute("CREATE TABLE stopped_explain (v int)")
    db.execute("INSERT INTO stopped_explain VALUES (1)")
    version = db.fetch_value("SELECT current_setting('server_version_num')::int")
    text = "UPDATE stopped_explain SET v = 2 WHERE pg_sleep(60) IS NOT NULL"
    stopper = ExplainStopper()
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(
                explain_statement(db, text, version, analyze=True, stopper=stopper)
            )
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    started = time.monotonic()
    worker.start()
    running = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE query LIKE %s AND state = 'active' AND wait_event = 'PgSleep'"
    )
    deadline = time.monotonic() + 20
    while not db.fetch_value(running, ("%EXPLAIN (ANALYZE%stopped_explain%",)):
        assert time.monotonic() < deadline, "the EXPLAIN ANALYZE never started"
        time.sleep(0.05)
    stopper.stop()
    worker.join(20)
    assert not worker.is_alive()
    assert len(sent) == timeouts + 1
    [result] = outcome
    assert isinstance(result, ExplainStopped)
    assert time.monotonic() - started < 20
    assert db.fetch_value("SELECT v FROM stopped_explain") == 1
    assert (
        db.fetch_value(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
        )
        == 0
    )


def test_explain_stopped_before_it_starts_runs_nothing(db: Database) -> None:
    """A stop that comes before the EXPLAIN borrows its connection wins.

    A sequence is not rolled back, so it shows whether the statement ran.
    """
    db.execute("CREATE SEQUENCE stopped_early")
    db.execute("CREATE TABLE stopped_early_rows AS SELECT 0 AS v")
    text = "UPDATE stopped_early_rows SET v = nextval('stopped_early')"
    version = db.fetch_value("SELECT current_setting('server_version_num')::int")
    stopper = ExplainStopper()
    stopper.stop()
    with pytest.raises(ExplainStopped):
        explain_statement(db, text, version, analyze=True, stopper=stopper)
    assert db.fetch_value("SELECT is_called FROM stopped_early") is False
    explain_statement(db, text, version, analyze=True)
    assert db.fetch_value("SELECT is_called FROM stopped_early") is True


def test_explain_statement_generic_plan(db: Database) -> None:
    version = db.fetch_value("SELECT current_setting('server_version_num')::int")
    result = explain_statement(
        db, "SELECT relname FROM pg_class WHERE oid = $1 AND relkind = $2", version
    )
    if version >= 160000:
        assert result.method == "generic_plan"
    else:
        assert result.method == "prepare"
        assert result.note is not None and "PostgreSQL 16" in result.note
    assert result.plan.node_type == "Index Scan"
    plain = explain_statement(db, "SELECT count(*) FROM pg_class", version)
    assert plain.method == "plain"
    assert db.fetch_value("SELECT count(*) FROM pg_prepared_statements") == 0


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("SELECT * FROM regions", "select"),
        ("select*from regions", "select"),
        ("SELECT\t*\nFROM regions", "select"),
        ("select(1)", "select"),
        ("(select 1)", "select"),
        ("((SELECT 1)) UNION (SELECT 2)", "select"),
        ("select-1", "select"),
        ("select $1", "select"),
        ("/* report */ SELECT * FROM regions", "select"),
        ("-- report\nSELECT * FROM regions", "select"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "with"),
        ("with recursive x(n) as (select 1) select * from x", "with"),
        ("INSERT INTO t(v) VALUES(1)", "insert"),
        ("VALUES(1)", "values"),
        ("TABLE regions", "table"),
        ("DELETE FROM t WHERE v=1", "delete"),
        ("VACUUM regions", "vacuum"),
        ("", ""),
        (";", ""),
        ('"select" * from t', ""),
    ],
)
def test_first_keyword_of_statement_starts(text: str, keyword: str) -> None:
    """``SELECT * FROM t`` read as the keyword ``select*from``, so EXPLAIN
    rejected every statement that starts that way."""
    assert first_keyword(text) == keyword


def test_explain_select_star_statements(db: Database) -> None:
    """EXPLAIN and EXPLAIN ANALYZE rejected ``SELECT * FROM`` statements as
    having no plan, from every tab."""
    version = db.fetch_value("SELECT current_setting('server_version_num')::int")
    assert check_analyzable("select * from pg_class limit 1") == "select"
    generic = explain_statement(
        db, "select * from pg_class where relname like $1 limit $2", version
    )
    assert generic.plan.node_type == "Limit"
    analyzed = explain_statement(
        db, "select * from pg_class limit 1", version, analyze=True
    )
    assert analyzed.analyzed is True
    assert analyzed.plan.actual_rows == 1
    db.fetch_all("SELECT * FROM pg_class WHERE oid = %s", (1259,))
    record = db.telemetry.records()[-1]
    assert explain_app_query(db, record).plan.node_type == "Index Scan"


def test_explain_statement_rejections(db: Database) -> None:
    version = 150000
    with pytest.raises(ExplainError, match="hidden"):
        explain_statement(db, "<insufficient privilege>", version)
    with pytest.raises(ExplainError, match=r"^a VACUUM statement has no plan"):
        explain_statement(db, "VACUUM pg_class", version)
    with pytest.raises(ExplainError, match=r"^an ALTER statement has no plan"):
        explain_statement(db, "ALTER TABLE names ADD COLUMN x int", version)
    with pytest.raises(ExplainError, match=r"^an empty statement has no plan"):
        explain_statement(db, "  ", version)
    with pytest.raises(ExplainError, match="more than one statement"):
        explain_statement(db, "SELECT 1; DROP TABLE names", version)
    with pytest.raises(ExplainError, match="ANALYZE needs real parameter"):
        explain_statement(db, "SELECT $1::int", version, analyze=True)
    with pytest.raises(ExplainError, match="operator is not unique"):
        explain_statement(db, "SELECT $1 + $2", version)
    assert db.fetch_value("SELECT to_regclass('names') IS NOT NULL") is True


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "SELECT count(*) FROM pg_class WHERE relpages > $1*$2",
            "operator is not unique: unknown * unknown",
        ),
        ("SELECT $1 IS NULL", "could not determine data type of parameter $1"),
        ("SELECT nosuch_function($1)", "function nosuch_function(unknown)"),
    ],
)
def test_explain_untyped_parameters_hint(db: Database, text: str, error: str) -> None:
    """A generic plan whose placeholders' types PostgreSQL cannot infer showed
    only the server's error, with no word of why or what to do."""
    version = db.fetch_value("SELECT current_setting('server_version_num')::int")
    with pytest.raises(ExplainError) as raised:
        explain_statement(db, text, version)
    message = str(raised.value)
    assert message.startswith("PostgreSQL cannot infer the types of $1")
    assert error in message
    hint = raised.value.hint
    assert hint is not None
    assert "from the App tab" in hint
    assert f"AS\n{text};\nEXPLAIN EXECUTE q(VALUE" in hint


def test_explain_other_error_keeps_text_with_hint(db: Database) -> None:
    version = db.fetch_value("SELECT current_setting('server_version_num')::int")
    text = "SELECT no_such_column FROM pg_class"
    with pytest.raises(ExplainError) as raised:
        explain_statement(db, text, version)
    assert str(raised.value) == 'column "no_such_column" does not exist'
    hint = raised.value.hint
    assert hint is not None
    assert hint.endswith(f"EXPLAIN {text};")
    assert "cannot infer" not in str(raised.value)


def test_explain_other_session_temp_table(db: Database) -> None:
    """Explaining an import statement showed only 'relation does not exist',
    because its staging table is a temporary table of the importer's session."""
    text = "INSERT INTO killmails_stage_test SELECT * FROM killmails_stage_test"
    version = db.fetch_value("SELECT current_setting('server_version_num')::int")
    with db.connection() as importer:
        db.execute(
            "CREATE TEMPORARY TABLE killmails_stage_test (id bigint)", conn=importer
        )
        db.execute("INSERT INTO killmails_stage_test VALUES (%s)", (1,), conn=importer)
        record = db.telemetry.records()[-1]
        for explain in (
            lambda: explain_statement(db, text, version),
            lambda: explain_statement(db, text + " WHERE id = $1", version),
            lambda: explain_statement(db, text + " WHERE id = $1", 150000),
            lambda: explain_app_query(db, record),
        ):
            with pytest.raises(ExplainError) as error:
                explain()
            message = str(error.value)
            assert 'relation "killmails_stage_test" does not exist' in message
            assert "temporary table of another session" in message


def test_monitor_explain_left_out_of_list(db_url: str, monitor: Monitor) -> None:
    monitor.poll()
    # End the monitor's only backend, so the pool opens a new connection for
    # the EXPLAIN, one that no poll has run on yet.
    run(
        db_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'evedmv-monitor'"
        " AND datname = current_database()",
    )
    record = QueryRecord(
        "screen",
        "pg_class",
        "SELECT relname FROM pg_class WHERE oid = %s",
        (1259,),
        time.time(),
        0.001,
        1,
    )
    monitor.explain_app_query(record)
    monitor.explain_app_query(record, analyze=True)
    monitor.explain_statement("SELECT count(*) FROM pg_class")
    monitor.explain_statement("SELECT relname FROM pg_class WHERE oid = $1")
    snapshot = monitor.poll()

    assert snapshot.statements_trusted is True
    texts = [(v.query or "").lstrip().upper() for v in snapshot.statements]
    own = ("EXPLAIN", "BEGIN", "ROLLBACK", "SET ", "PREPARE", "DEALLOCATE")
    assert [t for t in texts if t.startswith(own)] == []
    assert any("PG_TERMINATE_BACKEND" in t for t in texts)


@pytest.mark.parametrize("version", [(1, 8), (1, 9)])
def test_older_version_queries_run(db_url: str, version: tuple[int, int]) -> None:
    """The 1.8 and 1.9 column sets exist in 1.10 too, so they run here."""
    run(db_url, "SELECT 'version check'")
    with open_monitor_database(db_url) as db, db.connection() as conn:
        reader = StatementReader("public", version)
        rows = reader.read_rows(db, conn)
        info = reader.read_info(db, conn)
    statements = build_statement_set(rows)
    assert statements.entries
    assert (info is None) is (version < (1, 9))


def test_ingest_rejects_leave_out_dismissed(
    db: Database,
    db_url: str,
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The Ingest tab counted the rejects that 'evedmv rejects dismiss' had
    dismissed, which 'evedmv rejects list' no longer lists."""
    from evedmv_tui.cli import main

    db.execute(
        "INSERT INTO rejects (source_file, position, reason, raw, rejected_at)"
        " VALUES ('a.json', '1', 'invalid killmail_time', '{}', now()),"
        " ('a.json', '2', 'invalid killmail_time', '{}', now()),"
        " ('b.json', '1', 'invalid killmail_time', '{}', now() - interval '2 hours')"
    )
    dismissed = db.fetch_value("SELECT min(reject_id) FROM rejects")
    assert main(["--dsn", db_url, "rejects", "dismiss", str(dismissed)]) == 0
    capsys.readouterr()
    assert main(["--dsn", db_url, "rejects", "list", "--json"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2

    ingest = monitor.poll().ingest

    assert ingest is not None
    assert ingest.counts.rejects == len(listed)
    assert ingest.counts.rejects_last_hour == 1


def test_ingest_counts_known_invalid(
    db: Database,
    db_url: str,
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The Ingest tab counted pending bodies but not the references whose
    id and hash ESI rejected, which are missing killmails too."""
    from evedmv_tui.cli import main

    db.execute(
        "INSERT INTO killmail_index (killmail_id, killmail_hash, state, source)"
        " VALUES (1, repeat('a', 40), 'invalid', 'test'),"
        " (2, repeat('b', 40), 'invalid', 'test'),"
        " (3, repeat('c', 40), 'pending', 'test'),"
        " (4, repeat('d', 40), 'stored', 'test')"
    )
    assert main(["--dsn", db_url, "rejects", "list", "--invalid", "--json"]) == 0
    listed = capsys.readouterr().out.splitlines()

    snapshot = monitor.poll()

    assert snapshot.ingest is not None
    assert snapshot.ingest.counts.invalid == len(listed) == 2
    assert snapshot.ingest.counts.pending == 1
    lines = perf_rows.ingest_text(snapshot).plain.splitlines()
    assert "pending bodies 1, known invalid 2" in lines


def test_ingest_health_and_esi_budget(
    db: Database, db_url: str, monitor: Monitor
) -> None:
    db.execute(
        "INSERT INTO killmail_index (killmail_id, state, source)"
        " VALUES (1, 'pending', 'test'), (2, 'pending', 'test'), (3, 'stored', 'test')"
    )
    db.execute("INSERT INTO feed_cursors (feed, sequence) VALUES ('r2z2', 4242)")
    db.execute(
        "INSERT INTO rejects (source_file, position, reason, raw)"
        " VALUES ('a.json', '1', 'invalid killmail_time', '{}')"
    )
    budget = ingest_mod.EsiBudget(15, 40, 100, 3)
    ingest_mod.register_esi_budget(lambda: budget)
    try:
        snapshot = monitor.poll()
    finally:
        ingest_mod._esi_sources.clear()
    ingest = snapshot.ingest
    assert ingest is not None
    assert ingest.counts.pending == 2
    assert ingest.counts.rejects == 1
    assert [(c.feed, c.sequence) for c in ingest.cursors] == [("r2z2", 4242)]
    assert ingest.esi == budget
    assert ingest.kills_per_minute == 0
    assert ("ingest", Severity.WARNING) in {
        (a.source, a.severity) for a in snapshot.alerts
    }
    assert snapshot.activity is not None
    assert snapshot.activity.client_backends >= 1


def test_cursor_moved_during_read_has_no_negative_age(db: Database) -> None:
    """The age was measured from the start of the reading transaction, so a
    cursor committed after it showed "moved -0 s ago" on the Ingest tab."""
    with db.connection() as conn, conn.transaction():
        conn.execute("SELECT 1")  # the transaction, and its now(), start here
        time.sleep(0.05)
        with psycopg.connect(db.conninfo, autocommit=True) as writer:
            writer.execute(
                "INSERT INTO feed_cursors (feed, sequence, updated_at)"
                " VALUES ('r2z2', 4243, now())"
            )
        health = ingest_mod.read_ingest(db, conn)
    [cursor] = health.cursors
    assert cursor.age_seconds >= 0


def test_backend_counts_add_up_to_numbackends(db_url: str, monitor: Monitor) -> None:
    """The poll's own backend was left out of the activity it read, so the
    Database tab showed ``monitor 0`` under a total that counted it."""
    with psycopg.connect(db_url, autocommit=True, application_name="psql"):
        snapshot = monitor.poll()
    assert snapshot.database is not None
    assert snapshot.activity is not None
    counts = snapshot.activity.databases[snapshot.database.database]
    assert counts.monitor >= 1
    assert counts.by_state.get("idle", 0) >= 1
    assert counts.total == snapshot.database.backends
    assert snapshot.activity.monitor_backends >= counts.monitor
    text = perf_rows.database_text(snapshot).plain
    assert f"monitor {counts.monitor}" in text


def test_large_table_seq_scans_hint_at_index(db_url: str, monitor: Monitor) -> None:
    run(
        db_url,
        "CREATE TABLE wide AS SELECT g AS v FROM generate_series(1, 20000) g",
        "ANALYZE wide",
        *["SELECT count(*) FROM wide WHERE v = 5"] * 3,
    )
    time.sleep(1.1)  # backends flush table statistics at most once a second
    run(db_url, "SELECT 1")
    snapshot = monitor.poll()
    (hint,) = [h for h in snapshot.index_hints if h.table.table_name == "wide"]
    assert hint.table.seq_scan >= 3
    assert hint.rows_per_scan >= 10_000
    assert "an index may be missing" in hint.message


def test_caches_report_interval_hit_ratio(db_url: str, settings: Settings) -> None:
    registry = CacheRegistry()
    cache: LRUCache[int, str] = LRUCache("test.names", 10, register=False)
    registry.register(cache)
    watcher = make_monitor(db_url, settings, registry=registry)
    try:
        watcher.poll()
        cache.put(1, "one")
        cache.get(1)
        cache.get(1)
        cache.get(2)
        cache.get(1)
        snapshot = watcher.poll()
        for _ in range(MIN_CACHE_LOOKUPS):
            cache.get(1)
        busier = watcher.poll()
    finally:
        watcher.close()
    (row,) = snapshot.caches
    assert row.stats.entries == 1
    assert row.interval_lookups == 4
    assert row.interval_hit_ratio == pytest.approx(0.75)
    # Four lookups are too few to judge; twenty are enough.
    assert not any(s.key == "cache:test.names:hit_ratio" for s in snapshot.samples)
    (sample,) = [s for s in busier.samples if s.key == "cache:test.names:hit_ratio"]
    assert sample.value == pytest.approx(1.0)


def test_local_server_shows_backend_memory(db_url: str, monitor: Monitor) -> None:
    with psycopg.connect(db_url):
        snapshot = monitor.poll()
    assert snapshot.memory is not None
    assert snapshot.memory.backends_hidden_reason is None
    assert snapshot.memory.backends
    assert any(b.rss for b in snapshot.memory.backends)
    assert snapshot.memory.app.uss is not None
    keys = {s.key for s in snapshot.samples}
    assert {"memory:rss_bytes", "process:count"} <= keys


def test_subscribers_get_every_snapshot(monitor: Monitor) -> None:
    seen: list[int] = []
    unsubscribe = monitor.subscribe(lambda s: seen.append(s.sequence))
    monitor.poll()
    monitor.poll()
    unsubscribe()
    monitor.poll()
    assert seen == [1, 2]


def test_clock_and_activity_share_one_query(db_url: str, monitor: Monitor) -> None:
    idle = psycopg.connect(db_url, autocommit=True)
    try:
        monitor.poll()
        assert monitor._db is not None
        before = len(monitor._db.telemetry.records())
        snapshot = monitor.poll()
    finally:
        idle.close()
    names = [r.name for r in monitor._db.telemetry.records()[before:]]

    assert names.count("monitor.poll_start") == 1
    assert "monitor.poll_clock" not in names
    assert "monitor.activity" not in names
    assert "monitor.statements_changes" not in names
    assert snapshot.cost.queries == len(names)
    assert snapshot.database is not None
    assert (
        snapshot.database.database
        == psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    )
    assert snapshot.activity is not None
    assert snapshot.activity.by_state.get("idle", 0) >= 1


def test_failed_combined_query_reads_apart(
    db_url: str, monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing first query must not cost the poll its clock, activity or
    statements, and the statements it read before failing must not be lost
    from the next interval's deltas."""
    clock = load_sql("evedmv_tui.monitor", "poll_clock")

    def failing(changes: NamedSql | None = None) -> NamedSql:
        parts = [clock.text.rstrip().rstrip(";")]
        if changes is not None:
            parts.append(changes.text)
        parts.append("SELECT * FROM no_such_table")
        return NamedSql("monitor.poll_start", ";\n".join(parts))

    monkeypatch.setattr(poller, "_poll_start_sql", failing)
    idle = psycopg.connect(db_url, autocommit=True)
    try:
        monitor.poll()
        monitor.poll()
        run(db_url, "SELECT 1 AS between_failed_polls")
        snapshot = monitor.poll()
    finally:
        idle.close()

    assert snapshot.connected is True
    assert snapshot.database is not None
    assert snapshot.activity is not None
    assert snapshot.problem("activity") is None
    assert snapshot.activity.by_state.get("idle", 0) >= 1
    (view,) = matching(snapshot, "AS between_failed_polls")
    assert view.delta.calls == 1
    assert monitor._db is not None
    names = [r.name for r in monitor._db.telemetry.records()]
    assert "monitor.poll_clock" in names
    assert "monitor.activity" in names
    assert "monitor.statements_changes" in names


def test_cache_ratio_untrusted_after_start(
    db_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after a restart every table comes from disk again, and the hit
    ratio's fall from 99.9 % to 83 % raised a critical alert."""
    from evedmv_tui.monitor import poller

    def cache_sample(watcher: Monitor) -> Any:
        watcher.poll()
        # Blocks read in the interval, so that it has a hit ratio.
        run(db_url, "SELECT count(*) FROM pg_class, pg_attribute")
        snapshot = watcher.poll()
        assert snapshot.database is not None
        [sample] = [s for s in snapshot.samples if s.key == "database:cache_hit_ratio"]
        return snapshot.database, sample

    # The test cluster started with the session, so a warm-up of a day covers
    # its age however long the suite has run.
    monkeypatch.setattr(poller, "CACHE_WARMUP_SECONDS", 86_400.0)
    watcher = make_monitor(db_url, settings)
    try:
        database, sample = cache_sample(watcher)
    finally:
        watcher.close()
    assert database.warming_up
    assert database.cache_hit_ratio is not None
    assert not sample.trusted
    assert "still filling after the server started" in sample.label

    monkeypatch.setattr(poller, "CACHE_WARMUP_SECONDS", 0.0)
    watcher = make_monitor(db_url, settings)
    try:
        database, sample = cache_sample(watcher)
    finally:
        watcher.close()
    assert not database.warming_up
    assert sample.trusted

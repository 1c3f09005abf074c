"""The monitor's own EXPLAIN, blocked by another session, is in the chain.

The Activity tab left every monitor backend out, so while an EXPLAIN the
user started waited on a lock, the tab showed "no blocked backends".
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import psycopg

from evedmv_tui.config import Settings
from evedmv_tui.monitor.activity import ActivitySummary
from evedmv_tui.monitor.explain import ExplainError
from evedmv_tui.monitor.findings import build_alerts
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.store.telemetry import Telemetry


def wait_for_chain(monitor: Monitor) -> ActivitySummary:
    """Poll until a blocking chain starts at the EXPLAIN, for up to 10 s.

    A poll reads each backend's query from pg_stat_activity and its
    blockers from pg_blocking_pids a moment later. So a backend can show as
    blocked while its row still has the statement before the EXPLAIN.
    """
    deadline = time.monotonic() + 10
    while True:
        snapshot = monitor.poll()
        activity = snapshot.activity
        assert activity is not None
        queries = {r.backend.pid: r.backend.query for r in activity.running}
        explaining = [
            chain for chain in activity.chains if "EXPLAIN" in queries.get(chain[0], "")
        ]
        if explaining or time.monotonic() > deadline:
            return activity
        time.sleep(0.1)


def locked_table(
    db_url: str, tmp_path: Path
) -> tuple[str, psycopg.Connection[tuple[object, ...]], Monitor]:
    """Create a table, lock it from a "psql" session and start a monitor.

    Returns the table's name, the session holding the lock and the monitor,
    which has polled once.
    """
    table = f"locked_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (v int)")
    holder = psycopg.connect(db_url, application_name="psql")
    holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    monitor = Monitor(
        None,
        Settings(dsn=db_url, data_dir=tmp_path / "d"),
        conninfo=db_url,
        telemetry=Telemetry(),
    )
    monitor.poll()
    return table, holder, monitor


def test_blocked_explain_joins_chain(db_url: str, tmp_path: Path) -> None:
    table, holder, monitor = locked_table(db_url, tmp_path)
    holder_pid = holder.info.backend_pid
    outcome: list[object] = []

    def explain() -> None:
        try:
            outcome.append(monitor.explain_statement(f"SELECT * FROM {table}"))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=explain)
    thread.start()
    try:
        activity = wait_for_chain(monitor)
        assert len(activity.chains) == 1
        explain_pid, root = activity.chains[0]
        assert root == holder_pid
        assert explain_pid in activity.monitor_pids
        assert activity.blocked == 1
        running = {r.backend.pid: r for r in activity.running}
        assert running[explain_pid].monitor is True
        assert running[explain_pid].backend.application_name == "evedmv-monitor"
        assert "EXPLAIN" in running[explain_pid].backend.query
        assert running[holder_pid].monitor is False
        # The monitor's backends are still counted apart from the clients.
        assert activity.by_state.get("active", 0) == 0
        chain_text = activity.chain_text(activity.chains[0])
        assert chain_text == f"{explain_pid} (monitor) ← {holder_pid}"
    finally:
        holder.close()
        thread.join(30)
        monitor.close()
    assert len(outcome) == 1
    assert not isinstance(outcome[0], Exception)


def test_blocked_explain_alert_is_marked(db_url: str, tmp_path: Path) -> None:
    table, holder, monitor = locked_table(db_url, tmp_path)
    holder_pid = holder.info.backend_pid
    failures: list[ExplainError] = []

    def explain() -> None:
        try:
            monitor.explain_statement(f"SELECT * FROM {table}")
        except ExplainError as exc:
            failures.append(exc)

    thread = threading.Thread(target=explain)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        messages: list[str] = []
        while time.monotonic() < deadline and not messages:
            snapshot = monitor.poll()
            messages = [
                a.message for a in build_alerts(snapshot) if "blocked: " in a.message
            ]
            time.sleep(0.1)
        assert len(messages) == 1
        assert messages[0].endswith(f" (monitor) ← {holder_pid}")
        explain_pid = int(messages[0].removeprefix("blocked: ").split(" ")[0])
        # c on the Activity tab cancels the listed EXPLAIN like any backend,
        # with the row of the latest poll, as the confirmation shows it.
        latest = monitor.poll().activity
        assert latest is not None
        running = {r.backend.pid: r.backend for r in latest.running}
        listed = running[explain_pid]
        live = holder.execute(
            "SELECT state, query_start, backend_start FROM pg_stat_activity"
            " WHERE pid = %s",
            (explain_pid,),
        ).fetchone()
        assert monitor.cancel_backend(listed) is True, (listed, live)
        thread.join(10)
        assert not thread.is_alive()
        assert len(failures) == 1
        assert "canceling statement due to user request" in str(failures[0])
    finally:
        holder.close()
        thread.join(30)
        monitor.close()

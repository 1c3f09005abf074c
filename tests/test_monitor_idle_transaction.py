"""Sessions idle in a transaction are judged by the transaction's age.

They were timed from their last statement and reported as "running", so
``BEGIN; SELECT 1;`` left open read as a running query, while a transaction
kept open by a statement every few seconds was never flagged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.config import Settings
from evedmv_tui.monitor.activity import Backend, RunningQuery, summarize_activity
from evedmv_tui.monitor.findings import build_alerts
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Snapshot
from evedmv_tui.store.telemetry import Telemetry


def backend(state: str, *, query_seconds: float, xact_seconds: float) -> Backend:
    return Backend(
        pid=7,
        database="evedmv",
        role_name="evedmv",
        application_name="psql",
        client_addr=None,
        backend_type="client backend",
        state=state,
        wait_event_type=None,
        wait_event=None,
        query_seconds=query_seconds,
        xact_seconds=xact_seconds,
        query="SELECT 1",
        blocked_by=[],
    )


def judge(row: Backend) -> RunningQuery:
    summary = summarize_activity(
        [row],
        exclude_pids=set(),
        monitor_application="evedmv-monitor",
        warning_seconds=1.0,
        error_seconds=5.0,
    )
    assert len(summary.running) == 1
    return summary.running[0]


def test_idle_in_transaction_judged_by_xact_age() -> None:
    running = judge(
        backend("idle in transaction", query_seconds=0.2, xact_seconds=11.6)
    )
    assert running.idle_in_transaction
    assert running.seconds == 11.6
    assert running.severity == Severity.ERROR


def test_active_query_judged_by_query_age() -> None:
    running = judge(backend("active", query_seconds=0.2, xact_seconds=11.6))
    assert not running.idle_in_transaction
    assert running.seconds == 0.2
    assert running.severity == Severity.OK


@pytest.fixture
def open_transaction(db_url: str) -> Iterator[psycopg.Connection[tuple[object]]]:
    """A session in a transaction, with ``application_name`` psql."""
    conn: psycopg.Connection[tuple[object]] = psycopg.connect(
        db_url, application_name="psql"
    )
    try:
        yield conn
    finally:
        conn.close()


def poll(db_url: str, tmp_path: Path) -> Snapshot:
    monitor = Monitor(
        None,
        Settings(
            dsn=db_url,
            data_dir=tmp_path / "d",
            slow_warning_seconds=1.0,
            slow_error_seconds=60.0,
        ),
        conninfo=db_url,
        telemetry=Telemetry(),
    )
    try:
        return monitor.poll()
    finally:
        monitor.close()


def test_busy_transaction_is_flagged(
    open_transaction: psycopg.Connection[tuple[object]], db_url: str, tmp_path: Path
) -> None:
    """A statement a moment ago does not hide a transaction open for 1.5 s."""
    open_transaction.execute("SELECT 1")
    time.sleep(1.5)
    open_transaction.execute("SELECT 2")
    pid = open_transaction.info.backend_pid
    snapshot = poll(db_url, tmp_path)

    assert snapshot.activity is not None
    found = {r.backend.pid: r for r in snapshot.activity.running}
    assert found[pid].backend.state == "idle in transaction"
    assert (found[pid].backend.query_seconds or 0) < 1.0
    assert found[pid].severity == Severity.WARNING
    alerts = [a for a in build_alerts(snapshot) if a.key == f"backend:{pid}"]
    assert len(alerts) == 1
    assert alerts[0].message.startswith(f"pid {pid} idle in transaction, open ")
    assert alerts[0].message.endswith(": SELECT 2")
    assert "running" not in alerts[0].message


def test_short_transaction_is_not_flagged(
    open_transaction: psycopg.Connection[tuple[object]], db_url: str, tmp_path: Path
) -> None:
    open_transaction.execute("SELECT 1")
    pid = open_transaction.info.backend_pid
    snapshot = poll(db_url, tmp_path)

    assert snapshot.activity is not None
    found = {r.backend.pid: r for r in snapshot.activity.running}
    assert found[pid].severity == Severity.OK
    assert not [a for a in build_alerts(snapshot) if a.key == f"backend:{pid}"]

"""The monitor's reads of application tables under a lock held by another session.

A session that held ACCESS EXCLUSIVE on ``killmail_index`` made every poll
wait the full 10 s statement timeout, so Activity and Statements froze,
and the Ingest tab then blamed a missing GRANT although the role owned the
tables.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.config import Settings
from evedmv_tui.monitor.capabilities import PanelProblem
from evedmv_tui.monitor.poller import LOCK_TIMEOUT_MS, Monitor
from evedmv_tui.monitor.snapshot import Snapshot
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import login_role


@pytest.fixture
def holder(db_url: str) -> Iterator[int]:
    """Hold ACCESS EXCLUSIVE on killmail_index in an open transaction."""
    conn = psycopg.connect(db_url, application_name="psql")
    try:
        conn.execute("LOCK TABLE killmail_index IN ACCESS EXCLUSIVE MODE")
        yield conn.info.backend_pid
    finally:
        conn.close()


def poll_once(url: str, tmp_path: Path) -> tuple[Snapshot, float]:
    """Poll a new monitor once; return the snapshot and the poll's seconds."""
    monitor = Monitor(
        None,
        Settings(dsn=url, data_dir=tmp_path / "d"),
        conninfo=url,
        telemetry=Telemetry(),
    )
    try:
        started = time.monotonic()
        snapshot = monitor.poll()
        return snapshot, time.monotonic() - started
    finally:
        monitor.close()


def ingest_problem(snapshot: Snapshot) -> PanelProblem:
    problems = [p for p in snapshot.problems if p.panel == "ingest"]
    assert len(problems) == 1, snapshot.problems
    return problems[0]


def test_locked_ingest_table_fails_fast(
    holder: int, db_url: str, tmp_path: Path
) -> None:
    snapshot, seconds = poll_once(db_url, tmp_path)

    assert snapshot.connected
    # Without a lock_timeout the ingest read waited for the 10 s
    # statement_timeout.
    assert seconds < 5
    assert snapshot.ingest is None
    problem = ingest_problem(snapshot)
    assert "reading ingest tables was blocked by a lock" in problem.case
    assert f"lock_timeout {LOCK_TIMEOUT_MS} ms" in problem.case
    assert f"pid {holder} (role " in problem.case
    assert "application psql" in problem.case
    assert "GRANT" not in problem.fix
    assert f"end the transaction of pid {holder}" in problem.fix


def test_locked_ingest_table_keeps_activity(
    holder: int, db_url: str, tmp_path: Path
) -> None:
    snapshot, _ = poll_once(db_url, tmp_path)

    assert snapshot.activity is not None
    assert holder in [r.backend.pid for r in snapshot.activity.running]
    assert not [p for p in snapshot.problems if p.panel == "activity"]
    assert not [p for p in snapshot.problems if p.panel == "statements"]


def test_ingest_read_leaves_no_transaction(db_url: str, tmp_path: Path) -> None:
    """The read-only transaction around the ingest read is always ended."""
    monitor = Monitor(
        None,
        Settings(dsn=db_url, data_dir=tmp_path / "d"),
        conninfo=db_url,
        telemetry=Telemetry(),
    )
    try:
        snapshot = monitor.poll()
        assert snapshot.ingest is not None
        with psycopg.connect(db_url, autocommit=True) as conn:
            states = conn.execute(
                "SELECT state FROM pg_stat_activity"
                " WHERE application_name = 'evedmv-monitor'"
                " AND datname = current_database()"
            ).fetchall()
        assert states
        assert all(state == "idle" for (state,) in states)
    finally:
        monitor.close()


def test_permission_error_keeps_grant_fix(db_url: str, tmp_path: Path) -> None:
    with login_role(db_url, "reader") as url:
        role = psycopg.conninfo.conninfo_to_dict(url)["user"]
        snapshot, _ = poll_once(url, tmp_path)

    problem = ingest_problem(snapshot)
    assert problem.case.startswith("reading ingest tables failed: permission denied")
    assert problem.fix == (
        "GRANT SELECT ON killmails, killmail_index, rejects, imports,"
        f" feed_cursors, reject_states TO {role};"
    )


def test_other_error_has_no_grant_fix(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement timeout is no privilege problem, so it gets no GRANT."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION"
            " import_lock_held(import_id bigint, lock_class integer)"
            " RETURNS boolean LANGUAGE plpgsql"
            " AS 'BEGIN PERFORM pg_sleep(2); RETURN false; END'"
        )
    monkeypatch.setattr("evedmv_tui.monitor.poller.STATEMENT_TIMEOUT_MS", 500)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO imports (paths) VALUES ('{}')")
    snapshot, _ = poll_once(db_url, tmp_path)

    problem = ingest_problem(snapshot)
    assert "canceling statement due to statement timeout" in problem.case
    assert "GRANT" not in problem.fix

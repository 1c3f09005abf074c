"""Cancel and terminate signal only the session the user confirmed, against
the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from evedmv_tui.cache import CacheRegistry
from evedmv_tui.config import Settings
from evedmv_tui.monitor.activity import Backend
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.store.telemetry import Telemetry


@pytest.fixture
def monitor(db_url: str, settings: Settings) -> Iterator[Monitor]:
    watcher = Monitor(
        None, settings, conninfo=db_url, telemetry=Telemetry(), registry=CacheRegistry()
    )
    try:
        yield watcher
    finally:
        watcher.close()


@pytest.fixture
def sleeper(db_url: str) -> Iterator[tuple[psycopg.Connection, list[psycopg.Error]]]:
    """A session that runs pg_sleep(30) in a thread, and the errors it got."""
    conn = psycopg.connect(db_url, autocommit=True)
    errors: list[psycopg.Error] = []

    def run() -> None:
        try:
            conn.execute("SELECT pg_sleep(30)")
        except psycopg.Error as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield conn, errors
    finally:
        with psycopg.connect(db_url, autocommit=True) as other:
            other.execute("SELECT pg_cancel_backend(%s)", (conn.info.backend_pid,))
        thread.join(35)
        conn.close()


def listed_backend(monitor: Monitor, pid: int) -> Backend:
    """Poll until the Activity list shows ``pid`` sleeping; return its row."""
    deadline = time.monotonic() + 10
    while True:
        snapshot = monitor.poll()
        assert snapshot.activity is not None
        for running in snapshot.activity.running:
            if running.backend.pid == pid and running.backend.wait.endswith("PgSleep"):
                return running.backend
        assert time.monotonic() < deadline, f"backend {pid} was never listed"
        time.sleep(0.1)


def test_activity_rows_carry_backend_start(
    monitor: Monitor, sleeper: tuple[psycopg.Connection, list[psycopg.Error]]
) -> None:
    conn, _errors = sleeper
    backend = listed_backend(monitor, conn.info.backend_pid)
    assert backend.backend_start is not None
    assert backend.backend_start.tzinfo is not None
    assert backend.query_start is not None
    assert backend.backend_start <= backend.query_start


@pytest.mark.parametrize("terminate", [False, True])
def test_replaced_backend_not_signalled(
    monitor: Monitor,
    sleeper: tuple[psycopg.Connection, list[psycopg.Error]],
    terminate: bool,
) -> None:
    """Cancel and terminate acted on the pid alone, so a session that took
    the pid of the confirmed one after it ended was signalled in its place.
    A row with the pid but another start time is such a session."""
    conn, errors = sleeper
    backend = listed_backend(monitor, conn.info.backend_pid)
    assert backend.backend_start is not None
    signal = monitor.terminate_backend if terminate else monitor.cancel_backend
    replaced = backend._replace(
        backend_start=backend.backend_start - dt.timedelta(seconds=1)
    )
    hidden = backend._replace(backend_start=None)

    assert signal(replaced) is False
    assert signal(hidden) is False
    still = listed_backend(monitor, backend.pid)
    assert still.backend_start == backend.backend_start
    assert errors == []

    assert signal(backend) is True
    deadline = time.monotonic() + 10
    while not errors:
        assert time.monotonic() < deadline, "the confirmed backend was not signalled"
        time.sleep(0.05)
    expected = (
        psycopg.errors.AdminShutdown if terminate else psycopg.errors.QueryCanceled
    )
    assert isinstance(errors[0], expected)


def test_next_query_not_cancelled(
    monitor: Monitor, sleeper: tuple[psycopg.Connection, list[psycopg.Error]]
) -> None:
    """A cancel matched the session alone, so when the confirmed query had
    ended and the session had started another, that one was cancelled. A
    row with the session's start but another query start is such a case."""
    conn, errors = sleeper
    backend = listed_backend(monitor, conn.info.backend_pid)
    assert backend.query_start is not None
    earlier = backend._replace(
        query_start=backend.query_start - dt.timedelta(seconds=1)
    )

    assert monitor.cancel_backend(earlier) is False
    assert monitor.cancel_backend(backend._replace(query_start=None)) is False
    time.sleep(0.2)
    assert errors == []

    assert monitor.cancel_backend(backend) is True
    deadline = time.monotonic() + 10
    while not errors:
        assert time.monotonic() < deadline, "the confirmed query was not cancelled"
        time.sleep(0.05)
    assert isinstance(errors[0], psycopg.errors.QueryCanceled)


def test_idle_session_not_signalled(db_url: str, monitor: Monitor) -> None:
    """A session whose confirmed query ended is idle: nothing is cancelled."""
    monitor.poll()
    with psycopg.connect(db_url, autocommit=True) as conn:
        pid = conn.info.backend_pid
        conn.execute("SELECT 1")
        with psycopg.connect(db_url, autocommit=True) as other:
            row = other.execute(
                "SELECT backend_start, query_start, state FROM pg_stat_activity"
                " WHERE pid = %s",
                (pid,),
            ).fetchone()
        assert row is not None
        backend_start, query_start, state = row
        assert state == "idle"
        snapshot_row = Backend(
            pid,
            None,
            None,
            "",
            None,
            "client backend",
            state,
            None,
            None,
            None,
            None,
            "SELECT 1",
            [],
            backend_start,
            query_start,
        )
        assert monitor.cancel_backend(snapshot_row) is False

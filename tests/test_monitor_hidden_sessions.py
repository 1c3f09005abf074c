"""Other roles' sessions that the monitor's role may not inspect are counted.

Without pg_read_all_stats, pg_stat_activity shows another role's session
with a NULL state and query, and the Activity tab showed "no query is running"
while that session ran one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.config import Settings
from evedmv_tui.monitor import report
from evedmv_tui.monitor.findings import build_alerts
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.monitor.snapshot import Snapshot
from tests.conftest import login_role


@pytest.fixture
def sleeper(db_url: str) -> Iterator[int]:
    """Run ``pg_sleep`` as another role in a thread and return its pid."""
    with login_role(db_url, "sleeper") as url:
        conn = psycopg.connect(url, autocommit=True)
        pid = conn.info.backend_pid
        thread = threading.Thread(
            target=lambda: conn.execute("SELECT pg_sleep(4)"), daemon=True
        )
        thread.start()
        time.sleep(0.3)
        try:
            yield pid
        finally:
            thread.join()
            conn.close()


def poll_as(url: str, tmp_path: Path) -> Snapshot:
    monitor = Monitor(None, Settings(dsn=url, data_dir=tmp_path / "d"), conninfo=url)
    try:
        return monitor.poll()
    finally:
        monitor.close()


def test_hidden_session_is_noted(sleeper: int, db_url: str, tmp_path: Path) -> None:
    with login_role(db_url, "watcher") as url:
        role = psycopg.conninfo.conninfo_to_dict(url)["user"]
        snapshot = poll_as(url, tmp_path)

    assert snapshot.activity is not None
    assert sleeper in [b.pid for b in snapshot.activity.hidden]
    assert sleeper not in [r.backend.pid for r in snapshot.activity.running]
    notes = [n for n in snapshot.notes if n.panel == "activity"]
    assert len(notes) == 1
    assert "of other roles hidden, so queries they run are not listed" in notes[0].case
    assert f"{sleeper} (sleeper_" in notes[0].case
    assert notes[0].fix == f"GRANT pg_read_all_stats TO {role};"
    assert not [a for a in build_alerts(snapshot) if "roles hidden" in a.message]
    text = "\n".join(report.summary_lines(snapshot))
    assert f"fix: GRANT pg_read_all_stats TO {role};" in text


def test_visible_session_is_running(sleeper: int, db_url: str, tmp_path: Path) -> None:
    snapshot = poll_as(db_url, tmp_path)

    assert snapshot.activity is not None
    assert snapshot.activity.hidden == []
    running = {r.backend.pid: r.backend for r in snapshot.activity.running}
    assert running[sleeper].query == "SELECT pg_sleep(4)"
    assert not [n for n in snapshot.notes if n.panel == "activity"]


async def test_activity_tab_mentions_hidden(
    sleeper: int, db_url: str, settings: Settings, tmp_path: Path
) -> None:
    from tests.test_performance_screen import recorded_screen, static_text

    with login_role(db_url, "watcher") as url:
        polled = poll_as(url, tmp_path)
    async with recorded_screen(settings) as (_app, pilot, screen):
        screen.show_snapshot(polled)
        await pilot.pause()

        assert static_text(screen, "#activity-chains") == (
            "no visible query is running; other roles' sessions are hidden (see above)"
        )
        problem = static_text(screen, "#activity-problem")
        assert f"{sleeper} (sleeper_" in problem
        assert "GRANT pg_read_all_stats TO watcher_" in problem

"""Where the monitor shows a duration, it is the one severity judges.

A session idle in a transaction is judged by the transaction's age, so the
Activity tab's Secs column, `evedmv performance` and its JSON show that
age, and a blocked EXPLAIN of the monitor's own is marked in the chain.
An operation flagged slow ages out of its window while the app is idle.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text

from evedmv_tui.config import Settings
from evedmv_tui.monitor import appside
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.monitor.report import snapshot_dict, summary_lines
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.store.telemetry import QueryRecord, Telemetry
from evedmv_tui.widgets.perf_rows import activity_rows
from tests import test_performance_screen as fixtures
from tests.test_performance_tabs import recorded_with_search

IDLE_PID = 4102
MONITOR_PID = 4711


def idle_in_transaction() -> Any:
    """The recorded snapshot with one session idle in a transaction open 42 s,
    whose last statement started 2 s ago, blocking a monitor's EXPLAIN."""
    snapshot = fixtures.recorded_snapshot()
    activity = snapshot.activity
    assert activity is not None
    running = []
    for index, query in enumerate(activity.running[:2]):
        if index == 0:
            backend = query.backend._replace(
                pid=IDLE_PID,
                state="idle in transaction",
                query_seconds=2.0,
                xact_seconds=42.0,
            )
            running.append(
                dataclasses.replace(
                    query, backend=backend, severity=Severity.ERROR, chain=()
                )
            )
        else:
            backend = query.backend._replace(
                pid=MONITOR_PID, blocked_by=[IDLE_PID], query_seconds=3.0
            )
            running.append(
                dataclasses.replace(
                    query, backend=backend, chain=(MONITOR_PID, IDLE_PID), monitor=True
                )
            )
    activity = dataclasses.replace(
        activity,
        running=running,
        chains=[(MONITOR_PID, IDLE_PID)],
        monitor_pids=frozenset({MONITOR_PID}),
    )
    return dataclasses.replace(snapshot, activity=activity)


def test_secs_column_shows_transaction_age() -> None:
    rows = dict(activity_rows(idle_in_transaction()))

    assert str(rows[str(IDLE_PID)][2]).strip() == "42.0"
    assert str(rows[str(MONITOR_PID)][2]).strip() == "3.0"


def test_performance_report_shows_transaction_age() -> None:
    snapshot = idle_in_transaction()

    document = snapshot_dict(snapshot)
    seconds = {r["pid"]: r["seconds"] for r in document["activity"]["running"]}
    assert seconds[IDLE_PID] == 42.0
    json.dumps(document)
    text = "\n".join(summary_lines(snapshot))
    assert f"pid {IDLE_PID} 42.0 s" in text


async def test_activity_chain_marks_monitor_backend(settings: Settings) -> None:
    async with recorded_with_search(settings) as (_app, pilot, screen):
        screen.show_snapshot(idle_in_transaction())
        await pilot.press("2")
        await pilot.pause()
        line = screen.query_one("#activity-chains").render()
        shown = line.plain if isinstance(line, Text) else str(line)
        assert f"blocking: {MONITOR_PID} (monitor) ← {IDLE_PID}" in shown


def test_flagged_operation_ages_out_while_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle polls reused the last rows, so a slow call kept its operation an
    error until the app ran another statement."""
    telemetry = Telemetry()
    settings = Settings(dsn="postgresql:///none", state_dir=tmp_path)
    monitor = Monitor(
        None, settings, conninfo="postgresql:///none", telemetry=telemetry
    )
    telemetry.record(
        QueryRecord("battles.list", "q", "SELECT 1", None, time.time(), 6.7, 1)
    )
    first, _ = monitor._app_side()
    assert first[0].severity is Severity.ERROR

    later = time.time() + appside.OPERATION_WINDOW_SECONDS + 5
    monkeypatch.setattr(appside.time, "time", lambda: later)
    idle, _ = monitor._app_side()

    assert idle[0].severity is Severity.OK
    assert idle[0].calls == 1

"""The status bar's parts: a state that arrives after they are gone, and how
they fit in 80 columns."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from textual.app import App, ComposeResult
from textual.reactive import reactive
from textual.widgets import Static

from evedmv_tui.widgets.status import (
    ConnectionState,
    Severity,
    StatusBar,
    StatusState,
)


class StatusApp(App[None]):
    status: reactive[StatusState] = reactive(StatusState)

    def compose(self) -> ComposeResult:
        yield StatusBar()


def connected() -> StatusState:
    return StatusState(connection=ConnectionState("connected", "PostgreSQL 15"))


async def test_state_after_parts_removed_is_skipped() -> None:
    """A screen pushed just before the app quit had its status bar mounted
    after the exiting app removed the bar's parts, and the query for the
    connection part raised NoMatches out of the app."""
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        await bar.query_one("#status-connection", Static).remove()
        app.status = connected()
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_state_change_shows_connection() -> None:
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.status = connected()
        await pilot.pause()
        part = app.query_one("#status-connection", Static)
        assert str(part.render()) == "DB connected"
        assert part.has_class("-ok")


def bar_line(app: App[None]) -> str:
    """Return the screen line of the status bar's first row, as shown."""
    bar = app.query_one(StatusBar)
    strips = app.screen._compositor.render_strips()
    return strips[bar.region.y].text.rstrip()


@pytest.mark.parametrize(
    ("acknowledged", "alerts"),
    [(0, "1 alert, worst critical"), (1, "1 alert acknowledged")],
)
async def test_alert_count_kept_whole_when_disconnected(
    acknowledged: int, alerts: str
) -> None:
    """At 80 columns a long disconnection reason cut the alert count mid-word:
    "... private cluster stopped  1 alert, worst critica"."""
    connection = ConnectionState(
        "disconnected",
        "private cluster stopped",
        since=dt.datetime(2026, 1, 1, 13, 47, 27),
        brief="private cluster stopped, and a long reason besides",
    )
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.status = StatusState(
            connection=connection,
            alert_count=1,
            alert_acknowledged=acknowledged,
            alert_severity=Severity.CRITICAL,
        )
        await pilot.pause()
        line = bar_line(app)
        app.status = dataclasses.replace(app.status, alert_count=0)
        await pilot.pause()
        no_alerts = bar_line(app)
    assert line.endswith(f"…  {alerts}"), line
    assert line.startswith(" DB disconnected since 13:47:27: private cluster")
    assert len(line) <= 80
    assert no_alerts.endswith("…  no alerts"), no_alerts
    assert len(no_alerts) <= 80


async def test_short_connection_not_cut() -> None:
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.status = StatusState(
            connection=ConnectionState(
                "disconnected",
                "stopped",
                since=dt.datetime(2026, 1, 1, 13, 47, 27),
                brief="private cluster stopped",
            ),
            alert_count=3,
            alert_severity=Severity.ERROR,
        )
        await pilot.pause()
        line = bar_line(app)
    assert line == (
        " DB disconnected since 13:47:27: private cluster stopped  3 alerts,"
        " worst error"
    )

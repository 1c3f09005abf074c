"""The header, status bar and Performance screen text after a lost connection."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import psycopg
import pytest
from textual.widgets import Static, TabbedContent

from evedmv_tui import app as app_module
from evedmv_tui.app import EvedmvApp, brief_reason
from evedmv_tui.config import Settings
from evedmv_tui.errors import DatabaseUnavailable
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Alert
from evedmv_tui.widgets.perf_dialogs import TextScreen
from evedmv_tui.widgets.status import ConnectionState
from tests.fakes.proxy import PgProxy, proxy_for
from tests.test_app_connection import settle
from tests.test_performance_screen import recorded_screen, recorded_snapshot, table

SOCKET_ERROR = (
    'connection failed: connection to server on socket "/x/.s.PGSQL.5432"'
    " failed: No such file or directory"
)


@pytest.fixture
async def proxy(db_url: str) -> AsyncIterator[PgProxy]:
    async with proxy_for(db_url) as server:
        yield server


def test_brief_reason_shortens_libpq_reasons() -> None:
    assert brief_reason(SOCKET_ERROR) == "no server socket"
    assert brief_reason("connection refused") == "connection refused"
    long_reason = brief_reason("x" * 80)
    assert len(long_reason) == app_module.BRIEF_REASON_CELLS
    assert long_reason.endswith("…")


def test_status_bar_part_names_reason() -> None:
    """The status bar used to show only the time, not why the connection failed."""
    state = ConnectionState(
        "disconnected",
        SOCKET_ERROR,
        since=dt.datetime(2026, 1, 1, 23, 28, 46),
        brief="no server socket",
    )
    assert state.describe() == "DB disconnected since 23:28:46: no server socket"


async def test_attempt_replaces_next_try(
    settings: Settings,
    db_url: str,
    proxy: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The header must not name a next try whose time has passed.

    The header kept "next try HH:MM:SS" while the attempt at that time ran.
    """
    monkeypatch.setattr(app_module, "HEARTBEAT_TIMEOUT", 1.0)
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    dsn = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=proxy.port)
    app = EvedmvApp(dataclasses.replace(settings, dsn=dsn))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        await proxy.stop()
        app.check_connection()
        await settle(app, pilot, lambda: "next try" in app.sub_title)
        assert app.sub_title.startswith("disconnected since ")
        assert ": connection refused, next try " in app.sub_title
        since = app.status.connection.since
        bar = str(app.screen.query_one("#status-connection", Static).render())
        assert bar == f"DB disconnected since {since:%H:%M:%S}: connection refused"

        app._reconnect()
        assert app.sub_title.endswith(", reconnecting…")
        assert "next try" not in app.sub_title
        await settle(app, pilot, lambda: "next try" in app.sub_title)
        assert app.status.connection.since == since


async def test_alert_gives_time_of_first_failure(settings: Settings) -> None:
    """The Alerts tab gave the monitor's later time, the summary the app's."""
    async with recorded_screen(settings) as (app, pilot, screen):
        lost = dt.datetime.now().replace(microsecond=0) - dt.timedelta(seconds=9)
        app._set_connection(ConnectionState("disconnected", "refused", since=lost))
        noticed = lost.timestamp() + 5
        error = "cannot connect (no server socket)"
        screen.show_snapshot(
            dataclasses.replace(
                recorded_snapshot(),
                connected=False,
                disconnected_since=noticed,
                error=error,
                alerts=[
                    Alert(
                        Severity.ERROR,
                        "connection",
                        f"disconnected since {noticed}: {error}",
                        "connection",
                    )
                ],
            )
        )
        await pilot.pause()
        summary = str(screen.query_one("#perf-summary", Static).render())
        assert f"disconnected since {lost:%H:%M:%S}, retrying: {error}" in summary
        expected = f"disconnected since {lost:%H:%M:%S}: {error}"
        # At 80 columns the table cuts the message, so compare its start.
        message = str(table(screen, "#alerts").get_row("connection")[-1])
        assert message.startswith(f"disconnected since {lost:%H:%M:%S}: ")
        assert expected.startswith(message.removesuffix("…"))


async def test_enter_shows_whole_alert(settings: Settings) -> None:
    """Enter on the Alerts tab did nothing, and a cut message stayed cut."""
    async with recorded_screen(settings) as (app, pilot, screen):
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-alerts"
        await pilot.pause()
        alerts = table(screen, "#alerts")
        [long_alert] = [a for a in recorded_snapshot().alerts if a.key == "note"]
        alerts.move_cursor(row=alerts.get_row_index("note"))
        alerts.focus()
        await pilot.pause()
        assert str(alerts.get_row("note")[-1]).endswith("…")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        assert app.screen.body == long_alert.message


async def test_failed_attempt_gives_error_title(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stopped private cluster read "disconnected since ...: stopped"."""
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        assert app.db is not None
        app.connection_lost(app.db, SOCKET_ERROR)
        assert app.status.connection.brief == "no server socket"
        app._connect_failed(
            DatabaseUnavailable(
                "private cluster stopped",
                "PostgreSQL in /x/pg: stopped",
                "start it with 'evedmv db start', or press ctrl+r",
            )
        )
        state = app.status.connection
        assert state.describe().endswith(": private cluster stopped")
        assert "next try" in app.sub_title

"""A server that stops responding without closing its connections.

The app reaches PostgreSQL through a TCP proxy on 127.0.0.1 that the test
can freeze: it keeps every socket open but forwards nothing, as a server or
backend stopped with SIGSTOP does. No error ever arrives, so only a
client-side deadline can notice.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from textual.widgets import Static

from evedmv_tui import app as app_module
from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens import performance as performance_module
from evedmv_tui.screens.performance import PerformanceScreen
from evedmv_tui.store.db import Database
from tests.fakes.proxy import PgProxy, proxy_for


@pytest.fixture
async def proxy(db_url: str) -> AsyncIterator[PgProxy]:
    async with proxy_for(db_url) as server:
        yield server


async def settle(app: EvedmvApp, pilot: Any, until: Any, rounds: int = 300) -> None:
    """Let workers and timers run until ``until()`` is true, up to ``rounds`` pauses."""
    for _ in range(rounds):
        if until():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"condition not reached; status is {app.status}")


def proxied_settings(settings: Settings, db_url: str, proxy: PgProxy) -> Settings:
    dsn = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=proxy.port)
    return dataclasses.replace(settings, dsn=dsn)


async def check_while_silent(
    app: EvedmvApp, pilot: Any, proxy: PgProxy, monkeypatch: pytest.MonkeyPatch
) -> Database:
    """Connect, silence the proxy and check until the connection is not responding.

    Returns the app's database. Only that one check runs: the periodic
    checks and reconnection attempts wait 600 s.
    """
    monkeypatch.setattr(app_module, "HEARTBEAT_SECONDS", 600.0)
    monkeypatch.setattr(app_module, "HEARTBEAT_DEADLINE", 0.5)
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    await settle(app, pilot, lambda: app.db is not None)
    db = app.db
    assert db is not None
    proxy.flowing.clear()
    app.check_connection()
    await settle(app, pilot, lambda: app.status.connection.phase == "not responding")
    return db


async def test_stalled_check_shows_not_answering(
    settings: Settings,
    db_url: str,
    proxy: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check that never gets a response must not leave "DB connected" in view.

    The check used to wait forever on a stopped server while the header and
    the status bar kept showing the connection as working.
    """
    app = EvedmvApp(proxied_settings(settings, db_url, proxy))
    async with app.run_test(size=(80, 24)) as pilot:
        db = await check_while_silent(app, pilot, proxy, monkeypatch)
        bar = str(app.screen.query_one("#status-connection", Static).render())
        assert bar.startswith("DB not responding since ")
        assert app.sub_title.startswith("not responding since ")
        assert app.db is db

        proxy.flowing.set()
        await settle(app, pilot, lambda: app.status.connection.phase == "connected")
        assert app.db is db
        assert app.status.message.startswith("the database did not respond from ")
        assert app.sub_title.startswith("connected: PostgreSQL ")


async def test_stall_becomes_loss_since_first_silence(
    settings: Settings,
    db_url: str,
    proxy: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that stays silent is lost as of the first check that got no response."""
    monkeypatch.setattr(app_module, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(app_module, "HEARTBEAT_DEADLINE", 0.5)
    monkeypatch.setattr(app_module, "HEARTBEAT_QUICK_BORROW", 0.2)
    monkeypatch.setattr(app_module, "HEARTBEAT_TIMEOUT", 1.0)
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(proxied_settings(settings, db_url, proxy))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)

        proxy.flowing.clear()
        await settle(
            app, pilot, lambda: app.status.connection.phase == "not responding"
        )
        silent_since = app.status.connection.since
        await settle(app, pilot, lambda: app.status.connection.phase == "disconnected")
        assert app.db is None
        assert app.status.connection.since == silent_since


async def test_exit_cuts_connections_waiting_on_silent_server(
    settings: Settings,
    db_url: str,
    proxy: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quitting while the server was silent closed the screen, but the process
    then waited for the connection check's thread until the server responded,
    which may be never."""
    app = EvedmvApp(proxied_settings(settings, db_url, proxy))
    async with app.run_test(size=(80, 24)) as pilot:
        db = await check_while_silent(app, pilot, proxy, monkeypatch)
        assert db.open_connections
    # The process exits once the threads of its workers end. The check's
    # thread ends when its connection fails, while the proxy stays silent.
    for _ in range(200):
        if not db.open_connections:
            break
        await asyncio.sleep(0.1)
    assert db.open_connections == 0
    assert not proxy.flowing.is_set()


async def test_performance_shows_stale_poll(
    settings: Settings,
    db_url: str,
    proxy: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A poll stuck on a silent server marks the screen's data as stale.

    The summary line used to keep the last poll's cost and the panels their
    old rows, so nothing showed that no new data came. After the server
    responded again, no record of the gap was left.
    """
    monkeypatch.setattr(app_module, "HEARTBEAT_SECONDS", 600.0)
    monkeypatch.setattr(performance_module, "STALE_MIN_SECONDS", 1.0)
    app = EvedmvApp(
        dataclasses.replace(
            proxied_settings(settings, db_url, proxy), poll_interval=0.5
        )
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        app.push_screen(PerformanceScreen())
        await settle(
            app,
            pilot,
            lambda: (
                isinstance(app.screen, PerformanceScreen)
                and app.screen.snapshot is not None
                and app.screen.snapshot.connected
            ),
        )
        summary = app.screen.query_one("#perf-summary", Static)

        proxy.flowing.clear()
        await settle(app, pilot, lambda: "data stale since" in str(summary.render()))
        assert "poll" not in str(summary.render()).split(":", 1)[0]
        assert "waited" in str(summary.render())

        proxy.flowing.set()
        title = "Performance data was stale"
        await settle(
            app, pilot, lambda: any(n.title == title for n in app._notifications)
        )
        [gap] = [n for n in app._notifications if n.title == title]
        assert gap.message.startswith("no data from ")
        await settle(app, pilot, lambda: "data stale" not in str(summary.render()))

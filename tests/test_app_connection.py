"""Losing and regaining the database while the dashboard stays up.

The app reaches PostgreSQL through a TCP proxy on 127.0.0.1 that the test
starts and stops, so the connection really drops and really comes back.
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
from evedmv_tui.screens.home import HomeScreen
from tests.fakes.proxy import PgProxy, proxy_for


@pytest.fixture
async def proxy(db_url: str) -> AsyncIterator[PgProxy]:
    async with proxy_for(db_url) as server:
        yield server


async def test_proxy_stop_drops_connection_being_opened(
    proxy: PgProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client accepted just before stop() stayed connected, because its
    handler was still opening the upstream socket and added both sides to the
    streams to close only after stop() had closed the others. A pooled
    connection opened that way kept the app connected through a stopped proxy."""
    opening = asyncio.Event()
    release = asyncio.Event()
    open_unix_connection = asyncio.open_unix_connection

    async def held_open(*args: Any, **kwargs: Any) -> Any:
        opening.set()
        await release.wait()
        return await open_unix_connection(*args, **kwargs)

    monkeypatch.setattr(asyncio, "open_unix_connection", held_open)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        await asyncio.wait_for(opening.wait(), 10)
        await proxy.stop()
        release.set()
        assert await asyncio.wait_for(reader.read(), 10) == b""
    finally:
        writer.close()


async def settle(app: EvedmvApp, pilot: Any, until: Any, rounds: int = 200) -> None:
    """Let workers and timers run until ``until()`` holds (bounded)."""
    for _ in range(rounds):
        if until():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"condition not reached; status is {app.status}")


async def test_connection_lost_and_regained(
    settings: Settings,
    db_url: str,
    proxy: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "HEARTBEAT_TIMEOUT", 1.0)
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    dsn = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=proxy.port)
    app = EvedmvApp(dataclasses.replace(settings, dsn=dsn))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        first_capabilities = app.capabilities

        await proxy.stop()
        app.check_connection()
        title = "Database connection lost"
        # notify() posts a message, so the notification arrives after the
        # status changed.
        await settle(
            app,
            pilot,
            lambda: (
                app.status.connection.phase == "disconnected"
                and any(n.title == title for n in app._notifications)
            ),
        )
        assert app.db is None
        assert app.db_reason is not None
        assert isinstance(app.screen, HomeScreen)
        bar = str(app.screen.query_one("#status-connection", Static).render())
        assert bar.startswith("DB disconnected since ")
        assert app.sub_title.startswith("disconnected since ")
        assert "next try" in app.sub_title
        [lost] = [n for n in app._notifications if n.title == title]
        assert "ctrl+r retries now" in lost.message

        await proxy.start()
        await pilot.press("ctrl+r")
        await settle(app, pilot, lambda: app.status.connection.phase == "connected")
        assert app.db is not None
        assert app.capabilities is not first_capabilities
        await settle(
            app,
            pilot,
            lambda: (
                "Killmails stored"
                in str(app.screen.query_one("#overview", Static).render())
            ),
        )


async def test_query_while_disconnected_shows_status(
    settings: Settings, db_url: str, proxy: PgProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reloading a screen with no connection must set a message, not crash."""
    monkeypatch.setattr(app_module, "HEARTBEAT_TIMEOUT", 1.0)
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    dsn = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=proxy.port)
    app = EvedmvApp(dataclasses.replace(settings, dsn=dsn))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        await proxy.stop()
        app.check_connection()
        await settle(app, pilot, lambda: app.db is None)
        await pilot.press("r")
        await pilot.pause()
        assert "not connected" in app.status.message
        assert app.is_running


async def test_ctrl_r_finds_lost_server_at_once(
    settings: Settings,
    db_url: str,
    proxy: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check the user starts reports a gone server without the pool's wait.

    The check used to wait for a pooled connection until its timeout while
    the status bar still showed "DB connected".
    """
    monkeypatch.setattr(app_module, "HEARTBEAT_TIMEOUT", 600.0)
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    dsn = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=proxy.port)
    app = EvedmvApp(dataclasses.replace(settings, dsn=dsn))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        await pilot.press("ctrl+r")
        await settle(app, pilot, lambda: "server answers" in app.status.message)
        assert app.db is not None

        await proxy.stop()
        await pilot.press("ctrl+r")
        assert app.status.message == "checking the database connection…"
        await settle(app, pilot, lambda: app.status.connection.phase != "connected")
        assert app.status.connection.phase == "disconnected"
        assert app.db_reason is not None
        assert "Connection refused" in app.db_reason


async def test_late_check_failure_after_reconnect_is_ignored(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that fails after a newer one succeeded must not report a loss.

    A slow check started while the server was down used to end after the
    server was back and show "Database connection lost" next to
    "DB connected".
    """
    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot, lambda: app.db is not None)
        db = app.db
        assert db is not None
        stale = app._heartbeat_serial + 1
        app.check_connection()
        app.check_connection(announce=True)
        await settle(app, pilot, lambda: "server answers" in app.status.message)
        app._heartbeat_failed(db, stale, "couldn't get a connection after 5.00 sec")
        await pilot.pause()
        assert app.db is db
        assert app.status.connection.phase == "connected"
        assert not [n for n in app._notifications if "lost" in (n.title or "")]

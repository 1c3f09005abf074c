"""The Home screen's Server panel after a setup problem is fixed."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.home import HomeScreen
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import migrate

MISSING = "pg_stat_statements is not installed in this database"
MONITOR_ONLY = "monitor only, because no evedmv migration is applied"


async def settle(pilot: Any, until: Any, rounds: int = 200) -> None:
    """Let workers and timers run until ``until()`` is true, up to ``rounds`` pauses."""
    for _ in range(rounds):
        if until():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


async def test_reload_rereads_capabilities(settings: Settings, db_url: str) -> None:
    """Pressing r shows that a missing extension was created meanwhile.

    The panel used to show the capabilities read when the dashboard
    connected, so the warning stayed until the dashboard restarted.
    """
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
    app = EvedmvApp(dataclasses.replace(settings, dsn=db_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
        panel = app.screen.query_one("#capabilities", Static)
        await settle(pilot, lambda: MISSING in str(panel.render()))

        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        await pilot.press("r")
        await settle(pilot, lambda: MISSING not in str(panel.render()))
        assert "pg_stat_statements 1." in str(panel.render())
        assert app.capabilities is not None
        assert app.capabilities.pg_stat_statements


async def test_reload_leaves_monitor_only_mode(
    settings: Settings, bare_url: str
) -> None:
    """Pressing r after 'evedmv db migrate' in another shell ends monitor-only mode.

    The schema was checked only when the dashboard connected, so Home kept
    saying "monitor only" after the migration, while the other screens
    already read the new tables.
    """
    app = EvedmvApp(dataclasses.replace(settings, dsn=bare_url, offline=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
        panel = app.screen.query_one("#capabilities", Static)
        await settle(pilot, lambda: MONITOR_ONLY in str(panel.render()))

        with Database(bare_url, min_size=1, max_size=1) as other_shell:
            migrate(other_shell)
        await pilot.press("r")
        overview = app.screen.query_one("#overview", Static)
        await settle(pilot, lambda: "No static data yet" in str(overview.render()))
        await settle(pilot, lambda: MONITOR_ONLY not in str(panel.render()))
        assert app.db is not None
        assert app.db.schema_problem is None
        assert app.capabilities is not None
        assert not any(MONITOR_ONLY in w for w in app.capabilities.warnings)

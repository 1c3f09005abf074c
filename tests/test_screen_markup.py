"""Text typed by the user or read from the database is shown as written.

Square brackets in such text must never be parsed as Textual markup: ``[/]``
raises a MarkupError when rendered, and ``[b]`` changes the style.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from textual.widgets import Static
from textual.widgets._toast import Toast

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.intel.watch import ProfileSpec
from evedmv_tui.screens.entity import AllianceScreen
from evedmv_tui.screens.watch import WatchScreen
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()


def text_of(app: EvedmvApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_entity_query_with_closing_tag(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("alliance", "no such [/]alliance")
        await settle(pilot)
        assert app.is_running
        assert isinstance(app.screen, AllianceScreen)
        title = text_of(app, "#entity-title")
        assert "No alliance with the id or name" in title
        assert "'no such [/]alliance'" in title


async def test_watch_profile_name_with_markup(db: Database, settings: Settings) -> None:
    watch.create_profile(db, ProfileSpec("[/] [b]camp", min_value=1e9))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert app.is_running
        assert isinstance(app.screen, WatchScreen)
        title = text_of(app, "#matches-title")
        assert title.startswith("Matches of [/] [b]camp: none yet")
        # The empty list points at the command that matches stored kills.
        assert title.endswith("(stored kills: evedmv watch backfill)")


async def test_export_toast_shows_path_verbatim(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    insert_static(db)
    side_a = fleet(6, 98_000_701, 99_000_701)
    side_b = fleet(6, 98_000_702, 99_000_702)
    insert_kills(db, brawl(side_a, side_b, kills=20))
    detect_all(db)
    [battle] = list_battles(db)
    app = EvedmvApp(dataclasses.replace(settings, state_dir=tmp_path / "[b]state"))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.open_screen("battle", battle.battle_id)
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        toasts = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert any("[b]state/exports/battle-" in text for text in toasts)

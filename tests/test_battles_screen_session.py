"""The Battles list keeps its filter and sort while the app runs."""

from __future__ import annotations

from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.screens.battles import BattlesScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_screens import battles_db, open_battles, settle

__all__ = ["battles_db"]


def summary_of(screen: BattlesScreen) -> str:
    return str(screen.query_one("#battles-summary").render())


async def test_filter_and_sort_kept_after_leaving(
    battles_db: Database, settings: Settings
) -> None:
    """A filter applied with f, and the sort, used to be gone when the
    screen was left and opened again with b."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        await pilot.press("f")
        await pilot.press(*"kills=20", "enter")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert screen.query_one(KeyedTable).row_count == 1
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, BattlesScreen)

        again = await open_battles(app, pilot)

        assert again is not screen
        assert again.query_one(KeyedTable).row_count == 1
        summary = summary_of(again)
        assert summary.startswith("1 battle | sorted by kills")
        assert "filter kills=20" in summary
        assert again.query_one("#battles-filter", Input).value == "kills=20"


async def test_empty_filter_kept_too(battles_db: Database, settings: Settings) -> None:
    """Clearing the filter is kept as well: the list opens unfiltered."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_battles(app, pilot)
        await pilot.press("f")
        await pilot.press(*"kills=20", "enter")
        await settle(pilot)
        await pilot.press("f", "ctrl+u", "enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)

        again = await open_battles(app, pilot)

        assert again.query_one(KeyedTable).row_count == 2
        assert "filter" not in summary_of(again)


async def test_system_argument_wins_over_kept_filter(
    battles_db: Database, settings: Settings
) -> None:
    """Opening the list on a system, as search does, shows that system's
    battles and not the filter kept from the b screen."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_battles(app, pilot)
        await pilot.press("f")
        await pilot.press(*"kills=20", "enter")
        await settle(pilot)

        app.open_screen("battles", "Perimeter")
        await settle(pilot)

        screen = app.screen
        assert isinstance(screen, BattlesScreen)
        (shown,) = screen.query_one(KeyedTable).row_keys
        perimeter = [b for b in list_battles(battles_db) if b.kills == 16]
        assert shown == str(perimeter[0].battle_id)
        assert "filter system=Perimeter" in summary_of(screen)

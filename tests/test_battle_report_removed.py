"""The battle report of a battle that another process removed."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.overrides import move_entity
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.screens.battle_report import BattleReportScreen, SideSummary
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.plot import SeriesPlot
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static
from tests.test_battle_screens import open_report, settle

NOT_STORED = "cannot be exported or changed. Press b to list the stored battles."
MOVED = 98_000_502
"""The corporation the tests move to a new side."""


@pytest.fixture
def battle_id(db: Database) -> int:
    """Detect one battle of 20 kills in Jita, with one corporation moved."""
    insert_static(db)
    side_a = fleet(6, 98_000_501, 99_000_501) + fleet(3, MOVED, 99_000_501)
    side_b = fleet(8, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=20))
    detect_all(db)
    (battle,) = list_battles(db)
    move_entity(db, battle.battle_id, "corporation", MOVED, None)
    return battle.battle_id


def remove_battles(db: Database) -> None:
    """Detect again with a kill threshold that no stored fight reaches, as
    ``battles detect --set hour_min_kills=200`` does."""
    detect_all(db, dataclasses.replace(BattleParameters(), hour_min_kills=200))
    assert list_battles(db) == []


def header_of(screen: BattleReportScreen) -> str:
    return str(screen.query_one("#battle-header", Static).render())


def assert_cleared(screen: BattleReportScreen, battle_id: int) -> None:
    """Check that the screen shows no part of the removed report."""
    header = header_of(screen)
    assert f"Battle {battle_id} is no longer stored" in header
    assert "Press b to list the stored battles" in header
    assert screen.report is None
    assert screen.query_one("#battle-entities", KeyedTable).row_count == 0
    assert screen.query_one("#battle-killmails", KeyedTable).row_count == 0
    assert not screen.query(SideSummary)
    assert str(screen.query_one("#battle-composition", Static).render()) == ""
    assert not screen.query_one(SeriesPlot).series
    assert str(screen.query_one("#entity-reason", Static).render()) == ""
    actions = {b.binding.action for b in screen.active_bindings.values()}
    for action in ("export", "move(1)", "move(-1)", "move_new", "reset_sides"):
        assert action not in actions


def messages_of(app: EvedmvApp) -> list[str]:
    return [note.message for note in app._notifications]


def unexpected_errors(app: EvedmvApp) -> list[Any]:
    return [note for note in app._notifications if note.severity == "error"]


async def test_reload_clears_removed_battle(
    battle_id: int, db: Database, settings: Settings
) -> None:
    """After r, a removed battle's tables kept their rows and the footer
    kept offering moves and export, which wrote the old report to disk."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        await pilot.press("5")
        await settle(pilot)
        assert screen.query_one("#battle-entities", KeyedTable).row_count > 0
        remove_battles(db)
        await pilot.press("r")
        await settle(pilot)
        assert_cleared(screen, battle_id)
        for key in ("x", "right_square_bracket", "n", "u"):
            app.clear_notifications()
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is screen
            notes = [m for m in messages_of(app) if NOT_STORED in m]
            assert len(notes) == 1, key
        assert not (settings.state_dir / "exports").exists()


async def test_reopening_shows_removed_battle(
    battle_id: int, db: Database, settings: Settings
) -> None:
    """Opening a battle whose report is under the current screen showed
    the report as it was loaded, though the battle had been removed."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        assert screen.report is not None
        killmail_id = screen.report.killmails[0].killmail_id
        app.open_screen("killmail", killmail_id)
        await settle(pilot)
        assert app.screen is not screen
        remove_battles(db)
        app.open_screen("battle", battle_id)
        await settle(pilot)
        assert app.screen is screen
        assert_cleared(screen, battle_id)


async def test_closing_palette_reloads_report(
    battle_id: int, db: Database, settings: Settings
) -> None:
    """The command palette opens over the report; when it closes, as when
    it opens this battle, the report is loaded again."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        remove_battles(db)
        app.action_command_palette()
        await settle(pilot)
        assert app.screen is not screen
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert_cleared(screen, battle_id)


async def test_export_of_removed_battle_writes_nothing(
    battle_id: int, db: Database, settings: Settings
) -> None:
    """x on a report whose battle was removed since it loaded wrote the
    old report; it now writes nothing and clears the report."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        remove_battles(db)
        await pilot.press("x")
        await settle(pilot)
        assert_cleared(screen, battle_id)
        assert [m for m in messages_of(app) if NOT_STORED in m]
        assert not unexpected_errors(app)
    assert not (settings.state_dir / "exports").exists()


@pytest.mark.parametrize("key", ["right_square_bracket", "n"])
async def test_move_of_removed_battle_clears_report(
    battle_id: int, db: Database, settings: Settings, key: str
) -> None:
    """A move key on a report whose battle was removed since it loaded
    clears the report with a notification, not an error."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        await pilot.press("5")
        table = screen.query_one("#battle-entities", KeyedTable)
        table.move_cursor(row=table.row_keys.index("corporation:98000501"))
        remove_battles(db)
        await pilot.press(key)
        await settle(pilot)
        assert_cleared(screen, battle_id)
        assert [m for m in messages_of(app) if NOT_STORED in m]
        assert not unexpected_errors(app)

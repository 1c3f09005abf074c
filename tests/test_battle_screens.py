"""Pilot tests of the battles and battle report screens at 80x24 and 120x40."""

from __future__ import annotations

from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.screens.battle_report import BattleReportScreen
from evedmv_tui.screens.battles import BattlesScreen, parse_filter
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_fixtures import (
    PERIMETER,
    brawl,
    fleet,
    insert_kills,
    insert_static,
)

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def battles_db(db: Database) -> Database:
    """Two detected battles with names, one in Jita and one in Perimeter."""
    insert_static(db)
    side_a = fleet(6, 98_000_501, 99_000_501) + fleet(3, 98_000_502, 99_000_501)
    side_b = fleet(8, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=30))
    insert_kills(db, brawl(side_a, side_b, kills=16, start=300, system=PERIMETER))
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES"
        " (99000501, 'alliance', '[b]Bracket[/b] Alliance'),"
        " (99000502, 'alliance', 'Pandemic Horde'),"
        " (98000501, 'corporation', 'First Corp'),"
        " (98000502, 'corporation', 'Second Corp')"
    )
    detect_all(db)
    return db


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
async def test_battles_table_lists_and_sorts(
    battles_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattlesScreen)
        table = screen.query_one(KeyedTable)
        assert table.row_count == 2
        newest = list_battles(battles_db)[0]
        assert table.row_keys[0] == str(newest.battle_id)
        await pilot.press("s")
        await pilot.pause()
        biggest = max(list_battles(battles_db), key=lambda b: b.kills)
        assert table.row_keys[0] == str(biggest.battle_id)
        assert "sorted by kills" in str(screen.query_one("#battles-summary").render())


async def test_battles_filter_and_refresh_keep_cursor(
    battles_db: Database, settings: Settings
) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattlesScreen)
        table = screen.query_one(KeyedTable)
        await pilot.press("down")
        selected = table.cursor_key
        await pilot.press("r")
        await settle(pilot)
        assert table.cursor_key == selected
        await pilot.press("f")
        await pilot.press(*"kills=20", "enter")
        await settle(pilot)
        assert table.row_count == 1
        await pilot.press("f")
        await pilot.press(*"bogus=1", "enter")
        await pilot.pause()
        assert table.row_count == 1


@pytest.mark.parametrize("size", SIZES)
async def test_report_opens_and_moves_entity(
    battles_db: Database, settings: Settings, size: tuple[int, int]
) -> None:
    app = EvedmvApp(settings)
    biggest = max(list_battles(battles_db), key=lambda b: b.kills)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("s", "up", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BattleReportScreen)
        assert screen.battle_id == biggest.battle_id
        assert screen.report is not None
        header = str(screen.query_one("#battle-header").render())
        assert "30 kills" in header
        await pilot.press("5")
        await pilot.pause()
        entities = screen.query_one("#battle-entities", KeyedTable)
        entities.focus()
        corporation = "corporation:98000502"
        entities.move_cursor(row=entities.row_keys.index(corporation))
        before = next(e for e in screen.report.entities if e.entity_id == 98000502)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        after = next(e for e in screen.report.entities if e.entity_id == 98000502)
        assert after.side_no != before.side_no
        assert after.overridden
        await pilot.press("x")
        await pilot.pause()
        exported = settings.state_dir / "exports" / f"battle-{biggest.battle_id}.md"
        assert "Pandemic Horde" in exported.read_text()


def test_names_with_markup_are_shown_verbatim() -> None:
    """A name like ``[b]x[/b]`` must print as written, not turn bold or crash."""
    from rich.text import Text

    from evedmv_tui.screens.battle_report import _side_text

    class FakeReport:
        def side_label(self, number: int) -> str:
            return "[b]Bracket[/b] Alliance"

        def name(self, entity_id: int) -> str:
            return "[red]pilot"

    side = {
        "side": 1,
        "third_party": False,
        "efficiency": 0.5,
        "pilots": 3,
        "ships_fielded": 3,
        "ships_lost": 1,
        "isk_lost": 1.0,
        "isk_destroyed": 1.0,
        "loot_dropped": 0.0,
        "roles_present": {},
        "roles_lost": {},
        "top_damage": [[1, 10]],
    }
    text = _side_text(FakeReport(), side)  # type: ignore[arg-type]
    assert isinstance(text, Text)
    assert "[b]Bracket[/b] Alliance" in text.plain
    assert "[red]pilot" in text.plain


def test_parse_filter() -> None:
    criteria = parse_filter("system=New_Caldari kills=20 isk=1e9 since=2021-11-27")
    assert criteria.system == "New Caldari"
    assert criteria.min_kills == 20
    assert criteria.min_isk == 1e9
    assert criteria.since is not None
    with pytest.raises(ValueError, match="unknown filter"):
        parse_filter("colour=red")

"""Column widths of the battle report's entities table at 80 columns."""

from __future__ import annotations

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.overrides import move_entity
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.screens.battle_report import BattleEntityTable
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import (
    Pilot,
    brawl,
    fleet,
    insert_kills,
    insert_static,
)
from tests.test_battle_screens import open_report, settle

MOVED = 98_000_601
"""The corporation moved to a side of its own, whose reason is long."""


def corporations(count: int, first: int, alliance: int) -> list[Pilot]:
    """Return pilots of ``count`` corporations of ``alliance``, two each."""
    pilots: list[Pilot] = []
    for number in range(count):
        pilots += fleet(2, first + number, alliance)
    return pilots


@pytest.mark.parametrize("count", [2, 10], ids=["few rows", "scrolled rows"])
async def test_reason_takes_free_width(
    db: Database, settings: Settings, count: int
) -> None:
    """At 80 columns the reason was cut at about 30 characters, and about
    12 columns stayed empty before the scroll bar. The reason now takes
    every column that the other columns and the scroll bar leave."""
    insert_static(db)
    side_a = corporations(count, 98_000_601, 99_000_501)
    side_b = corporations(count, 98_000_701, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=30))
    detect_all(db)
    (battle,) = list_battles(db)
    move_entity(db, battle.battle_id, "corporation", MOVED, None)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        await pilot.press("5")
        await settle(pilot)
        table = screen.query_one(BattleEntityTable)
        # Only 10 corporations a side need more rows than the table shows.
        assert (table.row_count > table.size.height) == (count == 10)
        widths = sum(
            column.get_render_width(table) for column in table.columns.values()
        )
        scrollbar = (
            table.scrollbar_size_vertical if table.show_vertical_scrollbar else 0
        )
        assert not table.show_horizontal_scrollbar
        assert widths + scrollbar == table.size.width == 80
        reason = str(table.get_cell(f"corporation:{MOVED}", "reason"))
        assert reason.endswith("…")
        assert len(reason) + 2 == table.columns["reason"].get_render_width(table)

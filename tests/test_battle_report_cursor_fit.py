"""The entities table fits 80 columns wherever the cursor is."""

from __future__ import annotations

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static
from tests.test_battle_screens import open_report, settle

LONG_NAMED = 99_000_701
"""The alliance whose long name makes its reason take two lines."""


@pytest.mark.parametrize("corporations", [11, 12])
async def test_entities_fit_with_long_reason_line(
    db: Database, settings: Settings, corporations: int
) -> None:
    """No horizontal scroll bar, even when the reason line grows.

    The line under the table takes more lines for the long-named alliance,
    and the table loses as many. Rows that fitted before then need a
    vertical scroll bar, which must not push the cut reasons past the edge.
    """
    insert_static(db)
    side_a = [
        pilot
        for number in range(corporations)
        for pilot in fleet(3, 98_000_700 + number, LONG_NAMED)
    ]
    side_b = fleet(8, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=30))
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES (%s, 'alliance', %s)",
        (LONG_NAMED, "A Very Long Alliance Name " * 3),
    )
    detect_all(db)

    # Reasons long enough to be cut to the width left for them.
    db.execute("UPDATE battle_entities SET reason = reason || ', ' || repeat('x', 60)")
    (battle,) = list_battles(db)

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        await pilot.press("5")
        await settle(pilot)
        table = screen.query_one("#battle-entities", KeyedTable)
        assert table.row_count == corporations + 3
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await settle(pilot)
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert not table.show_horizontal_scrollbar, table.row_keys[row]

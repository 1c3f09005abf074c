"""The message of a side move names the side the entity joined."""

from __future__ import annotations

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.report import load_report
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_report_moves import MOVED, battle_id
from tests.test_battle_screens import open_report, settle

__all__ = ["battle_id"]


async def test_move_message_names_joined_side(
    battle_id: int, db: Database, settings: Settings
) -> None:
    """The message names the joined side by its label before the move.

    Sides are numbered again after a move. The new number alone can be the
    number the entity had before.
    """
    before = load_report(db, battle_id)
    (entity,) = (e for e in before.entities if e.entity_id == MOVED)
    assert len(before.sides) == 2
    target = 3 - entity.side_no
    key = "right_square_bracket" if target > entity.side_no else "left_square_bracket"
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        await pilot.press("5")
        table = screen.query_one("#battle-entities", KeyedTable)
        table.move_cursor(row=table.row_keys.index(f"corporation:{MOVED}"))
        await pilot.press(key)
        await settle(pilot)
        messages = [n.message for n in app._notifications]
    after = load_report(db, battle_id)
    (moved,) = (e for e in after.entities if e.entity_id == MOVED)
    assert messages[-1] == (
        f"moved {after.name(MOVED)} to the side of {before.side_label(target)}"
        f" (now side {moved.side_no}; sides are renumbered by ISK destroyed);"
        " u puts every moved entity back"
    )

"""Move keys on a report whose sides another dashboard changed since it loaded."""

from __future__ import annotations

from typing import Any

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.overrides import move_entity
from evedmv_tui.battles.report import load_report
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import message_log
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_report_moves import MOVED, battle_id
from tests.test_battle_screens import open_report, settle

__all__ = ["battle_id"]

OTHER = 98_000_501
"""A corporation of the moved one's alliance, which stays with the alliance."""
ROW = f"corporation:{OTHER}"


async def select_other(app: EvedmvApp, pilot: Any, battle_id: int) -> KeyedTable:
    """Open the report's Entities tab with the cursor on ``OTHER``."""
    screen = await open_report(app, pilot, battle_id)
    await pilot.press("5")
    table = screen.query_one("#battle-entities", KeyedTable)
    table.move_cursor(row=table.row_keys.index(ROW))
    await settle(pilot)
    return table


async def test_stale_move_names_keys_and_reloads(
    battle_id: int, db: Database, settings: Settings
) -> None:
    """Another dashboard's move renumbered the sides, and a move key then
    asked for the side the entity was on by then. The rejection named the
    command's --new-side option, and the entities list kept showing the old
    side. The message now names the keys, and the list shows the stored
    sides."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await select_other(app, pilot, battle_id)
        shown_side = str(table.get_cell(ROW, "side")).strip()
        # Another dashboard moves a corporation of the same alliance to the
        # other side, and the sides are numbered again.
        report = load_report(db, battle_id)
        moved = next(e for e in report.entities if e.entity_id == MOVED)
        move_entity(db, battle_id, "corporation", MOVED, 3 - moved.side_no)
        report = load_report(db, battle_id)
        stored_side = next(e for e in report.entities if e.entity_id == OTHER).side_no
        before = len(message_log(app).messages)
        await pilot.press(
            "right_square_bracket"
            if stored_side > int(shown_side)
            else "left_square_bracket"
        )
        await settle(pilot)
        messages = [m.text for m in list(message_log(app).messages)[before:]]
        notes = [note.message for note in app._notifications]
        side_after = str(table.get_cell(ROW, "side")).strip()

    assert abs(stored_side - int(shown_side)) == 1
    expected = (
        f"corporation {OTHER} is on side {stored_side} already;"
        " [ or ] moves it to another side, n to a new side"
    )
    assert expected in notes
    assert not [text for text in messages + notes if "--new-side" in text]
    assert side_after == str(stored_side)


async def test_move_of_a_member_gone_since(
    battle_id: int, db: Database, settings: Settings
) -> None:
    """A member that left the battle since the report loaded was refused
    with a hint naming 'evedmv battles show N --format json'; the screen
    names its Entities tab, which reloads without the member."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await select_other(app, pilot, battle_id)
        db.execute(
            "DELETE FROM battle_entities WHERE battle_id = %s"
            " AND entity_kind = 'corporation' AND entity_id = %s",
            (battle_id, OTHER),
        )
        await pilot.press("n")
        await settle(pilot)
        notes = [note.message for note in app._notifications]
        rows = table.row_keys

    assert (
        f"not moved: corporation {OTHER} is not in battle {battle_id} any more;"
        " the Entities tab shows its members now"
    ) in notes
    assert not [note for note in notes if "evedmv battles" in note]
    assert ROW not in rows

"""Moves typed in a burst on the battle report's entities tab."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.overrides import clear_overrides, move_entity
from evedmv_tui.battles.report import list_battles, load_report
from evedmv_tui.config import Settings
from evedmv_tui.screens import battle_report as battle_report_screen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import message_log
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static
from tests.test_battle_screens import open_report, settle

MOVED = 98_000_502
"""The corporation the keys move."""
KEY_STEPS = {"n": None, "left_square_bracket": -1, "right_square_bracket": 1}
"""Side steps of the move keys; None moves to a new side."""


@pytest.fixture
def battle_id(db: Database) -> int:
    """Detect one battle of 30 kills in Jita between two alliances."""
    insert_static(db)
    side_a = fleet(6, 98_000_501, 99_000_501) + fleet(3, MOVED, 99_000_501)
    side_b = fleet(8, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=30))
    detect_all(db)
    (battle,) = list_battles(db)
    return battle.battle_id


def replay(db: Database, battle_id: int, keys: list[str]) -> list[str]:
    """Apply ``keys`` one at a time from the detected sides, and return the
    message each applied move logs."""
    clear_overrides(db, battle_id)
    expected = []
    for key in keys:
        report = load_report(db, battle_id)
        entity = next(e for e in report.entities if e.entity_id == MOVED)
        step = KEY_STEPS[key]
        target = None if step is None else entity.side_no + step
        if target is not None and not 1 <= target <= len(report.sides):
            continue
        joined = "a new side" if target is None else report.side_label(target)
        move_entity(db, battle_id, "corporation", MOVED, target)
        report = load_report(db, battle_id)
        moved = next(e for e in report.entities if e.entity_id == MOVED)
        where = joined if target is None else f"the side of {joined}"
        expected.append(
            f"moved {report.name(MOVED)} to {where} (now side {moved.side_no};"
            " sides are renumbered by ISK destroyed); u puts every moved entity back"
        )
    return expected


async def test_burst_logs_every_move(
    battle_id: int,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Moves typed while one was being stored were applied, but the message
    log kept only the last one's message; it now keeps one per move."""
    gate = threading.Event()
    real_move = battle_report_screen.move_entity

    def slow_move(*args: Any) -> Any:
        gate.wait(10)
        return real_move(*args)

    monkeypatch.setattr(battle_report_screen, "move_entity", slow_move)
    keys = ["n", "left_square_bracket", "right_square_bracket"]
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        await pilot.press("5")
        table = screen.query_one("#battle-entities", KeyedTable)
        table.move_cursor(row=table.row_keys.index(f"corporation:{MOVED}"))
        await pilot.press(*keys)
        gate.set()
        await settle(pilot)
        logged = [
            m.text for m in message_log(app).messages if m.text.startswith("moved")
        ]
        popped_up = [
            note.message
            for note in app._notifications
            if note.message.startswith("moved")
        ]
    expected = replay(db, battle_id, keys)
    assert len(expected) == 3
    assert logged == expected
    # Only the last move of the burst pops up.
    assert popped_up == expected[-1:]

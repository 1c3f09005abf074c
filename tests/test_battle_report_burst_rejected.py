"""Move keys typed in a burst after a move that is rejected."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.report import load_report
from evedmv_tui.config import Settings
from evedmv_tui.screens import battle_report as battle_report_screen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import message_log
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_report_moves import battle_id
from tests.test_battle_screens import open_report, settle

__all__ = ["battle_id"]

ALLIANCE = 99_000_501
"""An alliance with every member of its side: moving it would leave one side."""


async def test_keys_after_rejected_move_act(
    battle_id: int,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each key of a burst acts or is logged, also after a rejected move."""
    report = load_report(db, battle_id)
    (entity,) = (e for e in report.entities if e.entity_id == ALLIANCE)
    toward, back = ("]", "[") if entity.side_no == 1 else ("[", "]")
    names = {"[": "left_square_bracket", "]": "right_square_bracket", "n": "n"}
    keys = [names[key] for key in (toward, toward, "n", back, toward)]
    gate = threading.Event()
    real_move = battle_report_screen.move_entity

    def slow_move(*args: Any) -> Any:
        gate.wait(10)
        return real_move(*args)

    monkeypatch.setattr(battle_report_screen, "move_entity", slow_move)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        await pilot.press("5")
        table = screen.query_one("#battle-entities", KeyedTable)
        table.move_cursor(row=table.row_keys.index(f"alliance:{ALLIANCE}"))
        await settle(pilot)
        before = len(message_log(app).messages)
        await pilot.press(*keys)
        gate.set()
        await settle(pilot)
        logged = [m.text for m in list(message_log(app).messages)[before:]]
    rejected = f"would put every member of battle {battle_id} on one side"
    alone = f"alliance {ALLIANCE} is alone on side {entity.side_no} already"
    last = "already on side 1" if back == "[" else "already on the last side"
    assert len(logged) == 5, logged
    assert rejected in logged[0]
    assert rejected in logged[1]
    assert alone in logged[2]
    assert logged[3].startswith(last)
    assert rejected in logged[4]
    # Nothing was stored.
    assert load_report(db, battle_id).entities == report.entities

"""The hint of ``evedmv battles move`` when the id is not one of the battle's."""

from __future__ import annotations

import pytest

from evedmv_tui.battles import overrides
from evedmv_tui.battles.report import list_battles
from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.test_battles_commands import fought

__all__ = ["fought"]


def test_unknown_id_hint_lists_members(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report's text formats show no ids, so the hint names some."""
    battle_id = list_battles(db)[0].battle_id
    capsys.readouterr()
    move = ["--dsn", fought, "battles", "move", str(battle_id)]

    assert main([*move, "alliance", "12345", "--side", "2"]) == 2
    error = capsys.readouterr().err
    sides = dict(
        db.fetch_all(
            "SELECT entity_id, side_no FROM battle_entities"
            " WHERE battle_id = %s AND entity_kind = 'alliance'",
            (battle_id,),
        )
    )
    assert set(sides) == {99000401, 99000402}
    assert f"99000402 Pandemic Horde (side {sides[99000402]})" in error
    assert f"99000401 Goonswarm <b>Federation</b> (side {sides[99000401]})" in error
    assert f"'evedmv battles show {battle_id} --format json'" in error

    # Characters that fly for an alliance are members through it.
    assert main([*move, "character", "12345", "--new-side"]) == 2
    error = capsys.readouterr().err
    assert f"battle {battle_id} has no character members" in error


def test_hint_counts_left_out_members(
    fought: str,
    db: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(overrides, "MEMBERS_IN_HINT", 1)
    battle_id = list_battles(db)[0].battle_id
    capsys.readouterr()
    move = ["--dsn", fought, "battles", "move", str(battle_id)]
    assert main([*move, "alliance", "12345", "--side", "2"]) == 2
    error = capsys.readouterr().err
    assert error.count("(side ") == 1
    assert " and more; " in error

"""Side overrides of battles that a detection removes and a later one finds.

The fight is the one of ``tests/test_battle_moves.py``: alliance A's
corporations A1 and A2 against alliance B, 19 kills in one hour.
"""

from __future__ import annotations

import logging
import re

import pytest

from evedmv_tui.battles.detect import detect_range, on_batch
from evedmv_tui.battles.parameters import BattleParameters, save_parameters
from evedmv_tui.battles.report import list_battles
from evedmv_tui.cli import main
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.store.db import Database
from tests.test_battle_moves import (
    CORPORATION_A1,
    CORPORATION_A2,
    sides_of,
    uneven,
)

__all__ = ["uneven"]


def detect(url: str, *args: str) -> int:
    return main(["--dsn", url, "battles", "detect", *args])


def moved_apart(url: str, db: Database) -> int:
    """Move corporation A1 to a side of its own; return the battle's id."""
    (battle,) = list_battles(db)
    move = ["--dsn", url, "battles", "move", str(battle.battle_id)]
    assert main([*move, "corporation", str(CORPORATION_A1), "--new-side"]) == 0
    return battle.battle_id


def test_parameter_round_trip_keeps_moves(
    uneven: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parameters that remove the battle and then find it again under a new
    id used to drop its manual moves without a word."""
    battle_id = moved_apart(uneven, db)
    moved = sides_of(db, battle_id)
    assert moved[CORPORATION_A1] != moved[CORPORATION_A2]
    capsys.readouterr()

    assert detect(uneven, "--set", "hour_min_kills=200") == 0
    out = capsys.readouterr().out
    assert list_battles(db) == []
    assert "1 removed" in out
    assert (
        "; 1 side override of removed battles kept aside until a battle takes"
        " most of their kills\n"
    ) in out
    assert db.fetch_value("SELECT count(*) FROM battle_overrides_kept") == 1

    assert detect(uneven, "--set", "hour_min_kills=10") == 0
    out = capsys.readouterr().out
    (again,) = list_battles(db)
    assert again.battle_id != battle_id
    assert "1 new" in out
    assert "; 1 kept side override adopted by the battle that took their kills" in out
    assert sides_of(db, again.battle_id) == moved
    assert db.fetch_value("SELECT count(*) FROM battle_overrides_kept") == 0
    assert db.fetch_value("SELECT count(*) FROM battle_overrides_kept_kills") == 0

    # Nothing is left to adopt, so the next rebuild prints nothing about it.
    assert detect(uneven, "--rebuild") == 0
    out = capsys.readouterr().out
    assert "override" not in out
    assert sides_of(db, again.battle_id) == moved


def test_minority_of_kills_adopts_nothing(
    uneven: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A battle that contains half of the kept killmails or fewer leaves the
    overrides kept aside."""
    moved_apart(uneven, db)
    assert detect(uneven, "--set", "hour_min_kills=200") == 0
    kills = [
        row[0]
        for row in db.fetch_all(
            "SELECT killmail_id FROM battle_overrides_kept_kills ORDER BY 1"
        )
    ]
    assert len(kills) == 19
    # The group gains 19 killmails that no battle holds, so the battle
    # found below holds 19 of its 38: half, not more than half.
    db.execute(
        "INSERT INTO battle_overrides_kept_kills (group_id, killmail_id)"
        " SELECT group_id, killmail_id + 1000000 FROM battle_overrides_kept_kills"
    )
    capsys.readouterr()

    assert detect(uneven, "--set", "hour_min_kills=10") == 0
    out = capsys.readouterr().out
    assert "adopted" not in out
    assert db.fetch_value("SELECT count(*) FROM battle_overrides_kept") == 1
    assert db.fetch_value("SELECT count(*) FROM battle_side_overrides") == 0


def test_incremental_detection_adopts(uneven: str, db: Database) -> None:
    """A detection of the fight's systems and hour, as after an import,
    adopts the kept overrides as a full detection does."""
    battle_id = moved_apart(uneven, db)
    moved = sides_of(db, battle_id)
    assert detect(uneven, "--set", "hour_min_kills=200") == 0
    save_parameters(db, BattleParameters())
    systems, start, end = db.fetch_one(
        "SELECT array_agg(DISTINCT solar_system_id), min(killmail_time),"
        " max(killmail_time) FROM killmails"
    ) or (None, None, None)

    summary = detect_range(db, systems, start, end)

    assert summary.created == 1
    assert summary.overrides_adopted == 1
    (again,) = list_battles(db)
    assert sides_of(db, again.battle_id) == moved


def test_heir_with_same_entity_drops_override(
    uneven: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """An adopted override for an entity that the battle moves already is
    dropped, and the detection's line reports it."""
    moved_apart(uneven, db)
    assert detect(uneven, "--set", "hour_min_kills=200") == 0
    assert detect(uneven, "--set", "hour_min_kills=10") == 0
    (again,) = list_battles(db)
    # Keep a second copy of the same move aside, as if an earlier battle of
    # these kills had been removed too.
    db.execute(
        "INSERT INTO battle_overrides_kept"
        " SELECT 1, entity_kind, entity_id, anchor_kind, anchor_id, new_side,"
        " created_at FROM battle_side_overrides"
    )
    db.execute(
        "INSERT INTO battle_overrides_kept_kills"
        " SELECT 1, killmail_id FROM battle_killmails WHERE battle_id = %s",
        (again.battle_id,),
    )
    capsys.readouterr()

    assert detect(uneven, "--rebuild") == 0
    out = capsys.readouterr().out
    assert re.search(
        r"; 1 side override dropped because the battle taking over already has"
        r" an override for the same entity\n$",
        out,
    )
    assert "1 kept side override adopted" not in out
    assert db.fetch_value("SELECT count(*) FROM battle_overrides_kept") == 0


def test_import_batch_warns_of_kept_overrides(
    uneven: str, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """An import prints no detection line, so the detection after a batch
    logs the overrides it keeps aside as a warning."""
    moved_apart(uneven, db)
    save_parameters(db, BattleParameters(hour_min_kills=200))
    rows = db.fetch_all(
        "SELECT killmail_id, killmail_time, solar_system_id FROM killmails"
    )
    batch = BatchResult(
        inserted_ids=(),
        updated_ids=tuple(row[0] for row in rows),
        min_time=min(row[1] for row in rows),
        max_time=max(row[1] for row in rows),
        solar_system_ids=tuple(sorted({row[2] for row in rows})),
    )

    with caplog.at_level(logging.WARNING, logger="evedmv_tui.battles.detect"):
        on_batch(db, batch)

    assert list_battles(db) == []
    (record,) = caplog.records
    assert record.getMessage() == (
        "battles after batch of 19 kills: side overrides of removed battles"
        " kept aside until a battle takes most of their kills: 1, dropped: 0"
    )

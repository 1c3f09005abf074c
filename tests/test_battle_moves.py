"""Moves of entities between battle sides through ``evedmv battles move``.

The fight has known ISK: corporation A1 of alliance A kills ten B ships of
30m, corporation A2 kills five of 10m and alliance B kills four A2 ships of
10m. Detection puts alliance A on side 1 and alliance B on side 2.
"""

from __future__ import annotations

import json

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.report import list_battles, load_report
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.test_battle_fixtures import fleet, insert_kills, insert_static, kill
from tests.test_battle_screens import open_report, settle

ALLIANCE_A = 99_100_001
CORPORATION_A1 = 98_100_001
CORPORATION_A2 = 98_100_002
ALLIANCE_B = 99_100_002


@pytest.fixture
def uneven(db: Database, db_url: str) -> str:
    """A database with the detected fight; returns its URL."""
    insert_static(db)
    a1 = fleet(3, CORPORATION_A1, ALLIANCE_A)
    a2 = fleet(3, CORPORATION_A2, ALLIANCE_A)
    b = fleet(3, 98_100_003, ALLIANCE_B)
    kills = [kill(n, b[n % 3], a1, value=30e6) for n in range(10)]
    kills += [kill(n + 0.2, b[n % 3], a2) for n in range(5)]
    kills += [kill(n + 0.4, a2[n % 3], b) for n in range(4)]
    insert_kills(db, kills)
    assert main(["--dsn", db_url, "battles", "detect", "--rebuild"]) == 0
    return db_url


def sides_of(db: Database, battle_id: int) -> dict[int, int]:
    """Return the side of every alliance and corporation of the battle."""
    return {e.entity_id: e.side_no for e in load_report(db, battle_id).entities}


def test_move_emptying_only_other_side_is_rejected(
    uneven: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Alliance A is alone on side 1: moving it to side 2 would leave one
    side, which used to store a battle with no side 1 at all."""
    (battle,) = list_battles(db)
    assert sides_of(db, battle.battle_id)[ALLIANCE_A] == 1
    move = ["--dsn", uneven, "battles", "move", str(battle.battle_id)]
    capsys.readouterr()

    assert main([*move, "alliance", str(ALLIANCE_A), "--side", "2"]) == 2
    error = capsys.readouterr().err
    assert (
        f"moving alliance {ALLIANCE_A} to side 2 would put every member of"
        f" battle {battle.battle_id} on one side"
    ) in error
    assert "move members of side 2 to side 1 instead" in error
    assert db.fetch_value("SELECT count(*) FROM battle_side_overrides") == 0
    (after,) = list_battles(db)
    assert after.side_count == 2

    # Moving its two corporations one by one ends the same way: the second
    # move is rejected.
    assert main([*move, "corporation", str(CORPORATION_A2), "--side", "2"]) == 0
    capsys.readouterr()
    assert main([*move, "corporation", str(CORPORATION_A1), "--side", "2"]) == 2
    assert "would put every member" in capsys.readouterr().err
    (after,) = list_battles(db)
    assert after.side_count == 2


def test_new_side_for_lone_entity_stores_nothing(
    uneven: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new side for the only member of a side would store a move that
    changes nothing."""
    (battle,) = list_battles(db)
    move = ["--dsn", uneven, "battles", "move", str(battle.battle_id)]
    capsys.readouterr()

    assert main([*move, "alliance", str(ALLIANCE_B), "--new-side"]) == 0
    assert capsys.readouterr().out == (
        f"alliance {ALLIANCE_B} is alone on side 2 already; nothing changed\n"
    )
    assert db.fetch_value("SELECT count(*) FROM battle_side_overrides") == 0


def test_moves_renumber_sides_everywhere(
    uneven: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """After each move the sides are 1..N by ISK destroyed in the stored
    battle, its entities and members, the metrics and the CLI output."""
    (battle,) = list_battles(db)
    battle_id = battle.battle_id
    move = ["--dsn", uneven, "battles", "move", str(battle_id)]
    capsys.readouterr()

    # A1 destroyed 300m, A2 50m and B 40m.
    assert main([*move, "corporation", str(CORPORATION_A1), "--new-side"]) == 0
    assert capsys.readouterr().out == (
        f"moved corporation {CORPORATION_A1} to side 1\n"
    )
    sides = sides_of(db, battle_id)
    assert sides[CORPORATION_A1] == 1
    assert sides[ALLIANCE_A] == sides[CORPORATION_A2] == 2
    assert sides[ALLIANCE_B] == 3
    (after,) = list_battles(db)
    assert after.side_count == 3
    # Only A2 and B lost ships.
    losses = db.fetch_all(
        "SELECT DISTINCT victim_alliance_id, side_no FROM battle_killmails"
        " WHERE battle_id = %s ORDER BY side_no",
        (battle_id,),
    )
    assert losses == [(ALLIANCE_A, 2), (ALLIANCE_B, 3)]

    show = ["--dsn", uneven, "battles", "show", str(battle_id)]
    assert main([*show, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    destroyed = {row["side"]: row["isk_destroyed"] for row in report["sides"]}
    assert sorted(destroyed) == [1, 2, 3]
    assert destroyed[1] > destroyed[2] > destroyed[3]

    # A2 joins A1: alliance A follows its corporations, and B is side 2.
    assert main([*move, "corporation", str(CORPORATION_A2), "--side", "1"]) == 0
    capsys.readouterr()
    sides = sides_of(db, battle_id)
    assert sides[CORPORATION_A1] == sides[CORPORATION_A2] == sides[ALLIANCE_A] == 1
    assert sides[ALLIANCE_B] == 2
    (after,) = list_battles(db)
    assert after.side_count == 2


async def test_move_keys_name_real_sides(
    uneven: str, db: Database, settings: Settings
) -> None:
    """] on the only member of side 1 is rejected with a message, n gives
    sides 1..3 and names the side the entity lands on, and ] on the last
    side names its real number. n on an entity alone on its side is a
    notice, not an error: nothing failed."""
    (battle,) = list_battles(db)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle.battle_id)
        await pilot.press("5")
        table = screen.query_one("#battle-entities", KeyedTable)
        table.focus()

        table.move_cursor(row=table.row_keys.index(f"alliance:{ALLIANCE_A}"))
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.report is not None
        assert len(screen.report.sides) == 2
        assert not any(e.overridden for e in screen.report.entities)
        messages = [note.message for note in app._notifications]
        assert any("would put every member" in m for m in messages), messages

        table.move_cursor(row=table.row_keys.index(f"corporation:{CORPORATION_A1}"))
        await pilot.press("n")
        await settle(pilot)
        assert [side["side"] for side in screen.report.metrics["sides"]] == [1, 2, 3]
        sides = {e.entity_id: e.side_no for e in screen.report.entities}
        assert sides[CORPORATION_A1] == 1
        assert sides[ALLIANCE_B] == 3
        name = screen.report.name(CORPORATION_A1)
        messages = [note.message for note in app._notifications]
        assert any(
            m.startswith(f"moved {name} to a new side (now side 1;") for m in messages
        )

        table.move_cursor(row=table.row_keys.index(f"alliance:{ALLIANCE_B}"))
        await pilot.press("right_square_bracket")
        await pilot.pause()
        messages = [note.message for note in app._notifications]
        assert "already on the last side, 3; n moves it to a new side" in messages

        await pilot.press("n")
        await settle(pilot)
        [alone] = [n for n in app._notifications if "alone on side 3" in n.message]
        assert alone.severity == "information"

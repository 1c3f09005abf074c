"""Battle writes that the server denies part way leave nothing behind.

The role in these tests may write some tables but not others, so the first
statements of a move or a parameter change succeed and a later one fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.battles.overrides import clear_overrides, move_entity
from evedmv_tui.battles.parameters import load_parameters
from evedmv_tui.battles.report import list_battles
from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.conftest import login_role
from tests.test_battle_moves import CORPORATION_A2, uneven

__all__ = ["uneven"]

READ_ALL = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"


@pytest.fixture
def override_writer(db_url: str) -> Iterator[str]:
    """URL of a role that may change side overrides but not battles."""
    grant = "GRANT INSERT, UPDATE, DELETE ON battle_side_overrides TO {}"
    with login_role(db_url, "mover", READ_ALL, grant) as url:
        yield url


@pytest.fixture
def parameter_writer(db_url: str) -> Iterator[str]:
    """URL of a role that may change detection parameters but not battles."""
    grant = "GRANT ALL ON battle_parameters TO {}"
    with login_role(db_url, "tuner", READ_ALL, grant) as url:
        yield url


def override_count(db: Database) -> int:
    return int(db.fetch_value("SELECT count(*) FROM battle_side_overrides") or 0)


def test_denied_move_stores_no_override(
    uneven: str,
    override_writer: str,
    db: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (battle,) = list_battles(db)
    capsys.readouterr()

    status = main(
        [
            "--dsn",
            override_writer,
            "battles",
            "move",
            str(battle.battle_id),
            "corporation",
            str(CORPORATION_A2),
            "--new-side",
        ]
    )

    assert status == 2
    assert "permission denied" in capsys.readouterr().err
    assert override_count(db) == 0


def test_denied_move_entity_stores_no_override(
    uneven: str, override_writer: str, db: Database
) -> None:
    """The dashboard's battle report calls move_entity directly."""
    (battle,) = list_battles(db)

    with (
        Database(override_writer, max_size=2) as mover,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        move_entity(mover, battle.battle_id, "corporation", CORPORATION_A2, None)

    assert override_count(db) == 0


def test_denied_clear_keeps_overrides(
    uneven: str, override_writer: str, db: Database
) -> None:
    (battle,) = list_battles(db)
    move_entity(db, battle.battle_id, "corporation", CORPORATION_A2, None)
    assert override_count(db) == 1

    with (
        Database(override_writer, max_size=2) as mover,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        clear_overrides(mover, battle.battle_id)

    assert override_count(db) == 1


def test_owner_move_and_clear_still_apply(uneven: str, db: Database) -> None:
    (battle,) = list_battles(db)

    move_entity(db, battle.battle_id, "corporation", CORPORATION_A2, None)
    moved = db.fetch_value(
        "SELECT max(side_no) FROM battle_sides WHERE battle_id = %s",
        (battle.battle_id,),
    )
    clear_overrides(db, battle.battle_id)
    cleared = db.fetch_value(
        "SELECT max(side_no) FROM battle_sides WHERE battle_id = %s",
        (battle.battle_id,),
    )

    assert moved == 3
    assert cleared == 2
    assert override_count(db) == 0


def test_denied_detection_keeps_old_parameters(
    uneven: str,
    parameter_writer: str,
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = load_parameters(db).quiet_minutes
    assert before != 45
    capsys.readouterr()

    status = main(
        [
            "--dsn",
            parameter_writer,
            "--data-dir",
            str(tmp_path),
            "battles",
            "detect",
            "--set",
            "quiet_minutes=45",
        ]
    )

    assert status == 2
    assert "permission denied" in capsys.readouterr().err
    assert load_parameters(db).quiet_minutes == before


def test_owner_set_stores_parameters(uneven: str, db: Database) -> None:
    status = main(["--dsn", uneven, "battles", "detect", "--set", "quiet_minutes=45"])

    assert status == 0
    assert load_parameters(db).quiet_minutes == 45

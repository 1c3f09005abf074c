"""Stored battles that need a full detection carry a note until one runs.

Detection leaves a battle alone while its kills stay the same, so battles
stored before a change to side assignment, static data or prices keep their
old sides and figures. The list, the report and both commands must print a note.
"""

from __future__ import annotations

import json

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.report import list_battles
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import migrate
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static
from tests.test_battle_screens import open_battles, open_report

SIDES_REVISED = 211
"""The migration that marks battles stored by an earlier side assignment."""

NOTE = "run 'evedmv battles detect --rebuild'"


@pytest.fixture
def fought(db: Database) -> Database:
    """One detected fight in Jita."""
    insert_static(db)
    side_a = fleet(6, 98_000_601, 99_000_601)
    side_b = fleet(6, 98_000_602, 99_000_602)
    insert_kills(db, brawl(side_a, side_b, kills=20))
    assert main(["--dsn", db.conninfo, "battles", "detect", "--rebuild"]) == 0
    return db


def outdated(db: Database) -> bool:
    return bool(db.fetch_value("SELECT battles_outdated FROM static_data_version"))


def rerun_sides_migration(db: Database) -> None:
    db.execute("DELETE FROM schema_migrations WHERE version = %s", (SIDES_REVISED,))
    migrate(db)


def test_migration_marks_stored_battles(fought: Database) -> None:
    assert not outdated(fought)

    rerun_sides_migration(fought)

    assert outdated(fought)


def test_migration_leaves_empty_database_current(db: Database) -> None:
    rerun_sides_migration(db)

    assert not outdated(db)


def test_commands_note_until_rebuilt(
    fought: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = fought.conninfo
    battle_id = list_battles(fought)[0].battle_id
    capsys.readouterr()
    fought.execute("UPDATE static_data_version SET battles_outdated = true")

    assert main(["--dsn", dsn, "battles", "list", "--json"]) == 0
    listed = capsys.readouterr()
    assert (
        main(["--dsn", dsn, "battles", "show", str(battle_id), "--format", "json"]) == 0
    )
    shown = capsys.readouterr()

    for output in (listed, shown):
        assert NOTE in output.err
        assert "detected before the static data" in output.err
        # The note stays off stdout, so the JSON still parses.
        json.loads(output.out)

    assert main(["--dsn", dsn, "battles", "detect", "--rebuild"]) == 0
    capsys.readouterr()
    assert main(["--dsn", dsn, "battles", "list"]) == 0
    assert main(["--dsn", dsn, "battles", "show", str(battle_id)]) == 0
    assert NOTE not in capsys.readouterr().err
    assert not outdated(fought)


@pytest.mark.parametrize("flag", [True, False])
async def test_screens_mark_outdated(
    fought: Database, settings: Settings, flag: bool
) -> None:
    fought.execute("UPDATE static_data_version SET battles_outdated = %s", (flag,))
    battle_id = list_battles(fought)[0].battle_id
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        battles = await open_battles(app, pilot)
        summary = str(battles.query_one("#battles-summary").render())
        report = await open_report(app, pilot, battle_id)
        header = str(report.query_one("#battle-header").render())

    for text in (summary, header):
        assert ("out of date: " + NOTE in text) is flag, text

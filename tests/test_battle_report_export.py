"""Export from the battle report when its files cannot be written."""

from __future__ import annotations

from pathlib import Path

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.report import list_battles
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static
from tests.test_battle_screens import open_report, settle

HINT = (
    "Rename or remove what is at that path if it is in the way, or point"
    " EVEDMV_STATE_DIR at a writable directory."
)


@pytest.fixture
def battle_id(db: Database) -> int:
    """Detect one battle of 20 kills in Jita and return its id."""
    insert_static(db)
    side_a = fleet(6, 98_000_501, 99_000_501)
    side_b = fleet(6, 98_000_503, 99_000_502)
    insert_kills(db, brawl(side_a, side_b, kills=20))
    detect_all(db)
    (battle,) = list_battles(db)
    return battle.battle_id


def errors_of(app: EvedmvApp) -> list[str]:
    return [
        note.message
        for note in app._notifications
        if note.severity == "error" and note.title == "Export failed"
    ]


async def export_errors(settings: Settings, battle_id: int) -> list[str]:
    """Press x on the report of ``battle_id``; return the export errors shown.

    The report must stay open whatever the export met.
    """
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_report(app, pilot, battle_id)
        await pilot.press("x")
        await settle(pilot)
        assert app.screen is screen
        return errors_of(app)


async def test_export_folder_is_a_file(battle_id: int, settings: Settings) -> None:
    """A file where the exports folder belongs stops the export with a
    notification that names it, and the app keeps running."""
    folder = settings.state_dir / "exports"
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    errors = await export_errors(settings, battle_id)
    assert errors == [f"Could not create the folder {folder}: File exists. {HINT}"]
    assert folder.read_text() == "not a folder"


async def test_export_file_is_a_folder(battle_id: int, settings: Settings) -> None:
    """A folder in place of the Markdown file stops the export with a
    notification that names that path."""
    target = settings.state_dir / "exports" / f"battle-{battle_id}.md"
    target.mkdir(parents=True)
    errors = await export_errors(settings, battle_id)
    assert errors == [f"Could not write {target}: Is a directory. {HINT}"]
    assert not target.with_suffix(".json").exists()


async def test_export_recipe_is_a_folder(battle_id: int, settings: Settings) -> None:
    """The report files are written when the recipe next to them cannot
    be, and the notification names both the files and the recipe's path."""
    stem = settings.state_dir / "exports" / f"battle-{battle_id}"
    recipe = Path(f"{stem}.recipe.json")
    recipe.mkdir(parents=True)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_report(app, pilot, battle_id)
        await pilot.press("x")
        await settle(pilot)
        errors = errors_of(app)
        other_errors = [note for note in app._notifications if note.severity == "error"]
    assert Path(f"{stem}.md").is_file()
    assert Path(f"{stem}.json").is_file()
    assert errors == [
        f"Exported {stem}.md and {stem}.json, but could not write the recipe"
        f" {recipe}: Is a directory. {HINT}"
    ]
    assert len(other_errors) == 1


async def test_export_while_disconnected_folder_is_a_file(
    battle_id: int, settings: Settings
) -> None:
    """Without a connection, the report files meet the same check."""
    folder = settings.state_dir / "exports"
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_report(app, pilot, battle_id)
        db = app.db
        app.db = None
        await pilot.press("x")
        await settle(pilot)
        app.db = db
        errors = errors_of(app)
    assert errors == [f"Could not create the folder {folder}: File exists. {HINT}"]

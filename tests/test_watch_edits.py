"""Watch profile checks that ``evedmv watch`` and the dashboard's form share."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.screens.watch import ProfileForm, form_values, read_form
from evedmv_tui.store.db import Database
from tests.test_watch_form_fixes import save_form
from tests.test_watch_screen_keys import open_watch, settle

RIFTER = 587


def store_rifter(db: Database) -> None:
    db.execute(
        "INSERT INTO groups (group_id, group_name, category_id, published,"
        " ship_class) VALUES (25, 'Frigate', 6, true, 'frigate')"
    )
    db.execute(
        "INSERT INTO types (type_id, type_name, group_id, published) VALUES"
        " (587, 'Rifter', 25, true)"
    )


@pytest.fixture
def cli(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Database:
    """The test database, with the command pointed at it and offline."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("EVEDMV_DSN", db_url)
    monkeypatch.setenv("EVEDMV_OFFLINE", "1")
    return db


def test_name_with_control_character_rejected(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tab shifted the columns of 'watch list', and an escape sequence broke
    the border of the edit form, so such names are rejected on entry."""
    name = "tab\tname\x1b[31m"
    assert main(["watch", "add", name, "--min-attackers", "2"]) == 2
    error = capsys.readouterr().err
    assert "name 'tab\\tname\\x1b[31m' contains a control character ('\\t')" in error
    assert "use letters, digits, spaces and punctuation only" in error
    assert watch.list_profiles(cli) == []

    assert main(["watch", "add", "plain", "--min-attackers", "2"]) == 0
    assert main(["watch", "edit", "plain", "--rename", "esc\x1bname"]) == 2
    assert "contains a control character ('\\x1b')" in capsys.readouterr().err
    assert [p.name for p in watch.list_profiles(cli)] == ["plain"]

    values = form_values(None) | {"name": "a\tb", "min_attackers": "2"}
    _, problems = read_form(values)
    assert [p.field for p in problems] == ["name"]
    assert "contains a control character ('\\t')" in problems[0].message


def test_ship_type_without_static_data_kept(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no static data every type id is unknown, so none is rejected."""
    assert main(["watch", "add", "any", "--ship-types", "99999999"]) == 0
    assert "ship types 99999999" in capsys.readouterr().out


def test_unknown_ship_type_rejected(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped type id made a profile that could never match, while an
    unknown system or region was rejected."""
    store_rifter(cli)
    assert main(["watch", "add", "typo", "--ship-types", f"{RIFTER},99999999"]) == 2
    error = capsys.readouterr().err
    assert "watch profile 'typo': no ship type with id 99999999 is stored" in error
    assert "type ids come from static data" in error
    assert watch.list_profiles(cli) == []

    assert main(["watch", "add", "rifters", "--ship-types", str(RIFTER)]) == 0
    capsys.readouterr()
    assert main(["watch", "edit", "rifters", "--ship-types", "5,6"]) == 2
    error = capsys.readouterr().err
    assert "no ship type with id 5 is stored; no ship type with id 6" in error
    assert watch.get_profile(cli, "rifters").ship_type_ids == [RIFTER]


async def test_form_rejects_unknown_ship_type(settings: Settings, db: Database) -> None:
    """The form saved an unknown type id without a word."""
    store_rifter(db)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        await save_form(
            app, pilot, {"name": "typo", "ship_type_ids": f"{RIFTER},99999999"}
        )
        assert app.screen is form
        text = " ".join(str(form.query_one("#form-error", Static).render()).split())
        assert text.startswith("Ship types: no ship type with id 99999999 is stored")
    assert watch.list_profiles(db) == []

"""Watch profile checks that ``evedmv watch`` and the dashboard's form share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.screens.watch import ProfileForm, form_values, read_form
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import message_log
from tests.test_watch import (
    AMAMAKE,
    HEIMATAR,
    JITA,
    PERIMETER,
    _batch,
    _killmail,
    _static_data,
)
from tests.test_watch_form_fixes import save_form
from tests.test_watch_screen_keys import open_watch, settle

RIFTER = 587


async def open_form(app: EvedmvApp, pilot: Pilot[None], key: str) -> ProfileForm:
    """Open the Watch screen and press ``key``: a to add, e to edit."""
    await open_watch(app, pilot)
    await pilot.press(key)
    await settle(app, pilot)
    form = app.screen
    assert isinstance(form, ProfileForm)
    return form


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


def test_rename_to_empty_name_rejected(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """'watch edit NAME --rename ""' reported the profile updated and kept
    the old name, where 'watch add ""' rejects the empty name."""
    assert main(["watch", "add", "", "--min-attackers", "2"]) == 2
    add_error = capsys.readouterr().err
    assert "invalid watch profile: the profile has no name" in add_error
    assert main(["watch", "add", "plain", "--min-attackers", "2"]) == 0
    capsys.readouterr()

    for empty in ("", "   "):
        assert main(["watch", "edit", "plain", "--rename", empty]) == 2
        captured = capsys.readouterr()
        assert captured.err == add_error
        assert captured.out == ""
    assert [p.name for p in watch.list_profiles(cli)] == ["plain"]


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
        form = await open_form(app, pilot, "a")
        await save_form(
            app, pilot, {"name": "typo", "ship_type_ids": f"{RIFTER},99999999"}
        )
        assert app.screen is form
        text = " ".join(str(form.query_one("#form-error", Static).render()).split())
        assert text.startswith("Ship types: no ship type with id 99999999 is stored")
    assert watch.list_profiles(db) == []


def killmails_in_three_systems(db: Database) -> None:
    """Store static data and killmails 1 and 2 in Jita, 3 in Amamake."""
    _static_data(db)
    _killmail(db, 1)
    _killmail(db, 2)
    _killmail(db, 3, system=AMAMAKE)


def matched_ids(db: Database, name: str) -> set[int]:
    profile = watch.get_profile(db, name)
    return {
        m.killmail_id for m in watch.list_matches(db, profile_id=profile.profile_id)
    }


def test_edit_drops_matches_of_old_conditions(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Matches made under the old conditions stayed under a profile whose
    conditions no longer fit them, with nothing to say so."""
    killmails_in_three_systems(cli)
    assert main(["watch", "add", "hubs", "--systems", f"{JITA},{AMAMAKE}"]) == 0
    assert main(["watch", "disable", "hubs"]) == 0
    watch.set_enabled(cli, ["hubs"], True)
    watch.match_batch(cli, _batch(1, 2, 3))
    watch.set_enabled(cli, ["hubs"], False)
    capsys.readouterr()

    # A rename alone keeps every match without checking it again.
    assert main(["watch", "edit", "hubs", "--rename", "trade"]) == 0
    out = capsys.readouterr().out
    assert "earlier match" not in out
    assert matched_ids(cli, "trade") == {1, 2, 3}

    # A disabled profile is checked as well.
    assert main(["watch", "edit", "trade", "--systems", str(AMAMAKE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "2 earlier matches dropped because they do not meet the new conditions; 1 kept"
    )
    assert matched_ids(cli, "trade") == {3}

    assert main(["watch", "edit", "trade", "--min-attackers", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "1 earlier match kept: it meets the new conditions"
    assert matched_ids(cli, "trade") == {3}


def test_recheck_reads_matches_in_chunks(
    cli: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk of matches is checked, and a region condition keeps the
    kills in the region's systems."""
    killmails_in_three_systems(cli)
    _killmail(cli, 4, system=PERIMETER, value=None)
    places = watch.ProfileSpec("all", solar_system_ids=(JITA, AMAMAKE, PERIMETER))
    watch.create_profile(cli, places)
    watch.match_batch(cli, _batch(1, 2, 3, 4))
    monkeypatch.setattr(watch, "STORED_MATCH_CHUNK", 2)

    update = watch.update_profile(
        cli, "all", watch.ProfileSpec("all", region_ids=(HEIMATAR,))
    )
    assert update == watch.Update(rechecked=True, dropped=3, kept=1)
    assert matched_ids(cli, "all") == {3}


def test_failed_recheck_keeps_old_conditions(
    cli: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new conditions were stored before the re-check ran, so a lost
    connection left them with matches of the old ones."""
    killmails_in_three_systems(cli)
    places = watch.ProfileSpec("all", solar_system_ids=(JITA, AMAMAKE, PERIMETER))
    watch.create_profile(cli, places)
    watch.match_batch(cli, _batch(1, 2, 3))
    recheck = watch.recheck_matches

    def lost_after_recheck(
        db: Database, profile_id: int, *, conn: psycopg.Connection[Any] | None = None
    ) -> int:
        recheck(db, profile_id, conn=conn)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(watch, "recheck_matches", lost_after_recheck)
    with pytest.raises(psycopg.OperationalError):
        watch.update_profile(
            cli, "all", watch.ProfileSpec("all", region_ids=(HEIMATAR,))
        )
    assert watch.get_profile(cli, "all").spec() == places
    assert matched_ids(cli, "all") == {1, 2, 3}


async def test_form_says_matches_dropped(settings: Settings, db: Database) -> None:
    """The form's notice after new conditions read only "Saved"."""
    killmails_in_three_systems(db)
    watch.create_profile(db, watch.ProfileSpec("hubs", solar_system_ids=(JITA,)))
    watch.match_batch(db, _batch(1, 2, 3))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(app, pilot, "e")
        await save_form(app, pilot, {"solar_system_ids": "Amamake"})
        # The log keeps the pop-up's text after the pop-up expires, which
        # can happen before the check on a loaded machine.
        messages = [logged.text for logged in message_log(app).messages]
    assert messages[-1] == (
        "Saved watch profile hubs. 2 earlier matches dropped because they do"
        " not meet the new conditions; 0 kept."
    )
    assert matched_ids(db, "hubs") == set()


def test_min_value_below_one_isk_rejected(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """--min-value 0.5 was listed as "value >= 0 ISK" and let every valued
    killmail through, while a profile with no condition was rejected."""
    for amount in ("0.5", "0"):
        assert main(["watch", "add", "all", "--min-value", amount]) == 2
        error = capsys.readouterr().err
        assert f"minimum value {amount} ISK is below 1 ISK" in error
        assert "give 1 ISK or more, such as 100m" in error
    assert watch.list_profiles(cli) == []

    values = form_values(None) | {"name": "all", "min_value": "0.5"}
    _, problems = read_form(values)
    assert [p.field for p in problems] == ["min_value"]


def test_min_value_shown_to_the_cent(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """1234567.89 ISK was shown rounded to 1,234,568 without a note."""
    assert main(["watch", "add", "cents", "--min-value", "1234567.89"]) == 0
    assert "value >= 1,234,567.89 ISK" in capsys.readouterr().out
    assert watch.get_profile(cli, "cents").min_value == 1234567.89
    assert main(["watch", "add", "whole", "--min-value", "2.5b"]) == 0
    assert "value >= 2,500,000,000 ISK" in capsys.readouterr().out


def test_list_and_matches_print_json(
    cli: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json, which 'watch backfill' takes, failed with the usage of the
    top-level command for 'watch list' and 'watch matches'."""
    killmails_in_three_systems(cli)
    assert main(["watch", "add", "jita", "--systems", "Jita", "--min-value", "1m"]) == 0
    watch.match_batch(cli, _batch(1, 2, 3))
    capsys.readouterr()

    assert main(["watch", "list", "--json"]) == 0
    [profile] = json.loads(capsys.readouterr().out)
    assert profile["name"] == "jita"
    assert profile["enabled"] is True
    assert profile["solar_system_ids"] == [JITA]
    assert profile["min_value"] == 1e6
    assert profile["conditions"] == "systems Jita; value >= 1,000,000 ISK"
    assert profile["matches"] == 2
    assert profile["last_match"] == "2021-11-28T20:02:00+00:00"

    assert main(["watch", "matches", "jita", "--json", "--limit", "1"]) == 0
    [match] = json.loads(capsys.readouterr().out)
    assert match["profile"] == "jita"
    assert match["killmail_id"] == 2
    assert match["killmail_time"] == "2021-11-28T20:02:00+00:00"
    assert match["solar_system_id"] == JITA
    assert match["total_value"] == 10_000_000.0

    watch.delete_profiles(cli, ["jita"])
    assert main(["watch", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_type_check_skips_ids_past_bigint(cli: Database) -> None:
    """An id past the bigint range, which the profile's own check reports,
    failed the type lookup and left the form without its problem lines."""
    store_rifter(cli)
    spec = watch.ProfileSpec("huge", ship_type_ids=(2**70, 99999999))
    problems = watch.unknown_references(cli, spec)
    assert [p.message for p in problems] == ["no ship type with id 99999999 is stored"]

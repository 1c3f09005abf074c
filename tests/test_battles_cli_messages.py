"""Messages, JSON output and recipe files of the ``evedmv battles`` commands."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from evedmv_tui.battles.recipe import (
    Recipe,
    RecipeError,
    read_recipe,
    report_from_recipe,
)
from evedmv_tui.battles.report import list_battles
from evedmv_tui.cli import main
from evedmv_tui.commands.arguments import parse_time
from evedmv_tui.screens.battles import describe_filter, parse_filter
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import JITA, brawl, fleet, insert_kills
from tests.test_battles_commands import fought

__all__ = ["fought"]


def test_parse_time_converts_offset_to_utc() -> None:
    moment = parse_time("2030-01-01T00:00+05:00")
    assert moment.utcoffset() == dt.timedelta(0)
    assert moment == dt.datetime(2029, 12, 31, 19, tzinfo=dt.UTC)


def test_filter_with_offset_echoed_in_utc() -> None:
    """The summary showed since=2021-11-29T23:00 for a time given at +05:00,
    and typing that text back selected other battles."""
    typed = parse_filter("since=2021-11-29T23:00+05:00 until=2021-11-30T02:00Z")
    summary = describe_filter(typed)
    assert summary == "since=2021-11-29T18:00Z until=2021-11-30T02:00Z"
    assert parse_filter(summary) == typed


def test_filter_range_error_in_utc() -> None:
    with pytest.raises(ValueError) as caught:
        parse_filter("since=2021-11-30T05:00+05:00 until=2021-11-29T23:00")
    assert str(caught.value) == (
        "since=2021-11-30T00:00Z is not before until=2021-11-29T23:00Z"
    )


def test_list_since_offset_echoed_in_utc(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["--dsn", fought, "battles", "list", "--since", "2030-01-01T00:00+05:00"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("no battles since 2029-12-31 19:00 UTC;")


def test_list_empty_range_in_utc(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["--dsn", fought, "battles", "list", "--since", "2025-01-02T03:00+05:00"]
    assert main([*args, "--until", "2025-01-01T20:00-02:00"]) == 2
    err = capsys.readouterr().err
    assert "--since 2025-01-01T22:00Z is not before --until 2025-01-01T22:00Z" in err


def test_list_unknown_system_id_named_as_id(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown id was reported as a name, with the hint to give the id."""
    capsys.readouterr()
    status = main(["--dsn", fought, "battles", "list", "--system", "99999999"])
    err = capsys.readouterr().err
    assert status == 2
    assert "no solar system with id 99999999 is stored" in err
    assert "named" not in err


def test_show_missing_battle_json_error(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON format printed nothing on stdout for a missing battle, while
    'battles list --json' printed an error object."""
    capsys.readouterr()
    status = main(["--dsn", fought, "battles", "show", "999999", "--format", "json"])
    captured = capsys.readouterr()
    assert status == 2
    document = json.loads(captured.out)
    assert document["error"] == "battle not found"
    assert document["message"] == "no battle has id 999999"
    assert document["exit_status"] == 2
    assert "no battle has id 999999" in captured.err


def test_show_missing_battle_text_keeps_stdout_empty(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "show", "999999"]) == 2
    assert capsys.readouterr().out == ""


def test_detect_json_has_counts(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "detect", "--rebuild", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rebuilt"] is True
    assert document["battles_stored"] == 1
    counts = document["battles"]
    assert counts["battles"] == 1
    assert counts["kills_read"] == 30
    assert counts["created"] == 0
    assert counts["deleted"] == 0
    for key in ("overrides_kept_aside", "overrides_adopted", "overrides_dropped"):
        assert counts[key] == 0


def test_detect_json_incremental(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "detect", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rebuilt"] is False
    assert document["battles_stored"] == 1


def test_detect_json_parameters(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["--dsn", fought, "battles", "detect", "--show-parameters", "--json"]
    assert main(args) == 0
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document["quiet_minutes"], int)


def test_show_recipe_saves_recipe(
    fought: str, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--save-recipe was ignored when the report came from --recipe."""
    (battle,) = list_battles(db)
    recipe_file = tmp_path / "given.json"
    recipe_file.write_text(
        json.dumps(
            {
                "systems": ["jita"],
                "start": battle.start_time.isoformat(),
                "end": battle.end_time.isoformat(),
                "parameters": {"quiet_minutes": 25},
            }
        )
    )
    saved = tmp_path / "saved.json"
    show = ["--dsn", fought, "battles", "show", "--recipe"]
    capsys.readouterr()

    assert main([*show, str(recipe_file), "--save-recipe", str(saved)]) == 0
    first = capsys.readouterr().out
    assert main([*show, str(saved)]) == 0
    second = capsys.readouterr().out

    assert saved.exists()
    document = json.loads(saved.read_text())
    assert document["systems"] == [JITA]
    assert document["parameters"]["quiet_minutes"] == 25
    assert "hour_min_kills" in document["parameters"]
    assert second == first


def test_recipe_unknown_system_ids_rejected(fought: str, db: Database) -> None:
    """Unknown ids were dropped, so the report showed the known system's
    battle without a word."""
    (battle,) = list_battles(db)
    recipe = Recipe((JITA, 1, 424242), battle.start_time, battle.end_time, ())

    with pytest.raises(RecipeError) as caught:
        report_from_recipe(db, recipe)

    assert caught.value.message == (
        "recipe: no solar system is stored with the ids 1, 424242"
    )


def test_recipe_unknown_name_hint_with_static_data(fought: str, db: Database) -> None:
    (battle,) = list_battles(db)
    recipe = Recipe(("Narnia",), battle.start_time, battle.end_time, ())

    with pytest.raises(RecipeError) as caught:
        report_from_recipe(db, recipe)

    assert caught.value.message == 'recipe: unknown solar system "Narnia"'
    assert "sde import" not in (caught.value.hint or "")


def test_recipe_without_static_data(db: Database, tmp_path: Path) -> None:
    """Without static data a name gets the hint to load it, and ids are
    taken as they are, because no system is stored to check them."""
    side_a = fleet(6, 98_000_901, 99_000_901)
    side_b = fleet(6, 98_000_902, 99_000_902)
    kills = brawl(side_a, side_b, kills=12)
    insert_kills(db, kills)
    start, end = kills[0].killmail_time, kills[-1].killmail_time
    named = Recipe(("Jita",), start, end, ())

    with pytest.raises(RecipeError) as caught:
        report_from_recipe(db, named)

    assert "'evedmv sde import'" in (caught.value.hint or "")
    report = report_from_recipe(db, dataclasses.replace(named, systems=(JITA,)))
    assert report.kills == 12


def test_recipe_times_read_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "recipe.json"
    path.write_text(
        json.dumps(
            {
                "systems": [JITA],
                "start": "2021-11-28T00:00+05:00",
                "end": "2021-11-28T01:00+05:00",
            }
        )
    )
    recipe = read_recipe(path)
    assert recipe.start.utcoffset() == dt.timedelta(0)
    assert recipe.start == dt.datetime(2021, 11, 27, 19, tzinfo=dt.UTC)

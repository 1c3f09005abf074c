"""The ``evedmv battles`` commands against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import brawl, fleet, insert_kills, insert_static


@pytest.fixture
def fought(db: Database, db_url: str) -> str:
    """A database with one detected fight in Jita; returns its URL."""
    insert_static(db)
    side_a = fleet(6, 98_000_401, 99_000_401) + fleet(3, 98_000_402, 99_000_401)
    side_b = fleet(8, 98_000_403, 99_000_402)
    insert_kills(db, brawl(side_a, side_b, kills=30))
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES"
        " (99000401, 'alliance', 'Goonswarm <b>Federation</b>'),"
        " (99000402, 'alliance', 'Pandemic Horde')"
    )
    assert main(["--dsn", db_url, "battles", "detect", "--rebuild"]) == 0
    return db_url


def test_detect_prints_summary(fought: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dsn", fought, "battles", "detect"]) == 0
    out = capsys.readouterr().out
    assert "battles from" in out


def test_list_json_has_required_fields(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list", "--json"]) == 0
    (battle,) = json.loads(capsys.readouterr().out)
    for key in ("battle_id", "systems", "start", "end", "kills", "pilots"):
        assert key in battle
    assert battle["kills"] == 30
    assert battle["isk_destroyed"] == pytest.approx(3e8)
    assert battle["systems"] == [{"solar_system_id": 30000142, "name": "Jita"}]
    labels = {side["label"] for side in battle["sides"]}
    assert labels == {"Goonswarm <b>Federation</b>", "Pandemic Horde"}


def test_list_filters_by_system(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list", "--system", "Amarr"]) == 0
    assert "no battles match" in capsys.readouterr().out
    assert main(["--dsn", fought, "battles", "list", "--system", "jita"]) == 0
    assert "Jita" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["text", "markdown", "discord", "json"])
def test_show_formats(
    fought: str, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list", "--json"]) == 0
    battle_id = json.loads(capsys.readouterr().out)[0]["battle_id"]
    assert (
        main(["--dsn", fought, "battles", "show", str(battle_id), "--format", fmt]) == 0
    )
    out = capsys.readouterr().out
    if fmt == "json":
        document = json.loads(out)
        assert [s["pilots"] for s in document["sides"]] == [9, 8]
        assert all(s["efficiency"] == pytest.approx(0.5) for s in document["sides"])
    else:
        assert "Pandemic Horde" in out
        assert "50.0%" in out
    if fmt == "discord":
        assert len(out) <= 2001


def test_recipe_rebuilds_same_report(
    fought: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    main(["--dsn", fought, "battles", "list", "--json"])
    battle_id = json.loads(capsys.readouterr().out)[0]["battle_id"]
    assert (
        main(
            [
                "--dsn",
                fought,
                "battles",
                "move",
                str(battle_id),
                "corporation",
                "98000402",
                "--new-side",
            ]
        )
        == 0
    )
    capsys.readouterr()
    recipe = tmp_path / "recipe.json"
    args = ["--dsn", fought, "battles", "show", str(battle_id), "--format", "json"]
    assert main([*args, "--save-recipe", str(recipe)]) == 0
    stored = json.loads(capsys.readouterr().out)
    saved = json.loads(recipe.read_text())
    assert saved["overrides"][0]["entity_id"] == 98000402
    assert (
        main(
            [
                "--dsn",
                fought,
                "battles",
                "show",
                "--recipe",
                str(recipe),
                "--format",
                "json",
            ]
        )
        == 0
    )
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["kills"] == stored["kills"]
    assert len(rebuilt["sides"]) == 3
    for a, b in zip(rebuilt["sides"], stored["sides"], strict=True):
        assert a["pilots"] == b["pilots"]
        assert a["isk_lost"] == pytest.approx(b["isk_lost"])


def test_bad_recipe_names_field(
    fought: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "bad.json"
    recipe.write_text(json.dumps({"systems": ["Jita"], "start": "noon", "end": "x"}))
    assert main(["--dsn", fought, "battles", "show", "--recipe", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err
    assert "'start'" in err


def test_show_missing_battle(fought: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dsn", fought, "battles", "show", "999999"]) == 2
    assert "no battle has id 999999" in capsys.readouterr().err


def test_set_parameter_rebuilds(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert (
        main(["--dsn", fought, "battles", "detect", "--set", "hour_min_kills=50"]) == 0
    )
    assert "0 battles" in capsys.readouterr().out
    assert main(["--dsn", fought, "battles", "detect", "--show-parameters"]) == 0
    assert "hour_min_kills = 50" in capsys.readouterr().out
    assert main(["--dsn", fought, "battles", "detect", "--set", "bogus=1"]) == 2
    assert "unknown parameter 'bogus'" in capsys.readouterr().err

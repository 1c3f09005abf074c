"""The ``evedmv battles`` commands against a real database."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from evedmv_tui.battles.detect import DetectionSummary
from evedmv_tui.battles.export import render_text
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.report import list_battles, load_report, with_pending
from evedmv_tui.cli import main
from evedmv_tui.commands.battles import describe_detection
from evedmv_tui.ingest.importer import import_records
from evedmv_tui.screens.battle_report import _header
from evedmv_tui.screens.battles import describe_place, parse_filter
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import (
    brawl,
    fleet,
    insert_kills,
    insert_static,
    kill,
)


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
    assert re.match(
        r"1 battle around the [\d,]+ killmails read since the last detection"
        r" \(0 new, .*\) in [\d.]+ s; 1 battle stored$",
        out,
    )
    assert "recomputed" not in out


def test_detection_line_says_what_it_counted() -> None:
    """An incremental run counts only the battles around the killmails it
    read, so its line names that scope and the number of battles stored.
    A rebuild reads every killmail."""
    summary = DetectionSummary(
        battles=28,
        created=0,
        updated=3,
        deleted=1,
        changed_closed=0,
        kills_read=1475,
        seconds=0.34,
    )
    assert describe_detection(summary, rebuilt=False, stored=393) == (
        "28 battles around the 1,475 killmails read since the last detection"
        " (0 new, 3 with changed kills, 1 removed) in 0.3 s; 393 battles stored"
    )
    assert describe_detection(summary, rebuilt=True) == (
        "28 battles in the 1,475 killmails read (0 new, 3 with changed kills,"
        " 1 removed; sides and metrics of all 28 battles recomputed) in 0.3 s"
    )


def test_new_parameters_say_every_battle_was_recomputed(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parameter that only changes how battles are classified changes no
    battle's kills, so the output reports the recomputed battles instead of
    '0 updated', as if nothing had changed."""
    capsys.readouterr()
    detect = ["--dsn", fought, "battles", "detect", "--set", "one_sided_ratio=1"]
    assert main(detect) == 0
    out = capsys.readouterr().out
    assert "(0 new, 0 with changed kills, 0 removed;" in out
    assert "; sides and metrics of the battle recomputed) in " in out


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


def test_list_json_counts_kills_without_value(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """The list's ISK leaves out kills without a value; the JSON counts them."""
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list", "--json"]) == 0
    (before,) = json.loads(capsys.readouterr().out)
    assert before["kills_without_value"] == 0
    db.execute(
        "UPDATE killmails SET total_value = NULL WHERE killmail_id IN"
        " (SELECT killmail_id FROM killmails ORDER BY killmail_id LIMIT 2)"
    )
    assert main(["--dsn", fought, "battles", "detect", "--rebuild"]) == 0
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list", "--json"]) == 0
    (after,) = json.loads(capsys.readouterr().out)
    assert after["kills_without_value"] == 2
    assert after["kills"] == 30
    assert after["isk_destroyed"] == pytest.approx(2.8e8)


def test_text_list_duration_matches_report(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """The list printed 3093m for a battle whose report printed 51h33."""
    db.execute("UPDATE battles SET end_time = start_time + interval '51:33'")
    assert main(["--dsn", fought, "battles", "list"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.split()[3] == "51h33"
    battle_id = line.split()[0].rstrip("*")
    assert main(["--dsn", fought, "battles", "show", battle_id]) == 0
    assert "UTC (51h33)" in capsys.readouterr().out


def test_text_list_marks_kills_without_value(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text list's ISK ends in + when it leaves out kills, as on screen."""
    db.execute(
        "UPDATE killmails SET total_value = NULL WHERE killmail_id IN"
        " (SELECT killmail_id FROM killmails ORDER BY killmail_id LIMIT 2)"
    )
    assert main(["--dsn", fought, "battles", "detect", "--rebuild"]) == 0
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[6] == "280.0m+"
    assert lines[-1] == "+ some kills have no ISK value"
    db.execute("UPDATE killmails SET total_value = NULL")
    assert main(["--dsn", fought, "battles", "detect", "--rebuild"]) == 0
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[6] == "?"


def test_json_rounds_isk_to_cents(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """ISK sums carry float noise, which the JSON outputs round off."""
    insert_static(db)
    side_a = fleet(6, 98_000_401, 99_000_401)
    side_b = fleet(6, 98_000_403, 99_000_402)
    insert_kills(db, brawl(side_a, side_b, kills=30, value=10_000_000.01))
    assert main(["--dsn", db_url, "battles", "detect", "--rebuild"]) == 0
    capsys.readouterr()
    assert main(["--dsn", db_url, "battles", "list", "--json"]) == 0
    (battle,) = json.loads(capsys.readouterr().out)
    assert battle["isk_destroyed"] == 300_000_000.3
    sides = battle["sides"]
    assert sum(side["isk_lost"] for side in sides) == pytest.approx(300_000_000.3)
    for side in sides:
        assert side["isk_lost"] == round(side["isk_lost"], 2)
        assert side["isk_destroyed"] == round(side["isk_destroyed"], 2)
    show = ["--dsn", db_url, "battles", "show", str(battle["battle_id"])]
    assert main([*show, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["isk_destroyed"] == 300_000_000.3
    for side in report["sides"]:
        for key in ("isk_lost", "isk_destroyed", "isk_destroyed_of_opponents"):
            assert side[key] == round(side[key], 2)
    for minutes in report["timeline"]["isk"].values():
        assert all(value == round(value, 2) for value in minutes)


def test_list_marks_one_sided_battles(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text list marks a one-sided battle with !, as the battles screen
    does, and explains the mark once."""
    insert_static(db)
    hunters = fleet(8, 98_000_411, 99_000_411)
    prey = fleet(8, 98_000_412, 99_000_412)
    insert_kills(db, [kill(minute, prey[minute % 8], hunters) for minute in range(12)])
    assert main(["--dsn", db_url, "battles", "detect", "--rebuild"]) == 0
    capsys.readouterr()
    assert main(["--dsn", db_url, "battles", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[7] == "2!"
    assert lines[-1] == "! one-sided: the other sides destroyed almost nothing"


def fought_in_tama_and_kedama(db: Database, system_ids: str) -> None:
    """Move the stored battle to Tama (The Citadel) and Kedama (Black Rise).

    ``system_ids`` is the battle's systems as a PostgreSQL array literal, in
    the order they are stored; the regions are stored in id order.
    """
    db.execute(
        "INSERT INTO regions (region_id, region_name) VALUES"
        " (10000033, 'The Citadel'), (10000069, 'Black Rise')"
    )
    db.execute(
        "INSERT INTO solar_systems (solar_system_id, solar_system_name,"
        " constellation_id, region_id, security) VALUES"
        " (30002813, 'Tama', 20000410, 10000033, 0.3),"
        " (30045328, 'Kedama', 20000785, 10000069, 0.3)"
    )
    db.execute(
        "UPDATE battles SET solar_system_ids = %s, region_ids = '{10000033,10000069}'",
        (system_ids,),
    )


def test_list_names_first_systems_region_first(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A battle in Tama (The Citadel) and Kedama (Black Rise) lists The
    Citadel first. The battles screen shows the first system with the first
    region, so regions sorted by name put Black Rise next to Tama."""
    fought_in_tama_and_kedama(db, "{30002813,30045328}")
    (battle,) = list_battles(db)
    assert battle.system_names == ["Tama", "Kedama"]
    assert battle.region_names == ["The Citadel", "Black Rise"]
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["regions"] == ["The Citadel", "Black Rise"]
    assert (
        describe_place(battle, 24) == "Tama +1 (The Citadel, B\N{HORIZONTAL ELLIPSIS}"
    )


def test_list_and_show_json_keys_agree(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """The list wrote ``side_no``, ``region_names`` and a bare side label
    where the report wrote ``side``, ``regions`` and "label +N". A script
    that read both needed two names for one thing."""
    (battle,) = list_battles(db)

    # A corporation moved away from its alliance is a unit of its own, so
    # the side it joins is named "Pandemic Horde +1".
    move = ["battles", "move", str(battle.battle_id), "corporation", "98000402"]
    assert main(["--dsn", fought, *move, "--side", "2"]) == 0
    capsys.readouterr()

    assert main(["--dsn", fought, "battles", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(s["label"] for s in listed[0]["sides"]) == [
        "Goonswarm <b>Federation</b>",
        "Pandemic Horde +1",
    ]

    for entry in listed:
        command = ["--dsn", fought, "battles", "show", str(entry["battle_id"])]
        assert main([*command, "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        same = (
            "battle_id", "systems", "regions", "start", "end", "duration_seconds",
            "kind", "kills", "pilots", "isk_destroyed", "kills_without_value",
            "side_count", "confidence", "changed", "ongoing",
        )  # fmt: skip
        assert {k: entry[k] for k in same} == {k: report[k] for k in same}
        side_keys = (
            "side", "label", "label_id", "pilots", "ships_lost", "isk_lost",
            "isk_destroyed", "efficiency", "third_party",
        )  # fmt: skip
        assert [{k: s[k] for k in side_keys} for s in entry["sides"]] == [
            {k: s[k] for k in side_keys} for s in report["sides"]
        ]
        assert all(s["label"] is not None for s in entry["sides"])


def test_report_names_first_systems_region_first(fought: str, db: Database) -> None:
    """The report header listed regions by id, so a battle in Kedama (Black
    Rise) and then Tama (The Citadel) read "Kedama, Tama (The Citadel, ...)"."""
    fought_in_tama_and_kedama(db, "{30045328,30002813}")
    (battle,) = list_battles(db)
    report = load_report(db, battle.battle_id)
    assert report.region_label == "Black Rise, The Citadel"
    assert battle.region_names == ["Black Rise", "The Citadel"]


def test_list_filters_by_system(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "list", "--system", "Amarr"]) == 0
    assert "no battles match" in capsys.readouterr().out
    assert main(["--dsn", fought, "battles", "list", "--system", "jita"]) == 0
    assert "Jita" in capsys.readouterr().out


def test_list_refuses_empty_time_range(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The battles screen refuses since after until; the command listed
    nothing and exited 0, as if no battle had happened."""
    capsys.readouterr()
    command = ["--dsn", fought, "battles", "list"]
    assert main([*command, "--since", "2025-01-02", "--until", "2025-01-01"]) == 2
    error = capsys.readouterr().err
    assert "--since 2025-01-02T00:00Z is not before --until 2025-01-01T00:00Z" in error
    with pytest.raises(ValueError, match="kills is given twice"):
        parse_filter("kills=20 kills=30")


def test_list_trims_place_names(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["--dsn", fought, "battles", "list", "--system", " jita "]
    assert main([*args, "--region", "The Forge "]) == 0
    assert "Jita" in capsys.readouterr().out


def test_recipe_trims_system_names(
    fought: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    main(["--dsn", fought, "battles", "list", "--json"])
    battle_id = json.loads(capsys.readouterr().out)[0]["battle_id"]
    recipe = tmp_path / "recipe.json"
    args = ["--dsn", fought, "battles", "show", str(battle_id)]
    assert main([*args, "--save-recipe", str(recipe)]) == 0
    saved = json.loads(recipe.read_text())
    recipe.write_text(json.dumps(saved | {"systems": [" Jita "]}))
    capsys.readouterr()
    assert main(["--dsn", fought, "battles", "show", "--recipe", str(recipe)]) == 0
    assert "Jita" in capsys.readouterr().out


def test_list_since_reports_latest_end(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    (battle,) = list_battles(db)
    capsys.readouterr()
    list_since = ["--dsn", fought, "battles", "list", "--since"]
    assert main([*list_since, "2021-12-01"]) == 0
    assert capsys.readouterr().out == (
        "no battles since 2021-12-01 00:00 UTC; the latest ended"
        f" {battle.end_time:%Y-%m-%d %H:%M} UTC\n"
        "give an earlier --since to list it\n"
    )
    # Other filters that leave the list empty give the usual message only.
    assert main([*list_since, "2021-11-27", "--min-kills", "999"]) == 0
    assert capsys.readouterr().out.startswith("no battles match")


def test_list_names_unknown_place(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A filter on a place that is not stored says so instead of listing nothing."""
    capsys.readouterr()
    status = main(
        ["--dsn", fought, "battles", "list", "--system", "Nowhere", "--region", "x"]
    )
    err = capsys.readouterr().err
    assert status != 0
    assert "no solar system named 'Nowhere' is stored" in err
    assert "no region named 'x' is stored" in err


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
        # A pilot without a stored name has a null name next to its id.
        top = document["sides"][0]["top_damage"][0]
        assert top["character_id"] > 0
        assert top["name"] is None
    else:
        assert "Pandemic Horde" in out
        assert "50.0%" in out
    if fmt == "markdown":
        lines = out.splitlines()
        header = lines.index(
            "| Side | Name | Pilots | Ships lost | ISK lost | ISK destroyed"
            " | Efficiency |"
        )
        assert lines[header + 1] == "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
        assert len(lines[header + 2 :]) == 2
        assert "Goonswarm \\<b\\>Federation\\</b\\>" in out
    if fmt == "discord":
        assert len(out) <= 2001
        lines = out.splitlines()
        assert out.count("```") == 2
        assert lines[2] == "```"
        assert lines[-1] == "```"
        assert len(lines[3:-1]) == 2


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
    assert main([*args, "--save-recipe", str(tmp_path / "no" / "recipe.json")]) == 2
    assert "cannot write battle recipe" in capsys.readouterr().err
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
    assert capsys.readouterr().out.startswith("0 battles in the ")
    assert main(["--dsn", fought, "battles", "detect", "--show-parameters"]) == 0
    assert "hour_min_kills = 50" in capsys.readouterr().out
    assert main(["--dsn", fought, "battles", "detect", "--set", "bogus=1"]) == 2
    assert "unknown parameter 'bogus'" in capsys.readouterr().err


def test_set_parameter_not_a_number(
    fought: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    detect = ["--dsn", fought, "battles", "detect", "--set"]
    assert main([*detect, "quiet_minutes=abc"]) == 2
    err = capsys.readouterr().err
    assert "quiet_minutes='abc' is not a whole number" in err
    assert "give quiet_minutes a whole number, for example quiet_minutes=30" in err
    assert "a int" not in err
    assert main([*detect, "one_sided_ratio=abc"]) == 2
    err = capsys.readouterr().err
    assert "one_sided_ratio='abc' is not a number" in err
    assert "a float" not in err


@pytest.mark.parametrize(
    ("setting", "largest"),
    [
        ("quiet_minutes=99999999999", "10080"),
        ("merge_gap_minutes=10081", "10080"),
        ("one_sided_ratio=1.5", "1"),
    ],
)
def test_set_parameter_above_its_largest_value(
    fought: str, capsys: pytest.CaptureFixture[str], setting: str, largest: str
) -> None:
    """A value past a parameter's range is refused before anything is
    stored: such a quiet period once overflowed every later detection."""
    capsys.readouterr()
    detect = ["--dsn", fought, "battles", "detect"]
    assert main([*detect, "--set", setting]) == 2
    name = setting.partition("=")[0]
    err = capsys.readouterr().err
    assert f"is above its largest value, {largest}" in err
    assert f"give {name} at most {largest}" in err
    assert main([*detect, "--show-parameters"]) == 0
    defaults = dataclasses.asdict(BattleParameters())
    assert f"{name} = {defaults[name]}" in capsys.readouterr().out
    assert main(detect) == 0


FIRST_ID = 97_000_000
"""Killmail id of the first kill in the ``partly_fetched`` battle."""


def report_pending(db: Database, ids: list[int], state: str = "pending") -> None:
    """Record ``ids`` as killmails a source reported by id and hash only."""
    references = [
        json.dumps({"killmail_id": i, "zkb": {"hash": f"{i:040x}"}}).encode()
        for i in ids
    ]
    summary = import_records(db, references, source="zkb-api")
    assert summary.pending == len(ids)
    if state != "pending":
        db.execute(
            "UPDATE killmail_index SET state = %s WHERE killmail_id = ANY(%s)",
            (state, ids),
        )


@pytest.fixture
def partly_fetched(db: Database, db_url: str) -> tuple[Database, str, int]:
    """One fight whose killmail ids leave gaps, three of them pending.

    Returns the database, its URL and the battle id. Pending and invalid
    killmails outside the gaps must not count.
    """
    insert_static(db)
    side_a = fleet(6, 98_000_901, 99_000_901)
    side_b = fleet(6, 98_000_902, 99_000_902)
    kills = [
        dataclasses.replace(k, killmail_id=FIRST_ID + 10 * n)
        for n, k in enumerate(brawl(side_a, side_b, kills=20))
    ]
    insert_kills(db, kills)
    last_id = kills[-1].killmail_id
    report_pending(db, [FIRST_ID + 5, FIRST_ID + 15, last_id - 1])
    report_pending(db, [FIRST_ID - 1, last_id + 1])
    report_pending(db, [FIRST_ID + 25], state="invalid")
    assert main(["--dsn", db_url, "battles", "detect", "--rebuild"]) == 0
    [battle] = list_battles(db)
    return db, db_url, battle.battle_id


def test_pending_killmails_in_report(
    partly_fetched: tuple[Database, str, int],
) -> None:
    db, _, battle_id = partly_fetched
    report = load_report(db, battle_id)
    assert report.kills == 20
    assert report.kills_pending == 3
    assert report.metrics["completeness"] == {
        "kills_present": 20,
        "kills_without_value": 0,
        "kills_pending": 3,
    }
    header = _header(report).plain
    assert "20 kills, up to 3 more reported but not fetched" in header
    # A fetched body leaves the count at once, without a detection run.
    db.execute(
        "UPDATE killmail_index SET state = 'stored' WHERE killmail_id = %s",
        (FIRST_ID + 5,),
    )
    assert load_report(db, battle_id).kills_pending == 2


def test_counts_use_thousands_separators(fought: str, db: Database) -> None:
    """The report header and ``battles show`` used to read ``1028 kills | 1592
    pilots`` while the battle list shows ``1,028``."""
    [battle] = list_battles(db)
    stored = load_report(db, battle.battle_id)
    report = dataclasses.replace(
        stored,
        kills=1_028,
        pilots=1_592,
        metrics=with_pending(stored.metrics, 1_200),
    )

    header = _header(report).plain
    text = render_text(report)

    assert "1,028 kills, up to 1,200 more reported but not fetched" in header
    assert "1,592 pilots" in header
    assert "1,028 kills" in text
    assert "1,592 pilots" in text


def test_no_pending_killmails_no_note(fought: str, db: Database) -> None:
    [battle] = list_battles(db)
    report = load_report(db, battle.battle_id)
    assert report.kills_pending == 0
    assert "reported but not fetched" not in _header(report).plain
    assert "reported but not fetched" not in render_text(report)


def test_pending_killmails_in_show_formats(
    partly_fetched: tuple[Database, str, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, url, battle_id = partly_fetched
    capsys.readouterr()
    show = ["--dsn", url, "battles", "show", str(battle_id)]
    assert main([*show, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["completeness"]["kills_pending"] == 3
    assert main([*show, "--format", "text"]) == 0
    assert "20 kills, up to 3 more reported but not fetched" in capsys.readouterr().out
    recipe = tmp_path / "recipe.json"
    assert main([*show, "--save-recipe", str(recipe)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "--dsn",
                url,
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
    assert rebuilt["completeness"]["kills_pending"] == 3


def test_move_rejects_entity_outside_battle(
    fought: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Moving an id that is not in the battle stores no override and exits 2."""
    battle_id = list_battles(db)[0].battle_id
    move = ["--dsn", fought, "battles", "move", str(battle_id)]
    capsys.readouterr()

    assert main([*move, "alliance", "12345", "--side", "2"]) == 2
    error = capsys.readouterr().err
    assert f"alliance 12345 is not in battle {battle_id}" in error
    # The corporation is in the battle, but not as an alliance.
    assert main([*move, "alliance", "98000402", "--new-side"]) == 2
    assert "is not in battle" in capsys.readouterr().err
    assert (
        main(
            [
                "--dsn",
                fought,
                "battles",
                "move",
                "999999",
                "alliance",
                "1",
                "--new-side",
            ]
        )
        == 2
    )
    assert "no battle has id 999999" in capsys.readouterr().err
    # A move to the side the entity is on already stores nothing, so
    # detection keeps deciding its side.
    side = next(
        e.side_no
        for e in load_report(db, battle_id).entities
        if e.entity_kind == "corporation" and e.entity_id == 98000402
    )
    assert main([*move, "corporation", "98000402", "--side", str(side)]) == 0
    assert capsys.readouterr().out == (
        f"corporation 98000402 is on side {side} already; nothing changed\n"
    )
    overrides = db.fetch_value("SELECT count(*) FROM battle_side_overrides")
    assert overrides == 0


def test_report_json_given_as_recipe(
    fought: str, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report JSON (which x writes too) given to --recipe is rejected as
    a report, with the command that writes a recipe, instead of with a field
    of the report named as invalid."""
    battle_id = list_battles(db)[0].battle_id
    show = ["--dsn", fought, "battles", "show"]
    capsys.readouterr()
    assert main([*show, str(battle_id), "--format", "json"]) == 0
    report = tmp_path / f"battle-{battle_id}.json"
    report.write_text(capsys.readouterr().out)

    assert main([*show, "--recipe", str(report)]) == 2
    error = capsys.readouterr().err
    assert f"{report}: this is a battle report" in error
    assert "not a recipe" in error
    assert "--save-recipe" in error
    assert ".recipe.json" in error
    assert "field 'systems'" not in error


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"entity_kind": "alliance", "entity_id": 123, "new_side": 1}, "alliance 123"),
        (
            {
                "entity_kind": "corporation",
                "entity_id": 98000402,
                "anchor_kind": "alliance",
                "anchor_id": 456,
            },
            "alliance 456",
        ),
        # The corporation is in the battle, but not as an alliance.
        (
            {"entity_kind": "alliance", "entity_id": 98000402, "new_side": 1},
            "alliance 98000402",
        ),
    ],
)
def test_recipe_override_outside_battle_rejected(
    fought: str,
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    override: dict[str, object],
    named: str,
) -> None:
    """An override naming an entity that is not in the battle is rejected,
    as 'battles move' rejects it, rather than ignored with exit status 0."""
    battle_id = list_battles(db)[0].battle_id
    recipe = tmp_path / "recipe.json"
    show = ["--dsn", fought, "battles", "show"]
    assert main([*show, str(battle_id), "--save-recipe", str(recipe)]) == 0
    saved = json.loads(recipe.read_text())
    recipe.write_text(json.dumps(saved | {"overrides": [override]}))
    capsys.readouterr()

    assert main([*show, "--recipe", str(recipe)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        f"{recipe}: field 'overrides[0]' names {named}, which is not in the battle"
        in captured.err
    )

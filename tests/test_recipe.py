"""Battle recipes rebuild the battles detection found, on real and generated kills.

A recipe names systems and a time window. Other kills in those systems and
that time (a gate camp, a smaller fight beside a larger one) belong to
another battle or to none, so a recipe must leave them out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import BattleParameters, save_parameters
from evedmv_tui.battles.recipe import (
    Recipe,
    RecipeError,
    read_recipe,
    recipe_of_battle,
    report_from_recipe,
    write_recipe,
)
from evedmv_tui.battles.report import BattleReport, list_battles, load_report
from evedmv_tui.cli import main
from evedmv_tui.generate import generate_killmails
from evedmv_tui.generate.universe import builtin_static_tables
from evedmv_tui.ingest.hooks import default_hooks
from evedmv_tui.ingest.importer import import_paths, import_records
from evedmv_tui.sde import import_sde, load_tables
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import SHARED_DATA, _create_database, _drop_database, shared_file
from tests.test_battle_fixtures import (
    JITA,
    Pilot,
    brawl,
    fleet,
    insert_kills,
    insert_static,
    kill,
)


def assert_same_report(stored: BattleReport, rebuilt: BattleReport) -> None:
    """Fail unless the rebuilt report has the stored one's kills and figures."""
    where = f"battle {stored.battle_id}"
    assert [k.killmail_id for k in rebuilt.killmails] == [
        k.killmail_id for k in stored.killmails
    ], where
    assert [k.side_no for k in rebuilt.killmails] == [
        k.side_no for k in stored.killmails
    ], where
    assert rebuilt.entities == stored.entities, where
    assert rebuilt.metrics == stored.metrics, where
    assert rebuilt.kind == stored.kind, where
    assert rebuilt.confidence == stored.confidence, where
    assert rebuilt.solar_system_ids == stored.solar_system_ids, where
    assert rebuilt.region_ids == stored.region_ids, where
    assert (rebuilt.start_time, rebuilt.end_time) == (
        stored.start_time,
        stored.end_time,
    ), where


def assert_every_recipe_rebuilds(db: Database) -> int:
    """Save and rebuild the recipe of every stored battle; return the count."""
    battles = list_battles(db)
    for battle in battles:
        stored = load_report(db, battle.battle_id)
        rebuilt = report_from_recipe(db, recipe_of_battle(db, battle.battle_id))
        assert_same_report(stored, rebuilt)
    return len(battles)


def camp_kills(campers: list[Pilot], travellers: int, start: float) -> list[Kill]:
    """Return kills of ``travellers`` lone pilots, each shot once by ``campers``.

    Each victim flies for a corporation of its own, so no two groups meet
    twice and detection puts these kills into no battle.
    """
    found = []
    for number in range(travellers):
        victim = Pilot(91_000_000 + number, 98_100_000 + number, None)
        found.append(kill(start + 2.0 * number, victim, campers))
    return found


@pytest.fixture
def jita(db: Database) -> Database:
    insert_static(db)
    return db


def test_recipe_leaves_out_kills_of_no_battle(jita: Database) -> None:
    """A gate camp during a fight does not join the fight's recipe.

    The recipe used to take every player kill in its systems and window, so
    the camp's four kills turned a 30-kill fight into 34 kills.
    """
    side_a = fleet(8, 98_000_501, 99_000_501)
    side_b = fleet(8, 98_000_502, 99_000_502)
    campers = fleet(3, 98_000_503, 99_000_503)
    insert_kills(
        jita, brawl(side_a, side_b, kills=30) + camp_kills(campers, 4, start=2.0)
    )
    detect_all(jita)
    (battle,) = list_battles(jita)
    assert battle.kills == 30

    rebuilt = report_from_recipe(jita, recipe_of_battle(jita, battle.battle_id))

    assert rebuilt.kills == 30
    assert_same_report(load_report(jita, battle.battle_id), rebuilt)


def test_recipe_leaves_out_nested_battle(jita: Database) -> None:
    """A smaller fight inside a larger one's window stays a battle of its own."""
    side_a = fleet(8, 98_000_601, 99_000_601)
    side_b = fleet(8, 98_000_602, 99_000_602)
    side_c = fleet(6, 98_000_603, 99_000_603)
    side_d = fleet(6, 98_000_604, 99_000_604)
    large = brawl(side_a, side_b, kills=40, every=0.75)
    small = brawl(side_c, side_d, kills=12, start=10.0, every=0.4)
    insert_kills(jita, large + small)
    detect_all(jita)
    battles = sorted(list_battles(jita), key=lambda b: b.kills)
    assert [b.kills for b in battles] == [12, 40]

    count = assert_every_recipe_rebuilds(jita)

    assert count == 2


def test_handwritten_recipe_joins_battles_in_window(
    jita: Database, tmp_path: Path
) -> None:
    """A window over two battles in a row rebuilds them as one report."""
    side_a = fleet(8, 98_000_701, 99_000_701)
    side_b = fleet(8, 98_000_702, 99_000_702)
    first = brawl(side_a, side_b, kills=20)
    second = brawl(side_a, side_b, kills=20, start=180.0)
    insert_kills(jita, first + second + camp_kills(fleet(2, 98_000_703, None), 3, 90))
    detect_all(jita)
    assert sorted(b.kills for b in list_battles(jita)) == [20, 20]
    path = tmp_path / "recipe.json"
    path.write_text(
        json.dumps(
            {
                "systems": ["jita"],
                "start": (first[0].killmail_time).isoformat(),
                "end": (second[-1].killmail_time).isoformat(),
            }
        )
    )

    report = report_from_recipe(jita, read_recipe(path))

    assert report.kills == 40
    assert {k.killmail_id for k in report.killmails} == {
        k.killmail_id for k in first + second
    }


def test_recipe_without_battle_is_rejected(jita: Database) -> None:
    campers = fleet(3, 98_000_801, 99_000_801)
    kills = camp_kills(campers, 6, start=0.0)
    insert_kills(jita, kills)
    recipe = Recipe(
        (JITA,), kills[0].killmail_time, kills[-1].killmail_time, overrides=()
    )

    with pytest.raises(RecipeError) as caught:
        report_from_recipe(jita, recipe)

    assert "finds no battle" in caught.value.message


def test_recipe_keeps_its_parameters(jita: Database, tmp_path: Path) -> None:
    """A saved recipe rebuilds its battle after the parameters change."""
    side_a = fleet(8, 98_000_901, 99_000_901)
    side_b = fleet(8, 98_000_902, 99_000_902)
    insert_kills(jita, brawl(side_a, side_b, kills=30))
    detect_all(jita)
    (battle,) = list_battles(jita)
    stored = load_report(jita, battle.battle_id)
    path = tmp_path / "recipe.json"
    write_recipe(recipe_of_battle(jita, battle.battle_id), path)
    saved = json.loads(path.read_text())
    assert saved["version"] == 2
    assert saved["parameters"] == BattleParameters().to_json()

    save_parameters(jita, dataclasses.replace(BattleParameters(), hour_min_kills=50))
    detect_all(jita)
    assert list_battles(jita) == []

    assert_same_report(stored, report_from_recipe(jita, read_recipe(path)))
    del saved["parameters"]
    path.write_text(json.dumps(saved))
    with pytest.raises(RecipeError):
        report_from_recipe(jita, read_recipe(path))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"version": 3}, "field 'version' has 3"),
        ({"parameters": [1]}, "field 'parameters' must be an object"),
        ({"parameters": {"quiet": 5}}, 'unknown parameter "quiet"'),
        ({"parameters": {"quiet_minutes": -5}}, "must be positive"),
        (
            {"parameters": {"quiet_minutes": 2.7}},
            "quiet_minutes=2.7 is not a whole number",
        ),
        (
            {"parameters": {"quiet_minutes": True}},
            "quiet_minutes=true is not a whole number",
        ),
        (
            {"parameters": {"one_sided_ratio": float("nan")}},
            "one_sided_ratio=NaN is not a number",
        ),
        (
            {"systems": [JITA, 2**80]},
            "field 'systems[1]' has 1208925819614629174706176, expected a positive"
            " bigint (1 to 9223372036854775807)",
        ),
        ({"systems": [0]}, "field 'systems[0]' has 0, expected a positive bigint"),
        (
            {"systems": list(range(1, 502))},
            "field 'systems' has 501 systems, more than the maximum of 500",
        ),
        (
            {"start": "2003-01-01T00:00:00", "end": "2030-01-01T00:00:00"},
            "field 'end' is 9,862 days after 'start', more than the maximum of 7 days",
        ),
        (
            {"start": "2021-11-27T00:00:00", "end": "2021-12-04T03:19:30"},
            "field 'end' is 7 days 3 h 20 min after 'start', more than the"
            " maximum of 7 days",
        ),
        (
            {"start": "0001-01-01T00:00:00", "end": "0001-01-01T01:00:00"},
            "field 'start' has \"0001-01-01T00:00:00\", expected a time from"
            " 2003-01-01 to 9000-01-01",
        ),
        (
            {"start": "9999-12-31T00:00:00", "end": "9999-12-31T01:00:00"},
            "field 'start' has \"9999-12-31T00:00:00\"",
        ),
        (
            {
                "overrides": [
                    {"entity_kind": "character", "entity_id": 2**63, "new_side": 1}
                ]
            },
            "field 'overrides[0].entity_id' has 9223372036854775808, expected a"
            " positive bigint",
        ),
        (
            {
                "overrides": [
                    {
                        "entity_kind": "character",
                        "entity_id": 1,
                        "anchor_kind": "alliance",
                        "anchor_id": -1,
                    }
                ]
            },
            "field 'overrides[0].anchor_id' has -1, expected a positive bigint",
        ),
        *[
            (
                {
                    "overrides": [
                        {"entity_kind": "character", "entity_id": 1, "new_side": side}
                    ]
                },
                f"field 'overrides[0].new_side' has {text}, expected",
            )
            for side, text in [
                ("2", '"2"'),
                (1.5, "1.5"),
                (1.0, "1.0"),
                (True, "true"),
                (False, "false"),
                ([1], "[1]"),
                (0, "0"),
                (-3, "-3"),
                (2**31, "2147483648"),
                (2**80, "1208925819614629174706176"),
            ]
        ],
        # Values are quoted as the JSON file spells them, not as Python does.
        ({"version": True}, "field 'version' has true;"),
        ({"version": "2"}, "field 'version' has \"2\";"),
        ({"systems": [None]}, "field 'systems' has null, not an id or a name"),
        ({"systems": [False]}, "field 'systems' has false, not an id or a name"),
        ({"start": "yesterday"}, "field 'start' has \"yesterday\", not an ISO 8601"),
        (
            {"overrides": [{"entity_kind": None, "entity_id": 1, "new_side": 1}]},
            "field 'overrides[0].entity_kind' has null",
        ),
        (
            {"overrides": [{"entity_kind": "pilot", "entity_id": 1, "new_side": 1}]},
            "field 'overrides[0].entity_kind' has \"pilot\"",
        ),
        (
            {"overrides": [{"entity_kind": "character", "entity_id": "7"}]},
            "field 'overrides[0].entity_id' has \"7\", expected an integer id",
        ),
        (
            {"overrides": [{"entity_kind": "character", "entity_id": None}]},
            "field 'overrides[0].entity_id' has null, expected an integer id",
        ),
        (
            {"parameters": {"quiet_minutes": "-5"}},
            'quiet_minutes="-5" must be positive',
        ),
        (
            {"parameters": {"quiet_minutes": None}},
            "quiet_minutes=null is not a whole number",
        ),
    ],
)
def test_bad_recipe_fields_rejected(
    tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    document = {
        "version": 2,
        "systems": [JITA],
        "start": "2021-11-27T18:00:00+00:00",
        "end": "2021-11-27T19:00:00+00:00",
        **change,
    }
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(document))

    with pytest.raises(RecipeError) as caught:
        read_recipe(path)

    assert expected in caught.value.render()
    assert str(path) in caught.value.render()


def test_recipe_new_side_bounds(tmp_path: Path) -> None:
    """new_side labels from 1 to the integer column's maximum are read, and
    an error on one outside names the fix."""
    path = tmp_path / "recipe.json"
    document: dict[str, object] = {
        "systems": [JITA],
        "start": "2021-11-27T18:00:00+00:00",
        "end": "2021-11-27T19:00:00+00:00",
    }
    for side in (1, 2**31 - 1):
        override = {"entity_kind": "character", "entity_id": 1, "new_side": side}
        path.write_text(json.dumps({**document, "overrides": [override]}))
        assert read_recipe(path).overrides[0].new_side == side

    override = {"entity_kind": "character", "entity_id": 1, "new_side": "1"}
    path.write_text(json.dumps({**document, "overrides": [override]}))
    with pytest.raises(RecipeError) as caught:
        read_recipe(path)
    assert "fix the file" in caught.value.render()


def test_recipe_with_overlong_number_rejected(tmp_path: Path) -> None:
    path = tmp_path / "recipe.json"
    path.write_text('{"systems": [' + "9" * 5000 + "]}")

    with pytest.raises(RecipeError) as caught:
        read_recipe(path)

    assert caught.value.message == f"{path}: a number has too many digits to read"


def test_recipe_command_rejects_huge_id(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "recipe.json"
    path.write_text(
        json.dumps(
            {
                "systems": [2**80],
                "start": "2021-11-27T18:00:00+00:00",
                "end": "2021-11-27T19:00:00+00:00",
            }
        )
    )

    status = main(["--dsn", db_url, "battles", "show", "--recipe", str(path)])

    err = capsys.readouterr().err
    assert status == 2
    assert f"{path}: field 'systems[0]' has 1208925819614629174706176" in err
    assert "Traceback" not in err


def test_recipe_over_jsonb_limit_rejected(
    jita: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report past PostgreSQL's jsonb limit raises a RecipeError."""
    insert_kills(
        jita,
        brawl(
            fleet(8, 98_000_901, 99_000_901),
            fleet(8, 98_000_902, 99_000_902),
            kills=30,
        ),
    )
    detect_all(jita)
    (battle,) = list_battles(jita)
    recipe = recipe_of_battle(jita, battle.battle_id)
    fetch_value = jita.fetch_value

    def limited(query: object, *args: object, **kwargs: object) -> object:
        if getattr(query, "name", None) == "battles.recipe_metrics":
            raise psycopg.errors.ProgramLimitExceeded("total size of jsonb")
        return fetch_value(query, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jita, "fetch_value", limited)

    with pytest.raises(RecipeError) as caught:
        report_from_recipe(jita, recipe)

    assert caught.value.title == "battle recipe too large"
    assert "narrow the window" in caught.value.render()


def test_generated_battles_rebuild_from_recipes(db: Database) -> None:
    """Every battle of generated kills, detected batch by batch, rebuilds.

    The generator runs fleet fights beside gate camps and ganks in the same
    systems, so many windows hold kills of other battles or of none.
    """
    load_tables(db, builtin_static_tables())
    import_records(
        db,
        generate_killmails(6000, seed=2025),
        source="generated",
        after_batch=default_hooks(),
    )

    count = assert_every_recipe_rebuilds(db)

    assert count >= 50


def test_recipe_command_prints_stored_report(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load_tables(db, builtin_static_tables())
    import_records(
        db,
        generate_killmails(3000, seed=7),
        source="generated",
        after_batch=default_hooks(),
    )
    battle = max(list_battles(db), key=lambda b: b.kills)
    path = tmp_path / "recipe.json"
    show = ["--dsn", db_url, "battles", "show"]
    capsys.readouterr()

    assert main([*show, str(battle.battle_id), "--save-recipe", str(path)]) == 0
    stored = capsys.readouterr().out
    assert main([*show, "--recipe", str(path)]) == 0
    rebuilt = capsys.readouterr().out

    heading = f"Battle {battle.battle_id}:"
    assert stored.startswith(heading)
    assert rebuilt.startswith("Battle from a recipe:")
    rest = rebuilt.removeprefix("Battle from a recipe:")
    assert rest == stored.removeprefix(heading)
    assert main([*show, "--recipe", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["battle_id"] is None


@pytest.fixture(scope="module")
def real_db(pg_cluster: PrivateCluster) -> Iterator[Database]:
    """The SDE and the EVE Ref archive of 2021-11-28, imported as users do."""
    archive = shared_file("killmails/everef/killmails-2021-11-28.tar.bz2")
    name = _create_database(pg_cluster)
    database = Database(pg_cluster.url(name), telemetry=Telemetry())
    try:
        import_sde(database, SHARED_DATA / "sde")
        import_paths(database, [archive], offline=True, after_batch=default_hooks())
        yield database
    finally:
        database.close()
        _drop_database(pg_cluster, name)


@pytest.mark.slow
def test_real_battles_rebuild_from_recipes(real_db: Database) -> None:
    """Every battle of a real day rebuilds, including the Jorund fight."""
    count = assert_every_recipe_rebuilds(real_db)

    assert count >= 100

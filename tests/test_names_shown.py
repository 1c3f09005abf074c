"""Stored names reach every page, whatever the id: reports, exports, top lists.

The generator gives its pilots, corporations and alliances ids past 2^31,
which ESI cannot resolve, and names them in the ``names`` table. Those
stored names must show everywhere; only the ESI request skips such ids.
"""

from __future__ import annotations

import json

import pytest

from evedmv_tui.battles.export import render
from evedmv_tui.battles.recipe import recipe_of_battle, report_from_recipe
from evedmv_tui.battles.report import (
    BattleReport,
    list_battles,
    load_report,
    report_entity_ids,
)
from evedmv_tui.cli import main
from evedmv_tui.esi import EsiClient
from evedmv_tui.generate import generate_killmails, generated_world
from evedmv_tui.generate.names import store_generated_names
from evedmv_tui.generate.universe import builtin_static_tables
from evedmv_tui.ingest.hooks import default_hooks
from evedmv_tui.ingest.importer import import_records
from evedmv_tui.names import NameResolver
from evedmv_tui.sde import load_tables
from evedmv_tui.store.db import Database
from tests.fakes.server import FakeServer

INT32_MAX = 2**31 - 1
USER_AGENT = "evedmv-tui tests (tests@example.invalid)"


@pytest.fixture
def named(db: Database) -> Database:
    """Generated kills with battles detected and every entity named."""
    load_tables(db, builtin_static_tables())
    import_records(
        db,
        generate_killmails(3000, seed=7),
        source="generated",
        after_batch=default_hooks(),
    )
    assert store_generated_names(db, generated_world(7)) > 0
    return db


def stored_names(db: Database, ids: set[int]) -> dict[int, str]:
    rows = db.fetch_all(
        "SELECT entity_id, name FROM names WHERE entity_id = ANY(%s)", (sorted(ids),)
    )
    return dict(rows)


def largest_report(db: Database) -> BattleReport:
    battle = max(list_battles(db), key=lambda b: b.kills)
    return load_report(db, battle.battle_id)


def test_battle_report_names_large_ids(named: Database) -> None:
    report = largest_report(named)
    ids = report_entity_ids(report.metrics, report.entities, report.killmails)
    names = stored_names(named, ids)

    assert any(i > INT32_MAX for i in names)
    for entity_id, name in names.items():
        assert report.name(entity_id) == name, entity_id


def test_recipe_report_names_large_ids(named: Database) -> None:
    stored = largest_report(named)

    rebuilt = report_from_recipe(named, recipe_of_battle(named, stored.battle_id))

    assert rebuilt.names == stored.names
    assert any(i > INT32_MAX for i in rebuilt.names)


def test_battle_export_names_large_ids(named: Database) -> None:
    report = largest_report(named)
    names = stored_names(named, {k.victim_character_id or 0 for k in report.killmails})
    large = {i: n for i, n in names.items() if i > INT32_MAX}
    assert large

    document = json.loads(render(report, "json"))

    victims = {k["victim"] for k in document["killmails"]}
    assert set(large.values()) <= victims
    pilots = [
        entry
        for side in document["sides"]
        for entry in side["top_damage"] + side["top_final_blows"]
    ]
    assert pilots
    for entry in pilots:
        assert entry["name"] == names.get(entry["character_id"], entry["name"])
        assert entry["name"] != str(entry["character_id"])


def test_large_ids_not_sent_to_esi(named: Database, fake: FakeServer) -> None:
    """Stored names of ids past 2^31 resolve without an ESI request."""
    large = named.fetch_value(
        "SELECT array_agg(entity_id ORDER BY entity_id) FROM names"
        " WHERE entity_id > %s",
        (INT32_MAX,),
    )
    unnamed = 2**31 + 7
    assert unnamed not in large
    with EsiClient(fake.esi_url, user_agent=USER_AGENT, sleep=lambda _: None) as esi:
        resolver = NameResolver(named, esi)
        names = resolver.resolve([*large, unnamed])

    assert set(names) == set(large)
    assert fake.requests == []


@pytest.mark.parametrize("offline", [True, False])
def test_entity_top_pilots_named(
    named: Database,
    db_url: str,
    fake: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    offline: bool,
) -> None:
    """The top pilots of a corporation page carry their stored names."""
    monkeypatch.setenv("EVEDMV_ESI_URL", fake.esi_url)
    corporation = named.fetch_value(
        "SELECT corporation_id FROM attackers WHERE character_id > %s"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        (INT32_MAX,),
    )
    args = ["--dsn", db_url, "corp", "show", str(corporation)]
    args += ["--period", "all", "--json"]
    capsys.readouterr()

    assert main([*args, "--offline"] if offline else args) == 0

    page = json.loads(capsys.readouterr().out)
    pilots = page["tops"]["pilots"]
    names = stored_names(named, {p["key"] for p in pilots})
    assert any(i > INT32_MAX for i in names)
    for pilot in pilots:
        assert pilot["name"] == names[pilot["key"]], pilot
    assert fake.requests == []

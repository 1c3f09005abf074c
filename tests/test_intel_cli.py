"""``evedmv corp|alliance|character show`` and ``evedmv watch ...`` end to end."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.intel.entities import MAX_COUNTED, EntityKind, EntityRef, Period
from evedmv_tui.intel.pages import load_page
from evedmv_tui.intel.summary import summary_rows
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.text import format_isk
from tests import test_entity_pages
from tests.fakes.server import FakeServer
from tests.test_battle_fixtures import Pilot as FleetPilot
from tests.test_intel_real import busiest, real_database

# A fight of which two kills have no ISK value (see tests/test_entity_pages.py).
unvalued_db = test_entity_pages.unvalued_db


class World:
    def __init__(self, db: Database, url: str) -> None:
        self.db = db
        self.url = url
        self.corporation = busiest(db, "corporation_id")
        self.alliance = busiest(db, "alliance_id")
        db.execute(
            "INSERT INTO names (entity_id, category, name) VALUES"
            " (%s, 'corporation', 'Brave Busy Corp'),"
            " (98999901, 'corporation', 'Twin One'),"
            " (98999902, 'corporation', 'Twin Two')",
            (self.corporation,),
        )


@pytest.fixture(scope="module")
def world(pg_cluster: PrivateCluster) -> Iterator[World]:
    with real_database(pg_cluster) as (db, url):
        yield World(db, url)


@pytest.fixture
def esi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeServer]:
    """ESI on loopback, and no config file or environment of the user's."""
    with FakeServer() as server:
        monkeypatch.setenv("EVEDMV_ESI_URL", server.esi_url)
        monkeypatch.setenv("EVEDMV_USER_AGENT", "evedmv-tui tests")
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
        yield server


def run(world: World, *args: str) -> int:
    return main(["--dsn", world.url, *args])


@pytest.fixture(autouse=True)
def _no_profiles(world: World) -> Iterator[None]:
    yield
    world.db.execute("TRUNCATE watch_profiles CASCADE")
    world.db.execute(
        "DELETE FROM names WHERE fetched_at > now() - interval '1 hour'"
        " AND entity_id NOT IN (%s, 98999901, 98999902)",
        (world.corporation,),
    )


def test_corp_show_json_equals_page(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    corporation = str(world.corporation)
    args = ("corp", "show", corporation, "--json", "--period", "all", "--offline")
    assert run(world, *args) == 0
    data = json.loads(capsys.readouterr().out)
    page = load_page(
        world.db,
        EntityRef(EntityKind.CORPORATION, world.corporation, None),
        Period.ALL,
    )
    assert data["entity"] == {
        "kind": "corporation",
        "id": world.corporation,
        "name": "Brave Busy Corp",
    }
    assert data["period"] == "all"
    assert data["summary"]["kills"] == page.summary.kills
    assert data["summary"]["losses"] == page.summary.losses
    assert data["summary"]["isk_efficiency"] == pytest.approx(
        page.summary.isk_efficiency
    )
    assert len(data["tops"]["pilots"]) == len(page.tops["pilots"])
    assert sum(c["kills"] for c in data["heatmap"]["cells"]) == page.summary.kills


def test_show_resolves_names_from_esi(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    page = load_page(
        world.db, EntityRef(EntityKind.ALLIANCE, world.alliance, None), Period.ALL
    )
    kinds = {
        "pilots": "character",
        "with_corporations": "corporation",
        "against_corporations": "corporation",
        "with_alliances": "alliance",
        "against_alliances": "alliance",
    }
    # Victims first, so a pilot who is also a victim keeps the pilot name.
    served = {
        entity_id: ("character", f"victim {entity_id}")
        for item in page.recent
        for entity_id in [item.victim_character_id or item.victim_corporation_id]
        if entity_id is not None
    }
    for name, category in kinds.items():
        for entry in page.tops[name]:
            assert entry.key is not None
            served[entry.key] = (category, f"{category} name {entry.key}")
    for ref in (page.latest_corporation, page.latest_alliance):
        if ref is not None:
            served[ref.entity_id] = (ref.kind.value, f"latest {ref.entity_id}")
    served[world.alliance] = ("alliance", "Served Alliance")
    esi.add_names((key, category, name) for key, (category, name) in served.items())
    top_pilot = page.tops["pilots"][0].key
    assert run(world, "alliance", "show", str(world.alliance), "--period", "all") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Served Alliance (alliance {world.alliance})")
    assert "Top pilots" in out
    assert f"character name {top_pilot}" in out
    assert len(esi.requests_to("POST", "/esi/universe/names/")) == 1


def test_show_offline_never_asks_esi(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "corp", "show", "brave busy corp", "--offline") == 0
    captured = capsys.readouterr()
    out = captured.out
    unnamed = r"offline: the names of [\d,]+ entit(y|ies) without a stored name"
    assert re.search(unnamed, captured.err)
    assert "(s)" not in captured.err
    assert out.startswith(f"Brave Busy Corp (corporation {world.corporation})")
    assert "ISK efficiency" in out
    assert "last 30 days" in out
    assert esi.requests_to("POST", "/esi/") == []


def test_show_text_has_panel_summary(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "corp", "show", str(world.corporation), "--offline") == 0
    out = capsys.readouterr().out
    page = load_page(
        world.db, EntityRef(EntityKind.CORPORATION, world.corporation, None)
    )
    for left, left_value, right, right_value in summary_rows(page):
        assert f"{left:<15}{left_value:>12}" in out
        assert f"{right:<15}{right_value:>12}" in out
    # The recent list is not limited to the period, and its heading states it.
    assert page.recent
    assert "\nLatest kills and losses, at any time, not only the last 30 days\n" in out


@pytest.mark.parametrize(
    ("word", "entity_id"), [("corporation", 98_000_801), ("alliance", 99_000_802)]
)
def test_show_marks_isk_without_value(
    unvalued_db: tuple[Database, FleetPilot],
    db_url: str,
    esi: FakeServer,
    capsys: pytest.CaptureFixture[str],
    word: str,
    entity_id: int,
) -> None:
    """``corporation show`` and ``alliance show`` printed ISK totals that
    leave out kills without a value as if they were complete."""
    args = ("--dsn", db_url, word, "show", str(entity_id), "--period", "all")
    assert main([*args, "--offline"]) == 0
    text = capsys.readouterr().out
    assert main([*args, "--offline", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["kills_without_value"] == 1
    assert summary["losses_without_value"] == 1
    destroyed = format_isk(summary["isk_destroyed"]) + "+"
    lost = format_isk(summary["isk_lost"]) + "+"
    assert f"{'ISK destroyed':<15}{destroyed:>12}" in text
    assert f"{'ISK lost':<15}{lost:>12}" in text


def test_ship_classes_flown_count_kills_per_class(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ship classes flown were headed "Ships flown" with "kills" per row,
    and read as kills by that class, though their sum exceeds the kills."""
    corporation = str(world.corporation)
    base = ("corp", "show", corporation, "--period", "all", "--offline")
    assert run(world, *base, "--json") == 0
    page = json.loads(capsys.readouterr().out)
    assert run(world, *base) == 0
    out = capsys.readouterr().out

    assert "\nShip classes flown, by kills each class was on\n" in out
    assert "Ships flown (by class)" not in out
    flown = page["tops"]["ships_flown"]
    assert flown
    for entry in flown[:3]:
        on_kills = world.db.fetch_value(
            "SELECT count(DISTINCT a.killmail_id) FROM attackers a"
            " JOIN types t ON t.type_id = a.ship_type_id"
            " JOIN groups g ON g.group_id = t.group_id"
            " WHERE a.corporation_id = %s AND g.ship_class = %s",
            (world.corporation, entry["name"]),
        )
        assert entry["kills"] == on_kills


def test_show_text_escapes_control_characters(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name from ESI must not reach the terminal as an escape sequence."""
    world.db.execute(
        "UPDATE names SET name = %s WHERE entity_id = %s",
        ("Evil\x1b]0;pwned\x07 Corp", world.corporation),
    )
    try:
        assert run(world, "corp", "show", str(world.corporation), "--offline") == 0
    finally:
        world.db.execute(
            "UPDATE names SET name = 'Brave Busy Corp' WHERE entity_id = %s",
            (world.corporation,),
        )
    out = capsys.readouterr().out
    assert "Evil\\x1b]0;pwned\\x07 Corp" in out
    assert "\x1b" not in out
    assert "\x07" not in out


def test_ambiguous_name_lists_candidates(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "corp", "show", "twin", "--offline") == 2
    err = capsys.readouterr().err
    assert "2 corporations match 'twin'" in err
    assert "98999901  Twin One" in err
    assert "98999902  Twin Two" in err
    assert "one of these ids" in err


def test_many_candidates_say_more_match(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = list(range(98999910, 98999922))
    world.db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " SELECT id, 'corporation', 'Clone Works ' || id"
        " FROM unnest(%s::bigint[]) AS id",
        (ids,),
    )
    try:
        assert run(world, "corp", "show", "clone works", "--offline") == 2
        err = capsys.readouterr().err
        assert "12 corporations match 'clone works'; the first 10 are listed" in err
        listed = [i for i in ids if f"{i}  Clone Works {i}" in err]
        assert len(listed) == 10
    finally:
        world.db.execute("DELETE FROM names WHERE entity_id = ANY(%s)", (ids,))


ARROWS = {
    99999901: "Arrow Alliance",
    99999902: "Arrowhead Syndicate",
    99999903: "Broken Arrow",
    99999904: "Crimson Arrow",
    99999905: "Dusk Arrow",
    99999906: "Eastern Arrow",
    99999907: "Fallen Arrow",
    99999908: "Golden Arrow",
    99999909: "Hollow Arrow",
    99999910: "Iron Arrow",
    99999911: "Molten Arrow Alliance",
    99999912: "Obsidian Arrow",
    99999913: "Umbral Arrow",
}


@pytest.fixture
def arrows(world: World) -> Iterator[None]:
    world.db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " SELECT id, 'alliance', name FROM unnest(%s::bigint[], %s::text[])"
        " AS t (id, name)",
        (list(ARROWS), list(ARROWS.values())),
    )
    yield
    world.db.execute("DELETE FROM names WHERE entity_id = ANY(%s)", (list(ARROWS),))


def test_many_candidates_counted_and_narrowed(
    world: World, arrows: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name with more than 10 matches listed 10 of them with no total and
    no word on how to reach the rest."""
    assert run(world, "alliance", "show", "Arrow", "--offline") == 2
    err = capsys.readouterr().err
    assert "13 alliances match 'Arrow'; the first 10 are listed" in err
    assert "type more of the name to narrow the list" in err
    listed = re.findall(r"^  (\d+)  (.+)$", err, re.MULTILINE)
    # Name prefixes first, then the names with a later word, alphabetically.
    assert [name for _, name in listed] == [
        "Arrow Alliance",
        "Arrowhead Syndicate",
        "Broken Arrow",
        "Crimson Arrow",
        "Dusk Arrow",
        "Eastern Arrow",
        "Fallen Arrow",
        "Golden Arrow",
        "Hollow Arrow",
        "Iron Arrow",
    ]

    assert run(world, "alliance", "show", "molten arrow", "--offline", "--json") == 0
    assert json.loads(capsys.readouterr().out)["entity"]["id"] == 99999911


def test_few_candidates_listed_in_full(
    world: World, arrows: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "alliance", "show", "arrow a", "--offline") == 2
    err = capsys.readouterr().err
    assert "2 alliances match 'arrow a'" in err
    assert "listed" not in err
    assert "type more" not in err
    assert "hint: run the command again with one of these ids" in err


def test_candidate_count_capped(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past MAX_COUNTED matches, the heading reads "more than"."""
    ids = list(range(99990000, 99990000 + MAX_COUNTED + 1))
    world.db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " SELECT id, 'alliance', 'Swarm ' || id FROM unnest(%s::bigint[]) AS id",
        (ids,),
    )
    try:
        assert run(world, "alliance", "show", "swarm", "--offline") == 2
        err = capsys.readouterr().err
        assert f"more than {MAX_COUNTED:,} alliances match 'swarm'" in err
    finally:
        world.db.execute("DELETE FROM names WHERE entity_id = ANY(%s)", (ids,))


def test_unknown_entity_fails(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "character", "show", "Nobody At All", "--offline") == 2
    err = capsys.readouterr().err
    assert "character not found" in err
    assert "'Nobody At All'" in err
    assert run(world, "alliance", "show", "12345", "--offline") == 2


def test_unknown_id_hint_fits_an_id(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id that nothing mentions once got the hint "give the numeric
    id", although a numeric id was given."""
    assert run(world, "corp", "show", "123", "--offline") == 2
    err = capsys.readouterr().err
    assert "corporation not found" in err
    assert "no stored killmail or name mentions this id" in err
    assert "give the numeric id" not in err


def test_unknown_name_hint_says_how_names_match(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "corp", "show", "Nobody At All", "--offline") == 2
    err = capsys.readouterr().err
    assert "a name matches a whole stored name, or the start of one" in err
    assert "of a word in one, ignoring case" in err


def test_word_inside_name_found(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A later word of a name finds the entity, as the first word does."""
    assert run(world, "corp", "show", "busy corp", "--offline", "--json") == 0
    page = json.loads(capsys.readouterr().out)
    assert page["entity"]["id"] == world.corporation

    assert run(world, "corp", "show", "BUSY", "--offline", "--json") == 0
    page = json.loads(capsys.readouterr().out)
    assert page["entity"]["id"] == world.corporation


def test_word_match_needs_three_characters(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Below three characters only name prefixes match (no trigram index)."""
    world.db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " VALUES (98999930, 'corporation', 'Qz Zq Holdings')"
    )
    try:
        assert run(world, "corp", "show", "zq", "--offline") == 2
        assert "corporation not found" in capsys.readouterr().err
        assert run(world, "corp", "show", "qz", "--offline", "--json") == 0
        assert json.loads(capsys.readouterr().out)["entity"]["id"] == 98999930
    finally:
        world.db.execute("DELETE FROM names WHERE entity_id = 98999930")


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_name_rejected(
    world: World, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        run(world, "character", "show", query, "--offline")
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "the id or name is empty" in err
    assert "not found" not in err


def test_unnamed_entity_header_names_id_once(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entity without a stored name was headed "character 9 (character 9)"."""
    character = world.db.fetch_value(
        "SELECT victim_character_id FROM killmails AS k"
        " WHERE victim_character_id IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM names AS n WHERE n.entity_id = k.victim_character_id)"
        " LIMIT 1"
    )
    assert character is not None
    assert run(world, "character", "show", str(character), "--offline") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"character {character}"


def test_largest_id_found(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """An id of 19 digits, up to 2^63-1, is looked up as an id."""
    world.db.execute(
        "INSERT INTO names (entity_id, category, name)"
        " VALUES (9223372036854775807, 'corporation', 'Edge Of Bigint')"
    )

    status = run(world, "corp", "show", "9223372036854775807", "--offline", "--json")

    assert status == 0
    page = json.loads(capsys.readouterr().out)
    assert page["entity"]["id"] == 9223372036854775807


def test_id_past_bigint_fails(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(world, "alliance", "show", "9223372036854775808", "--offline") == 2

    err = capsys.readouterr().err
    assert "alliance not found" in err
    assert "ids run from 1 to 9223372036854775807" in err
    assert "Traceback" not in err


def test_other_kind_named_in_hint(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    alliance = str(world.alliance)
    assert run(world, "corp", "show", alliance, "--offline") == 2
    err = capsys.readouterr().err
    assert "corporation not found" in err
    assert f"names a stored alliance: run evedmv alliance show {alliance}" in err


def test_watch_commands(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    corporation = str(world.corporation)
    assert (
        run(
            world,
            "watch",
            "add",
            "busy",
            "--corporations",
            corporation,
            "--min-attackers",
            "2",
        )
        == 0
    )
    assert (
        run(
            world,
            "watch",
            "add",
            "capitals",
            "--ship-classes",
            "capital,supercapital",
            "--min-value",
            "1e9",
        )
        == 0
    )
    assert run(world, "watch", "add", "bad", "--ship-classes", "dreadnought") == 2
    assert "unknown ship class 'dreadnought'" in capsys.readouterr().err
    assert run(world, "watch", "list") == 0
    listing = capsys.readouterr().out
    assert "on  busy" in listing
    assert "classes capital,supercapital" in listing
    assert (
        run(
            world,
            "watch",
            "edit",
            "busy",
            "--clear",
            "min-attackers",
            "--regions",
            "10000060",
            "--rename",
            "busy2",
        )
        == 0
    )
    assert "updated watch profile 'busy2'" in capsys.readouterr().out
    assert run(world, "watch", "disable", "busy2", "capitals") == 0
    assert "disabled 2 watch profiles: busy2, capitals" in capsys.readouterr().out
    assert run(world, "watch", "list") == 0
    listing = capsys.readouterr().out
    assert "off busy2" in listing
    assert "regions Delve" in listing
    assert "attackers" not in listing.split("busy2", 1)[1].splitlines()[0]
    assert run(world, "watch", "enable", "busy2", "missing") == 2
    assert "no watch profile named 'missing'" in capsys.readouterr().err
    assert run(world, "watch", "matches") == 0
    assert "no matches recorded" in capsys.readouterr().out
    assert run(world, "watch", "delete", "busy2", "capitals") == 0
    assert run(world, "watch", "list") == 0
    assert "no watch profiles" in capsys.readouterr().out


def test_watch_places_by_name(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--systems and --regions take names in any case as well as ids, and an
    unknown name stops the command with the name and a hint."""
    args = ("--systems", "jita,30002537", "--regions", "The Forge")
    assert run(world, "watch", "add", "hubs", *args) == 0
    out = capsys.readouterr().out
    # The conditions name the places; they printed the ids.
    assert "systems Amamake,Jita; regions The Forge" in out
    assert run(world, "watch", "edit", "hubs", "--regions", "heimatar") == 0
    assert "regions Heimatar" in capsys.readouterr().out
    assert run(world, "watch", "list") == 0
    assert "systems Amamake,Jita; regions Heimatar" in capsys.readouterr().out
    assert run(world, "watch", "add", "typo", "--systems", "Jitaa") == 2
    err = capsys.readouterr().err
    assert "no solar system named 'Jitaa' is stored" in err
    assert "evedmv sde import" in err
    with pytest.raises(SystemExit) as stopped:
        run(world, "watch", "add", "empty", "--systems", ",")
    assert stopped.value.code == 2
    assert "give names or ids separated by commas" in capsys.readouterr().err


def test_watch_value_bound_and_plural(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A minimum value of 1e30 ISK was accepted, and deleting one profile
    printed "1 watch profiles"."""
    assert run(world, "watch", "add", "vast", "--min-value", "1e30") == 2
    error = capsys.readouterr().err
    assert "minimum value 1e+30 ISK is more than 1e+15 ISK" in error
    assert run(world, "watch", "list") == 0
    assert "no watch profiles" in capsys.readouterr().out
    assert run(world, "watch", "add", "one", "--min-value", "1000t") == 0
    capsys.readouterr()
    assert run(world, "watch", "delete", "one") == 0
    assert "deleted 1 watch profile: one" in capsys.readouterr().out


def test_watch_matches_lists_recorded(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from evedmv_tui.ingest.hooks import BatchResult
    from evedmv_tui.intel import watch

    assert (
        run(world, "watch", "add", "busy", "--corporations", str(world.corporation))
        == 0
    )
    row = world.db.fetch_one(
        "SELECT array_agg(killmail_id), min(killmail_time), max(killmail_time)"
        " FROM killmails"
    )
    assert row is not None
    matches = watch.match_batch(
        world.db, BatchResult(tuple(row[0]), (), row[1], row[2], ())
    )
    capsys.readouterr()
    assert run(world, "watch", "matches", "busy", "--limit", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    newest = max(matches, key=lambda m: m.match_id)
    assert str(newest.killmail_id) in lines[0]


def test_watch_backfill_matches_stored_killmails(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A profile created after the import started without matches."""
    from evedmv_tui.intel import watch

    assert (
        run(world, "watch", "add", "busy", "--corporations", str(world.corporation))
        == 0
    )
    assert run(world, "watch", "matches", "busy") == 0
    assert capsys.readouterr().out.endswith("no matches recorded\n")
    expected = world.db.fetch_value(
        "SELECT count(*) FROM killmails k WHERE k.victim_corporation_id = %(c)s"
        " OR EXISTS (SELECT 1 FROM attackers a WHERE a.killmail_id = k.killmail_id"
        " AND a.killmail_time = k.killmail_time AND a.corporation_id = %(c)s)",
        {"c": world.corporation},
    )
    assert expected > 0

    assert run(world, "watch", "backfill", "busy", "--since", "2000-01-01") == 0
    out = capsys.readouterr().out
    assert out == (
        f"watch profile 'busy': {expected:,} new matches among killmails"
        " since 2000-01-01 00:00 UTC\n"
    )
    [profile] = [p for p in watch.list_profiles(world.db) if p.name == "busy"]
    assert profile.matches == expected
    # The killmails are years old, so the default of the last 7 days finds none.
    assert run(world, "watch", "backfill", "busy") == 0
    assert " 0 new matches" in capsys.readouterr().out


def test_watch_backfill_explains_no_matches(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backfill that found nothing gave no hint that every stored killmail
    was older than --since, so the default of 7 days looked like a fault."""
    span = world.db.fetch_one(
        "SELECT min(killmail_time), max(killmail_time) FROM killmails"
    )
    oldest, newest = (moment.astimezone(dt.UTC) for moment in span)
    corporation = str(world.corporation)
    assert run(world, "watch", "add", "busy", "--corporations", corporation) == 0
    capsys.readouterr()

    assert run(world, "watch", "backfill", "busy") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert " 0 new matches" in lines[0]
    assert lines[1] == (
        f"the stored killmails are from {oldest:%Y-%m-%d %H:%M} to"
        f" {newest:%Y-%m-%d %H:%M} UTC, all before --since; give an earlier"
        f" --since, such as --since {oldest:%Y-%m-%d}"
    )

    assert run(world, "watch", "backfill", "busy", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["new_matches"] == 0
    assert document["oldest_stored_killmail"] == oldest.isoformat()
    assert document["newest_stored_killmail"] == newest.isoformat()
    assert document["hint"] == lines[1]

    # The suggested --since finds the matches, and then the hint is null.
    since = f"{oldest:%Y-%m-%d}"
    assert run(world, "watch", "backfill", "busy", "--since", since, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["new_matches"] > 0
    assert document["hint"] is None
    recorded = document["new_matches"]

    assert run(world, "watch", "backfill", "busy", "--since", since) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"its {recorded:,} matches were recorded already"


def test_watch_backfill_names_unmet_conditions(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(world, "watch", "add", "twin", "--corporations", "98999901") == 0
    capsys.readouterr()
    assert run(world, "watch", "backfill", "twin", "--since", "2000-01-01") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        "none of the stored killmails since then meets its conditions:"
        " corporations 98999901"
    )


def test_corporation_command_word_and_hash_id(
    world: World, esi: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The palette's word "corporation" and the dashboard's "#id" form were
    refused by the command line."""
    capsys.readouterr()
    assert run(world, "corp", "show", str(world.corporation), "--offline") == 0
    expected = capsys.readouterr().out
    assert run(world, "corporation", "show", str(world.corporation), "--offline") == 0
    assert capsys.readouterr().out == expected
    assert run(world, "corp", "show", f"#{world.corporation}", "--offline") == 0
    assert capsys.readouterr().out == expected

"""Watch profiles: storage, bulk operations and batch matching."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import pytest

from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.writer import PartitionManager
from evedmv_tui.intel import watch
from evedmv_tui.intel.watch import ProfileSpec, WatchError, WatchMatch
from evedmv_tui.store.db import Database, NamedSql
from evedmv_tui.store.telemetry import count_statements

T0 = dt.datetime(2021, 11, 28, 20, 0, tzinfo=dt.UTC)
JITA, PERIMETER, AMAMAKE = 30000142, 30000144, 30002537
THE_FORGE, HEIMATAR = 10000002, 10000030
RIFTER, DRAKE, AVATAR = 587, 24698, 11567


def _static_data(db: Database) -> None:
    db.execute(
        "INSERT INTO regions (region_id, region_name) VALUES"
        " (10000002, 'The Forge'), (10000030, 'Heimatar')"
    )
    db.execute(
        "INSERT INTO solar_systems (solar_system_id, solar_system_name,"
        " constellation_id, region_id, security) VALUES"
        " (30000142, 'Jita', 20000020, 10000002, 0.95),"
        " (30000144, 'Perimeter', 20000020, 10000002, 0.95),"
        " (30002537, 'Amamake', 20000372, 10000030, 0.4)"
    )
    db.execute(
        "INSERT INTO groups (group_id, group_name, category_id, published,"
        " ship_class) VALUES (25, 'Frigate', 6, true, 'frigate'),"
        " (419, 'Combat Battlecruiser', 6, true, 'battlecruiser'),"
        " (30, 'Titan', 6, true, 'supercapital')"
    )
    db.execute(
        "INSERT INTO types (type_id, type_name, group_id, published) VALUES"
        " (587, 'Rifter', 25, true), (24698, 'Drake', 419, true),"
        " (11567, 'Avatar', 30, true)"
    )
    db.execute("CREATE TABLE killmails_test PARTITION OF killmails DEFAULT")
    db.execute("CREATE TABLE attackers_test PARTITION OF attackers DEFAULT")


def _killmail(
    db: Database,
    killmail_id: int,
    *,
    system: int = JITA,
    victim: tuple[int | None, int, int | None] = (90000001, 98000001, None),
    ship: int = RIFTER,
    value: float | None = 10_000_000.0,
    attackers: Sequence[tuple[int | None, int | None, int | None, int | None]] = (
        (90000002, 98000002, 99000002, RIFTER),
    ),
) -> None:
    """Insert one killmail; attackers are (character, corporation, alliance, ship)."""
    when = T0 + dt.timedelta(minutes=killmail_id % 1000)
    db.execute(
        "INSERT INTO killmails (killmail_id, killmail_time, solar_system_id,"
        " victim_character_id, victim_corporation_id, victim_alliance_id,"
        " victim_ship_type_id, victim_damage_taken, attacker_count, total_value,"
        " esi_body, source) VALUES (%s, %s, %s, %s, %s, %s, %s, 100, %s, %s,"
        " '{}', 'test')",
        (killmail_id, when, system, *victim, ship, len(attackers), value),
    )
    for index, (character, corporation, alliance, ship_type) in enumerate(attackers):
        db.execute(
            "INSERT INTO attackers (killmail_id, killmail_time, attacker_index,"
            " character_id, corporation_id, alliance_id, ship_type_id,"
            " damage_done, final_blow) VALUES (%s, %s, %s, %s, %s, %s, %s, 10, %s)",
            (
                killmail_id,
                when,
                index,
                character,
                corporation,
                alliance,
                ship_type,
                index == 0,
            ),
        )


def _batch(*ids: int) -> BatchResult:
    return BatchResult(
        inserted_ids=ids,
        updated_ids=(),
        min_time=T0,
        max_time=T0 + dt.timedelta(days=1),
        solar_system_ids=(),
    )


@pytest.fixture
def world(db: Database) -> Database:
    _static_data(db)
    return db


def _matched(matches: Sequence[WatchMatch]) -> set[tuple[str, int]]:
    return {(m.profile_name, m.killmail_id) for m in matches}


def test_profile_round_trip(db: Database) -> None:
    spec = ProfileSpec(
        "capitals in forge",
        region_ids=(THE_FORGE,),
        ship_classes=("capital", "supercapital"),
        min_value=1e9,
    )
    profile_id = watch.create_profile(db, spec)
    [stored] = watch.list_profiles(db)
    assert stored.profile_id == profile_id
    assert stored.spec() == spec
    assert stored.matches == 0
    # No static data is stored, so the region is named by its id.
    assert "regions 10000002" in stored.describe()


def test_duplicate_name_rejected(db: Database) -> None:
    watch.create_profile(db, ProfileSpec("a", min_attackers=5))
    with pytest.raises(WatchError, match="already exists"):
        watch.create_profile(db, ProfileSpec("a", min_attackers=6))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ProfileSpec("empty"), "no conditions"),
        (ProfileSpec("", min_attackers=2), "the profile has no name"),
        (ProfileSpec("x" * 101, min_attackers=2), "is 101 characters long, more than"),
        (ProfileSpec("bad id", character_ids=(0,)), "not a positive id"),
        (ProfileSpec("bad class", ship_classes=("dreadnought",)), "unknown ship"),
        (ProfileSpec("neg", min_value=-1.0), "not a finite amount of 0 or more"),
        (ProfileSpec("nan", min_value=math.nan), "minimum value nan is not a finite"),
        (ProfileSpec("inf", min_value=math.inf), "minimum value inf is not a finite"),
        (ProfileSpec("vast", min_value=1e30), "value 1e\\+30 ISK is more than 1e\\+15"),
        (
            ProfileSpec("bounds", min_attackers=5, max_attackers=2),
            "maximum attacker count 2 is below the minimum 5",
        ),
        (ProfileSpec("zero", max_attackers=0), "maximum attacker count 0 is out"),
        (ProfileSpec("huge", min_attackers=2**31), "count 2147483648 is out of range"),
    ],
)
def test_invalid_profile_rejected(
    db: Database, spec: ProfileSpec, message: str
) -> None:
    with pytest.raises(WatchError, match=message):
        watch.create_profile(db, spec)
    assert watch.list_profiles(db) == []


def test_update_renames_and_replaces(db: Database) -> None:
    watch.create_profile(db, ProfileSpec("old", min_attackers=5))
    watch.update_profile(db, "old", ProfileSpec("new", solar_system_ids=(JITA,)))
    [stored] = watch.list_profiles(db)
    assert stored.name == "new"
    assert stored.min_attackers is None
    assert stored.solar_system_ids == [JITA]
    with pytest.raises(WatchError, match="not found"):
        watch.update_profile(db, "old", ProfileSpec("x", min_attackers=1))


def test_place_names_become_ids(world: Database) -> None:
    """Names in any case and with stray spaces turn into ids in one query.

    The ids given stay first, and a system named twice is stored once."""
    spec = ProfileSpec(
        "trade hubs",
        solar_system_ids=(AMAMAKE,),
        system_names=(" jita", "PERIMETER", "Jita"),
        region_names=("the forge",),
    )
    with count_statements(world.telemetry) as counted:
        resolved = watch.resolve_places(world, spec)
    assert counted == [1]
    assert resolved.solar_system_ids == (AMAMAKE, JITA, PERIMETER)
    assert resolved.region_ids == (THE_FORGE,)
    assert resolved.system_names == ()
    assert resolved.region_names == ()

    watch.create_profile(world, spec)
    stored = watch.get_profile(world, "trade hubs")
    assert stored.solar_system_ids == [AMAMAKE, JITA, PERIMETER]
    assert stored.region_ids == [THE_FORGE]
    # The conditions showed the ids; a system missing from the static data
    # still shows its id.
    assert stored.describe() == ("systems Amamake,Jita,Perimeter; regions The Forge")
    unknown = ProfileSpec("far", solar_system_ids=(31000005, JITA))
    watch.create_profile(world, unknown)
    assert watch.get_profile(world, "far").describe() == "systems 31000005,Jita"


def test_unknown_place_name_rejected(world: Database) -> None:
    spec = ProfileSpec("typo", system_names=("Jita", "Jitaa"))
    with pytest.raises(WatchError) as error:
        watch.create_profile(world, spec)
    assert error.value.message == (
        "watch profile 'typo': no solar system named 'Jitaa' is stored"
    )
    assert "evedmv sde import" in (error.value.hint or "")
    region = ProfileSpec("typo", region_names=("Heimatar", "Forge"))
    with pytest.raises(WatchError) as error:
        watch.update_profile(world, "typo", region)
    assert "no region named 'Forge' is stored" in error.value.message
    # Every unknown name is listed, not only the first.
    both = ProfileSpec("typo", system_names=("Nowhere",), region_names=("Forge",))
    assert [p.message for p in watch.unknown_places(world, both)] == [
        "no solar system named 'Nowhere' is stored",
        "no region named 'Forge' is stored",
    ]
    with pytest.raises(WatchError) as error:
        watch.create_profile(world, both)
    assert error.value.message == (
        "watch profile 'typo': no solar system named 'Nowhere' is stored;"
        " no region named 'Forge' is stored"
    )
    assert watch.list_profiles(world) == []


def test_bulk_operations_are_one_statement(db: Database) -> None:
    for name in ("a", "b", "c", "d"):
        watch.create_profile(db, ProfileSpec(name, min_attackers=2))
    with count_statements(db.telemetry) as disabled:
        assert watch.set_enabled(db, ["a", "b", "c"], False) == ["a", "b", "c"]
    assert disabled[0] == 1
    enabled = {p.name: p.enabled for p in watch.list_profiles(db)}
    assert enabled == {"a": False, "b": False, "c": False, "d": True}
    with count_statements(db.telemetry) as deleted:
        assert watch.delete_profiles(db, ["a", "d"]) == ["a", "d"]
    assert deleted[0] == 1
    assert [p.name for p in watch.list_profiles(db)] == ["b", "c"]


def test_bulk_operation_reports_missing_names(db: Database) -> None:
    watch.create_profile(db, ProfileSpec("a", min_attackers=2))
    with pytest.raises(WatchError, match="'zzz'"):
        watch.set_enabled(db, ["a", "zzz"], False)
    assert watch.list_profiles(db)[0].enabled is False


def test_batch_matching_conditions(world: Database) -> None:
    db = world
    # 1: Rifter killed in Jita by one pilot of corporation 98000002.
    _killmail(db, 1)
    # 2: Drake lost in Amamake by alliance 99000009, worth 200M, 3 attackers.
    _killmail(
        db,
        2,
        system=AMAMAKE,
        victim=(90000005, 98000005, 99000009),
        ship=DRAKE,
        value=200e6,
        attackers=[(90000006, 98000006, None, RIFTER)] * 3,
    )
    # 3: an Avatar on the attacker side, in Perimeter, no value known.
    _killmail(
        db,
        3,
        system=PERIMETER,
        value=None,
        attackers=[(90000007, 98000007, None, AVATAR), (None, 1000125, None, None)],
    )
    profiles = [
        ProfileSpec("by attacker corp", corporation_ids=(98000002,)),
        ProfileSpec("by victim alliance", alliance_ids=(99000009,)),
        ProfileSpec("forge", region_ids=(THE_FORGE,)),
        ProfileSpec(
            "amamake or forge", solar_system_ids=(AMAMAKE,), region_ids=(THE_FORGE,)
        ),
        ProfileSpec("titans anywhere", ship_classes=("supercapital",)),
        ProfileSpec("drakes", ship_type_ids=(DRAKE,)),
        ProfileSpec("expensive", min_value=100e6),
        ProfileSpec("gangs", min_attackers=2, max_attackers=3),
        ProfileSpec(
            "forge frigates", region_ids=(THE_FORGE,), ship_classes=("frigate",)
        ),
        ProfileSpec("npc corp", corporation_ids=(1000125,)),
    ]
    for spec in profiles:
        watch.create_profile(db, spec)
    watch.create_profile(db, ProfileSpec("disabled", enabled=False, min_attackers=1))

    with count_statements(db.telemetry) as statements:
        matches = watch.match_batch(db, _batch(1, 2, 3))
    assert statements[0] == 1
    assert _matched(matches) == {
        ("by attacker corp", 1),
        ("by victim alliance", 2),
        ("forge", 1),
        ("forge", 3),
        ("amamake or forge", 1),
        ("amamake or forge", 2),
        ("amamake or forge", 3),
        ("titans anywhere", 3),
        ("drakes", 2),
        ("expensive", 2),
        ("gangs", 2),
        ("gangs", 3),
        ("forge frigates", 1),
        ("forge frigates", 3),
        ("npc corp", 3),
    }


def test_batch_matches_recorded_once(world: Database) -> None:
    db = world
    _killmail(db, 1)
    watch.create_profile(db, ProfileSpec("jita", solar_system_ids=(JITA,)))
    first = watch.match_batch(db, _batch(1))
    again = watch.match_batch(db, _batch(1))
    assert [m.killmail_id for m in first] == [1]
    assert again == []
    [stored] = watch.list_matches(db)
    assert stored.match_id == first[0].match_id
    assert watch.list_matches(db, after=stored.match_id) == []
    assert watch.list_profiles(db)[0].matches == 1


def test_matches_of_a_batch_follow_killmail_time(world: Database) -> None:
    db = world
    # Killmail times are T0 plus the id modulo 1000 in minutes: stored in
    # this order, neither the ids nor the rows' order follow time.
    ids = [(n * 7919) % 1000 + 1000 * (n % 3) for n in range(1, 60)]
    for killmail_id in ids:
        _killmail(db, killmail_id)
    db.execute("ANALYZE killmails")
    watch.create_profile(db, ProfileSpec("jita", solar_system_ids=(JITA,)))
    by_time = sorted(ids, key=lambda i: (i % 1000, i))
    recorded = watch.match_batch(db, _batch(*ids))
    assert [m.killmail_id for m in recorded] == by_time
    newest_first = watch.list_matches(db)
    assert [m.killmail_id for m in newest_first] == by_time[::-1]


def test_match_stored_records_past_kills_of_one_profile(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new profile matched only killmails imported after it was created."""
    db = world
    # Times are T0 plus the id modulo 1000 in minutes.
    for killmail_id in (5, 1, 30, 12, 2):
        _killmail(db, killmail_id)
    _killmail(db, 7, system=AMAMAKE)
    watch.create_profile(db, ProfileSpec("other", solar_system_ids=(JITA,)))
    watch.create_profile(db, ProfileSpec("jita", solar_system_ids=(JITA,)))
    _killmail(db, 999)
    watch.match_batch(db, _batch(999))
    monkeypatch.setattr(watch, "STORED_MATCH_CHUNK", 2)

    since = T0 + dt.timedelta(minutes=2)
    with count_statements(db.telemetry) as counted:
        assert watch.match_stored(db, "jita", since) == 4
    # The profile lookup, then chunks of 2 over the 6 killmails since then:
    # 3 reads and 3 matches, and an empty read that ends it.
    assert counted == [8]

    matches = watch.list_matches(db)
    assert {(m.profile_name, m.killmail_id) for m in matches} == {
        ("other", 999),
        ("jita", 999),
        ("jita", 2),
        ("jita", 5),
        ("jita", 12),
        ("jita", 30),
    }
    assert watch.match_stored(db, "jita", since) == 0
    # The newest kill was recorded before the backfilled ones: first by kill
    # time, last by recording.
    jita = watch.get_profile(db, "jita").profile_id
    by_time = watch.list_matches(db, profile_id=jita, by_kill_time=True)
    assert [m.killmail_id for m in by_time] == [999, 30, 12, 5, 2]
    by_record = watch.list_matches(db, profile_id=jita)
    assert by_record[-1].killmail_id == 999
    watch.set_enabled(db, ["jita"], False)
    with pytest.raises(WatchError, match="disabled"):
        watch.match_stored(db, "jita", since)
    with pytest.raises(WatchError, match="not found"):
        watch.match_stored(db, "nobody", since)


def test_stored_span_and_matches_since(world: Database) -> None:
    """The two figures a backfill that found nothing explains itself with."""
    db = world
    assert watch.stored_span(db) is None
    for killmail_id in (30, 5, 12):
        _killmail(db, killmail_id)
    assert watch.stored_span(db) == (
        T0 + dt.timedelta(minutes=5),
        T0 + dt.timedelta(minutes=30),
    )
    watch.create_profile(db, ProfileSpec("jita", solar_system_ids=(JITA,)))
    jita = watch.get_profile(db, "jita").profile_id
    assert watch.match_stored(db, "jita", T0) == 3
    assert watch.count_matches_since(db, jita, T0) == 3
    assert watch.count_matches_since(db, jita, T0 + dt.timedelta(minutes=12)) == 2
    assert watch.count_matches_since(db, jita, T0 + dt.timedelta(minutes=31)) == 0


def _killmail_partitions_planned(
    db: Database, query: NamedSql, params: dict[str, Any]
) -> set[str]:
    """Return the partitions of ``killmails`` in the plan of ``query``."""
    [(plan,)] = db.fetch_all("EXPLAIN (FORMAT JSON) " + query.text, params)
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        name = node.get("Relation Name", "")
        if name.startswith("killmails_"):
            found.add(name)
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def test_list_matches_plans_recent_partitions(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing matches used to join killmails with no time bound, so every
    poll planned each monthly partition, which is slow with years of data."""
    months = [
        dt.datetime(2020 + n // 12, n % 12 + 1, 1, tzinfo=dt.UTC) for n in range(84)
    ]
    PartitionManager(db).ensure(months)
    october = dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)
    november = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    for killmail_id, when, value in ((1, october, 5e6), (2, november, 7e6)):
        db.execute(
            "INSERT INTO killmails (killmail_id, killmail_time, solar_system_id,"
            " victim_ship_type_id, victim_damage_taken, attacker_count,"
            " total_value, esi_body, source)"
            " VALUES (%s, %s, %s, %s, 100, 1, %s, '{}', 'test')",
            (killmail_id, when, JITA, RIFTER, value),
        )
    watch.create_profile(db, ProfileSpec("valuable", min_value=1e6))
    batch = BatchResult(
        inserted_ids=(1, 2),
        updated_ids=(),
        min_time=october,
        max_time=november,
        solar_system_ids=(),
    )
    recorded = watch.match_batch(db, batch)
    statements: list[tuple[NamedSql, dict[str, Any]]] = []
    fetch_all = db.fetch_all

    def recording(query: NamedSql, params: dict[str, Any], **kwargs: Any) -> Any:
        statements.append((query, params))
        return fetch_all(query, params, **kwargs)

    monkeypatch.setattr(db, "fetch_all", recording)
    listed = watch.list_matches(db)
    polled = watch.list_matches(db, after=recorded[0].match_id)
    monkeypatch.undo()

    assert [m.killmail_id for m in listed] == [2, 1]
    assert listed == recorded[::-1]
    assert [(m.killmail_time, m.solar_system_id) for m in listed] == [
        (november, JITA),
        (october, JITA),
    ]
    assert [(m.victim_ship_type_id, m.total_value) for m in listed] == [
        (RIFTER, 7e6),
        (RIFTER, 5e6),
    ]
    assert polled == listed[:1]
    assert statements
    for query, params in statements:
        planned = _killmail_partitions_planned(db, query, params)
        assert planned <= {"killmails_2026_10", "killmails_2026_11"}, query.name


def test_on_batch_notifies_listeners(world: Database) -> None:
    db = world
    _killmail(db, 1)
    watch.create_profile(db, ProfileSpec("jita", solar_system_ids=(JITA,)))
    received: list[list[int]] = []

    def listener(matches: Sequence[WatchMatch]) -> None:
        received.append([m.killmail_id for m in matches])

    def broken(matches: Sequence[WatchMatch]) -> None:
        raise RuntimeError("listener bug")

    watch.add_listener(broken)
    watch.add_listener(listener)
    try:
        watch.on_batch(db, _batch(1))
        watch.on_batch(db, _batch(1))
    finally:
        watch.remove_listener(broken)
        watch.remove_listener(listener)
    assert received == [[1]]


def test_deleting_profile_deletes_matches(world: Database) -> None:
    db = world
    _killmail(db, 1)
    watch.create_profile(db, ProfileSpec("jita", solar_system_ids=(JITA,)))
    watch.match_batch(db, _batch(1))
    watch.delete_profiles(db, ["jita"])
    assert watch.list_matches(db) == []


def test_watch_hook_is_a_default_hook() -> None:
    from evedmv_tui.ingest.hooks import default_hooks

    assert watch.on_batch in default_hooks()


def test_form_min_value_examples_agree() -> None:
    """The Min value placeholder shows the amounts its error message names."""
    from evedmv_tui.screens.watch import FORM_FIELDS, form_values, parse_form

    placeholders = {field: placeholder for field, _, placeholder in FORM_FIELDS}
    assert placeholders["min_value"] == "ISK, such as 2.5b or 750m"
    values = form_values(None)
    values["name"] = "big kills"
    values["min_value"] = "lots"
    with pytest.raises(WatchError) as error:
        parse_form(values)
    assert "give an ISK amount such as 2.5b or 750m" in error.value.message
    values["min_value"] = "2.5b"
    assert parse_form(values).min_value == 2.5e9
    values["min_value"] = "750m"
    assert parse_form(values).min_value == 7.5e8


def test_form_round_trips_and_explains_errors() -> None:
    """The profile form reads back what it shows, and names what a field needs."""
    from evedmv_tui.screens.watch import form_values, parse_form

    spec = ProfileSpec("big kills", solar_system_ids=(30000142,), min_value=2.5e9)
    values = form_values(spec)
    assert values["min_value"] == "2.5b"
    assert parse_form(values) == spec
    values["solar_system_ids"] = "Jita, 30000144"
    named = parse_form(values)
    assert named.solar_system_ids == (30000144,)
    assert named.system_names == ("Jita",)
    assert form_values(named)["solar_system_ids"] == "30000144,Jita"
    values["character_ids"] = "Jita"
    with pytest.raises(WatchError) as error:
        parse_form(values)
    assert "Characters: 'Jita' is not valid" in error.value.message
    assert "close the form with escape and press / to search" in error.value.message


def test_form_rejects_value_above_max_isk() -> None:
    """A minimum value above any killmail's value was stored, and shown as a
    31-digit number."""
    from evedmv_tui.screens.watch import form_values, parse_form

    values = form_values(ProfileSpec("vast", solar_system_ids=(30000142,)))
    values["min_value"] = "1e30"
    with pytest.raises(WatchError) as error:
        parse_form(values)
    assert "minimum value 1e+30 ISK is more than 1e+15 ISK" in error.value.message
    assert "from 0 to 1e+15" in (error.value.hint or "")


def test_form_rejects_commas_without_ids() -> None:
    """A field of commas alone is an error, not an empty condition, so the
    profile does not quietly match more killmails than intended."""
    from evedmv_tui.screens.watch import form_values, parse_form

    values = form_values(ProfileSpec("big kills", min_value=2.5e9))
    values["solar_system_ids"] = ", ,"
    with pytest.raises(WatchError) as error:
        parse_form(values)
    assert "Systems: ', ,' is not valid" in error.value.message
    assert "give systems by name or id, separated by commas" in error.value.message
    values["solar_system_ids"] = ""
    assert parse_form(values).solar_system_ids == ()
    values["ship_classes"] = ","
    with pytest.raises(WatchError) as error:
        parse_form(values)
    assert "give ship classes separated by commas" in error.value.message

"""Sides of pilots with little or no damage of their own, and of NPC-heavy kills."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evedmv_tui.battles.cluster import engagements
from evedmv_tui.battles.detect import detect_all
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.report import BattleFilter, list_battles, load_report
from evedmv_tui.battles.sides import EntitySide, _evidence, assign_sides
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.sde import import_sde
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry
from tests.conftest import SHARED_DATA, _create_database, _drop_database, shared_file
from tests.test_battle_fixtures import Pilot, fleet, kill

PARAMS = BattleParameters()
FLEET_ALLIANCE = 99_400_001
ENEMY_ALLIANCE = 99_400_002
TACKLE_ALLIANCE = 99_400_003
NPC = Pilot(None, None)


def unit_row(sides_rows: tuple[EntitySide, ...], entity_id: int) -> EntitySide:
    return next(
        row
        for row in sides_rows
        if row.entity_id == entity_id and row.parent_id is None
    )


def skirmish(tackler_kill_size: int) -> list[Kill]:
    """Return a two-fleet fight and a tackler of another alliance in it.

    The tackler flies on one kill, with ``tackler_kill_size`` pilots of the
    fleet that deal the damage, and does no damage itself.
    """
    # One corporation per pilot, so a kill has as many attacker units.
    ours = [
        fleet(1, 98_400_100 + number, FLEET_ALLIANCE)[0]
        for number in range(max(tackler_kill_size, 3))
    ]
    theirs = fleet(6, 98_400_002, ENEMY_ALLIANCE)
    tackler = fleet(1, 98_400_003, TACKLE_ALLIANCE)[0]
    kills = [
        kill(0, theirs[0], [ours[0], ours[1]]),
        kill(1, theirs[1], [ours[1], ours[2]]),
        kill(2, ours[0], [theirs[2], theirs[3]]),
        kill(3, ours[1], [theirs[3], theirs[4]]),
        kill(4, theirs[5], [*ours[:tackler_kill_size], (tackler, 0)]),
    ]
    return kills


@pytest.mark.parametrize("fleet_size", [2, 20])
def test_zero_damage_tackler_joins_its_fleet(fleet_size: int) -> None:
    """A tackler that did no damage flies with the fleet it tackled for.

    Its damage share of 0 gave it no fellowship, so it started a side of its
    own reading ``no player contact`` and counted as a third side.
    """
    kills = skirmish(fleet_size)

    sides = assign_sides(kills, PARAMS)

    fleet_side = sides.unit_sides[FLEET_ALLIANCE]
    row = unit_row(sides.entities, TACKLE_ALLIANCE)
    assert row.side_no == fleet_side
    assert sides.unit_sides[ENEMY_ALLIANCE] != fleet_side
    assert row.reason.startswith(f"flew with side {fleet_side} (")
    assert row.reason.endswith("; no hostile contact")
    assert row.weight_for > 0
    assert row.weight_against == 0
    assert row.confidence == 1.0
    assert sides.side_count == 2
    assert len(set(sides.unit_sides.values())) == 2


def test_tackler_fellowship_has_negligible_share() -> None:
    """A tackler's fellowship is what a pilot at the negligible share earns."""
    kills = skirmish(2)

    row = unit_row(assign_sides(kills, PARAMS).entities, TACKLE_ALLIANCE)

    # Two pilots dealt 100 each, so the negligible share is 5 % of 100 out of
    # a total of 200: 2.5 % of the 10m kill.
    assert row.weight_for == pytest.approx(10_000_000 * 0.05 * 100 / 200)


def test_pilots_under_npc_damage_are_significant() -> None:
    """Pilots count against the top player, not an NPC that did most damage.

    A sentry gun that did 50,000 damage made the 1,000 of each pilot
    negligible, so the pilots who killed the ship had no contact at all.
    """
    ours = fleet(2, 98_400_001, FLEET_ALLIANCE)
    theirs = fleet(2, 98_400_002, ENEMY_ALLIANCE)
    kills = [
        kill(0, theirs[0], [(ours[0], 1_000), (NPC, 50_000), (ours[1], 900)]),
        kill(1, ours[0], [(theirs[1], 1_000)]),
    ]

    sides = assign_sides(kills, PARAMS)

    assert kills[0].significant_attackers(PARAMS.negligible_damage_share) == [0, 2]
    row = unit_row(sides.entities, FLEET_ALLIANCE)
    assert row.reason.startswith("fought side")
    assert sides.unit_sides[FLEET_ALLIANCE] != sides.unit_sides[ENEMY_ALLIANCE]
    assert sides.side_count == 2


def test_npc_heavy_kills_link_engagements() -> None:
    """Kills mostly done by a sentry gun still link the pilots' groups.

    Two such kills of one group's pilots by another make them one
    engagement, with the kill back in it. The pilots counted as negligible
    beside the gun, so the kills linked no groups and the fight came apart.
    """
    ours = fleet(2, 98_400_001, FLEET_ALLIANCE)
    theirs = fleet(2, 98_400_002, ENEMY_ALLIANCE)
    kills = [
        kill(0, theirs[0], [(ours[0], 1_000), (NPC, 50_000)]),
        kill(1, theirs[1], [(ours[1], 1_000), (NPC, 50_000)]),
        kill(2, ours[0], [theirs[1]]),
    ]

    found = engagements(kills, PARAMS)

    assert len(found) == 1
    assert [k.killmail_id for k in found[0]] == [k.killmail_id for k in kills]


def test_pilot_without_contact_is_not_counted() -> None:
    """A pilot killed by NPCs alone keeps its own side but adds no side."""
    ours = fleet(2, 98_400_001, FLEET_ALLIANCE)
    theirs = fleet(2, 98_400_002, ENEMY_ALLIANCE)
    bystander = fleet(1, 98_400_004, None)[0]
    kills = [
        kill(0, theirs[0], [ours[0], ours[1]]),
        kill(1, ours[0], [theirs[1]]),
        kill(2, bystander, [NPC]),
    ]

    sides = assign_sides(kills, PARAMS)

    row = unit_row(sides.entities, 98_400_004)
    assert row.reason == "no player contact"
    assert row.confidence == 0.0
    assert row.side_no not in (
        sides.unit_sides[FLEET_ALLIANCE],
        sides.unit_sides[ENEMY_ALLIANCE],
    )
    assert len(set(sides.unit_sides.values())) == 3
    assert sides.side_count == 2


def test_silent_corporation_stays_with_alliance() -> None:
    """A corporation without contact of its own is with its alliance, at 100 %."""
    ours = fleet(2, 98_400_001, FLEET_ALLIANCE)
    quiet = fleet(1, 98_400_005, FLEET_ALLIANCE)[0]
    theirs = fleet(2, 98_400_002, ENEMY_ALLIANCE)
    kills = [
        kill(0, theirs[0], [ours[0], ours[1], (quiet, 0)]),
        kill(1, ours[0], [theirs[1]]),
    ]

    sides = assign_sides(kills, PARAMS)

    row = next(r for r in sides.entities if r.entity_id == 98_400_005)
    assert row.parent_id == FLEET_ALLIANCE
    assert row.reason == "no player contact of its own, so it stays with its alliance"
    assert row.confidence == 1.0


def test_reason_of_fellowship_under_one_isk() -> None:
    """Fellowship through unvalued kills alone still names the side."""
    _, _, reason = _evidence({}, {2: 0.2}, 2)

    assert reason == "flew with side 2 (under 1 ISK); no hostile contact"


@pytest.fixture(scope="module")
def jorund_day(pg_cluster: PrivateCluster) -> Iterator[Database]:
    """A database of the SDE and the 2021-11-28 archive, clustered once."""
    archive = shared_file("killmails/everef/killmails-2021-11-28.tar.bz2")
    name = _create_database(pg_cluster)
    database = Database(pg_cluster.url(name), telemetry=Telemetry())
    try:
        import_sde(database, SHARED_DATA / "sde")
        import_paths(database, [str(archive)], offline=True)
        detect_all(database)
        yield database
    finally:
        database.close()
        _drop_database(pg_cluster, name)


@pytest.mark.slow
def test_jorund_tackler_flies_with_its_fleet(jorund_day: Database) -> None:
    """A pilot with 0 damage on a 603-attacker kill joins the killers' side.

    Character 97264593 of alliance 99004901 tackled on killmail 96994812
    and is in no other kill of the battle. It was a third side reading
    ``no player contact``.
    """
    battle = max(
        list_battles(jorund_day, BattleFilter(system="Jorund")), key=lambda b: b.kills
    )
    report = load_report(jorund_day, battle.battle_id)
    sides_by_alliance = {
        e.entity_id: e.side_no for e in report.entities if e.entity_kind == "alliance"
    }
    tackler = next(e for e in report.entities if e.entity_id == 99_004_901)
    # The top damage dealer's alliance and the victim's (a Fortizar).
    killers, victim = 1_411_711_376, 1_900_696_668

    assert "Hemin" in battle.system_names
    assert tackler.side_no == sides_by_alliance[killers]
    assert tackler.side_no != sides_by_alliance[victim]
    assert tackler.reason.startswith(f"flew with side {tackler.side_no} (")
    assert tackler.reason.endswith("no hostile contact")


@pytest.mark.slow
def test_real_day_has_no_contactless_units(jorund_day: Database) -> None:
    """No unit in a real day's battles is without player contact.

    Tacklers and pilots under an NPC's damage made such sides in about a
    quarter of the battles.
    """
    rows = jorund_day.fetch_all(
        "SELECT battle_id, entity_id FROM battle_entities"
        " WHERE parent_id IS NULL AND reason = 'no player contact'"
    )
    # Sides of victims only are not counted (see test_battles_victim_sides).
    counted = jorund_day.fetch_all(
        "SELECT b.battle_id FROM battles b WHERE b.side_count <>"
        " (SELECT count(*) FROM jsonb_array_elements(b.metrics -> 'sides') s"
        "  WHERE NOT (s ->> 'victims_only')::boolean)"
    )
    battles = jorund_day.fetch_all("SELECT count(*) FROM battles")

    assert battles[0][0] > 50
    assert rows == []
    assert counted == []

"""Side assignment and metrics on battles whose figures are worked out by hand."""

from __future__ import annotations

import pytest

from evedmv_tui.battles.metrics import ShipType, build_metrics
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.sides import (
    EntitySide,
    Override,
    SideAssignment,
    _evidence,
    assign_sides,
    format_isk,
)
from tests.test_battle_fixtures import CAPSULE, RAVEN, RIFTER, Pilot, fleet, kill

PARAMS = BattleParameters()
VALUE = 10_000_000.0
ASTRAHUS = 35832
SHIP_TYPES = {
    RIFTER: ShipType(25, "frigate", frozenset()),
    RAVEN: ShipType(27, "battleship", frozenset({"dps"})),
}


def entity(rows: tuple[EntitySide, ...], entity_id: int) -> EntitySide:
    return next(row for row in rows if row.entity_id == entity_id)


def test_corporation_leaving_alliance_keeps_fellowship() -> None:
    """A corporation that leaves its alliance mid-battle keeps its evidence.

    Its pilots fly with the alliance's other corporation on all 20 kills,
    inside the alliance for the first 10. Fellowship from those first kills
    is fellowship between two units once the corporation has left, so it
    must count even though both were one unit when those kills were read.
    """
    alliance, stayer, leaver = 99_300_001, 98_300_001, 98_300_002
    stayers = fleet(2, stayer, alliance)
    leavers = fleet(2, leaver, alliance)
    victims = fleet(10, 98_300_003, 99_300_002)
    kills = []
    for number in range(20):
        pilot = leavers[number % 2]
        if number >= 10:
            pilot = Pilot(pilot.character_id, leaver, None)
        kills.append(kill(number * 0.5, victims[number % 10], [stayers[0], pilot]))

    sides = assign_sides(kills, PARAMS)

    row = entity(sides.entities, leaver)
    assert row.entity_kind == "corporation"
    assert row.parent_id is None
    assert row.side_no == sides.unit_sides[alliance]
    # Each kill adds half of 10m as fellowship with the stayers, and as much
    # hostility to the victims' side.
    assert row.weight_for == pytest.approx(20 * 0.5 * VALUE * 2)
    assert f"flew with side {row.side_no} (100.0m)" in row.reason
    assert sides.side_count == 2


def test_returning_pilot_names_last_corporation() -> None:
    """A pilot seen in two corporations is listed under the one of his last kill.

    He flies for his home corporation, then for another, then for his home
    corporation again, so the corporation seen last is the one seen first.
    """
    side_a = fleet(3, 98_310_001, 99_310_001)
    side_b = fleet(3, 98_310_002, 99_310_002)
    home, visited = 98_310_003, 98_310_004
    character_id = 91_310_001
    kills = []
    for number in range(10):
        corporation = visited if 3 <= number < 6 else home
        pilot = Pilot(character_id, corporation, None)
        kills.append(kill(number * 0.5, side_b[number % 3], [side_a[0], pilot]))
        kills.append(kill(number * 0.5 + 0.1, side_a[number % 3], side_b))

    sides = assign_sides(
        kills, PARAMS, [Override("character", character_id, None, None, 1)]
    )

    row = entity(sides.entities, character_id)
    assert row.entity_kind == "character"
    assert row.parent_id == home
    assert row.overridden
    assert sides.character_sides[character_id] == row.side_no
    assert sides.side_count == 3


def reship_battle() -> tuple[list[Kill], list[Pilot], list[Pilot], Pilot]:
    """Return kills where one pilot reships, one shoots his own side and rats help.

    Side A (two pilots) kills three pilots of side B, and the first A pilot
    flies a Rifter, then a Raven. B kills one A pilot, with an NPC on the
    killmail. One B pilot also shoots a B victim.
    """
    side_a = fleet(2, 98_320_001, 99_320_001)
    side_b = fleet(3, 98_320_002, 99_320_002)
    raven = Pilot(side_a[0].character_id, 98_320_001, 99_320_001, RAVEN)
    rat = Pilot(3_000_123, 1_000_125, None)
    kills = [
        kill(0.0, side_b[0], [(side_a[0], 300), (side_a[1], 100)]),
        kill(0.5, side_b[1], [(raven, 200), (side_a[1], 200)]),
        kill(1.0, side_a[1], [(side_b[2], 500), (rat, 500)], value=20_000_000.0),
        kill(1.5, side_b[0], [(raven, 600), (side_b[2], 200)], ship_type_id=RAVEN),
    ]
    return kills, side_a, side_b, raven


def test_metrics_count_reships_once_per_pilot() -> None:
    kills, *_ = reship_battle()
    sides = assign_sides(kills, PARAMS)
    metrics = build_metrics(kills, sides, SHIP_TYPES, PARAMS)

    rows = {row["side"]: row for row in metrics["sides"]}
    a_row = rows[sides.unit_sides[99_320_001]]
    b_row = rows[sides.unit_sides[99_320_002]]
    assert metrics["pilots"] == 5
    assert a_row["pilots"] == 2
    # The first A pilot's Rifter and Raven, and the second pilot's Rifter.
    assert a_row["ships_fielded"] == 3
    assert a_row["ships_fielded_by_class"] == {"battleship": 1, "frigate": 2}
    assert a_row["roles_present"] == {"dps": 1}
    assert b_row["pilots"] == 3
    # Two Rifters lost, and a Raven: a pilot's hull is counted once.
    assert b_row["ships_fielded"] == 4
    assert b_row["ships_lost_by_class"] == {"battleship": 1, "frigate": 2}
    assert b_row["roles_lost"] == {"dps": 1}


def test_metrics_split_damage_and_isk_by_side() -> None:
    kills, side_a, side_b, raven = reship_battle()
    sides = assign_sides(kills, PARAMS)
    metrics = build_metrics(kills, sides, SHIP_TYPES, PARAMS)

    rows = {row["side"]: row for row in metrics["sides"]}
    a_row = rows[sides.unit_sides[99_320_001]]
    b_row = rows[sides.unit_sides[99_320_002]]
    # Damage on a pilot of one's own side and NPC damage are not dealt.
    assert a_row["damage_dealt"] == 300 + 100 + 200 + 200 + 600
    assert b_row["damage_dealt"] == 500
    assert a_row["top_damage"] == [
        [raven.character_id, 1100],
        [side_a[1].character_id, 300],
    ]
    assert a_row["top_final_blows"] == [[raven.character_id, 3]]
    assert b_row["top_final_blows"] == [[side_b[2].character_id, 1]]
    # The rat's damage does not shift ISK. On the last kill the B shooter did
    # 200 of the 800 player damage, and that quarter goes to no side.
    assert a_row["isk_destroyed"] == pytest.approx(2.75 * VALUE)
    assert b_row["isk_destroyed"] == pytest.approx(20_000_000.0)
    assert a_row["isk_lost"] == pytest.approx(20_000_000.0)
    assert b_row["isk_lost"] == pytest.approx(3 * VALUE)
    assert metrics["timeline"]["kills"] == {
        str(sides.unit_sides[99_320_001]): [0, 1],
        str(sides.unit_sides[99_320_002]): [2, 1],
    }


def test_metrics_leave_victim_side_share_unsplit() -> None:
    """A side got a kill's whole value for a small share of its damage.

    Every other player attacker was on the victim's side (friendly fire, or
    pilots moved there), so the small side was the only side left to credit.
    The victim side's share of the player damage now goes to no side.
    """
    side_1 = fleet(3, 98_330_001, 99_330_001)
    side_2 = fleet(3, 98_330_002, 99_330_002)
    # A corporation of the side 2 alliance, moved to a side of its own.
    third = Pilot(91_330_001, 98_330_003, 99_330_002)
    rat = Pilot(3_000_123, 1_000_125, None)
    kills = [
        kill(
            0.0,
            side_1[0],
            [(side_1[1], 9_000), (third, 300), (side_2[0], 700), (rat, 1_000)],
            value=100_000_000.0,
        ),
        kill(0.5, side_2[0], [(side_2[1], 4_000), (third, 1_000)], value=40e6),
        kill(1.0, side_2[2], [(side_1[2], 100)], value=20_000_000.0),
        # No player damage: the attacking side takes the whole value.
        kill(1.5, side_2[1], [(side_1[2], 0), (side_2[2], 0)], value=5e6),
    ]
    sides = SideAssignment(
        unit_sides={99_330_001: 1, 99_330_002: 2},
        corporation_sides={98_330_003: 3},
        character_sides={},
        entities=(),
        side_count=3,
        confidence=1.0,
    )

    metrics = build_metrics(kills, sides, SHIP_TYPES, PARAMS)

    rows = {row["side"]: row for row in metrics["sides"]}
    # 100m times 700 of 10,000 player damage; the rat's 1,000 is not player
    # damage, and side 1's own 9,000 credits no side.
    assert rows[2]["isk_destroyed"] == pytest.approx(7_000_000.0)
    # 100m times 300 of 10,000, and 40m times 1,000 of 5,000.
    assert rows[3]["isk_destroyed"] == pytest.approx(3e6 + 8e6)
    assert rows[1]["isk_destroyed"] == pytest.approx(20e6 + 5e6)
    assert rows[3]["opponents"] == [1, 2]
    assert rows[3]["isk_destroyed_of_opponents"] == pytest.approx(11e6)
    # Damage dealt still counts damage on other sides only.
    assert rows[1]["damage_dealt"] == 100
    assert rows[3]["damage_dealt"] == 1_300


def test_metrics_field_every_lost_hull() -> None:
    """A side never loses more ships than it fielded.

    One B pilot loses two Rifters and three capsules, and a B structure
    with no pilot dies. Counting distinct (pilot, ship type) pairs fielded
    one capsule, one Rifter and no structure against three, two and one
    lost.
    """
    side_a = fleet(2, 98_330_001, 99_330_001)
    pilot = Pilot(91_330_001, 98_330_002, 99_330_002)
    podded = Pilot(pilot.character_id, 98_330_002, 99_330_002, CAPSULE)
    tower = Pilot(None, 98_330_002, 99_330_002, ASTRAHUS)
    kills = [
        kill(0.0, pilot, side_a),
        kill(0.5, podded, side_a),
        kill(1.0, pilot, side_a),
        kill(1.5, podded, side_a),
        kill(2.0, podded, side_a),
        kill(2.5, tower, side_a),
        kill(3.0, side_a[0], [pilot]),
    ]
    ship_types = {
        **SHIP_TYPES,
        CAPSULE: ShipType(29, "capsule", frozenset()),
        ASTRAHUS: ShipType(1657, "structure", frozenset()),
    }
    sides = assign_sides(kills, PARAMS)
    metrics = build_metrics(kills, sides, ship_types, PARAMS)

    rows = {row["side"]: row for row in metrics["sides"]}
    b_row = rows[sides.unit_sides[99_330_002]]
    a_row = rows[sides.unit_sides[99_330_001]]
    assert b_row["ships_lost_by_class"] == {
        "capsule": 3,
        "frigate": 2,
        "structure": 1,
    }
    assert b_row["ships_fielded_by_class"] == {
        "capsule": 3,
        "frigate": 2,
        "structure": 1,
    }
    assert b_row["ships_fielded"] == 6
    assert b_row["pilots"] == 1
    # Side A lost one Rifter and flew two.
    assert a_row["ships_fielded_by_class"] == {"frigate": 2}


def test_reason_leaves_out_zero_weights() -> None:
    """A weight that shows as 0 ISK adds no part to the reason."""
    hostile = {1: 50_000_000.0, 2: 0.2}
    fellow = {2: 30_000_000.0, 3: 0.0}

    _, _, reason = _evidence(hostile, fellow, 2)

    assert reason == "fought side 1 (50.0m); flew with side 2 (30.0m)"
    assert "(0)" not in reason


def test_reason_of_weights_under_one_isk() -> None:
    """Contact through unvalued kills alone is not called no contact."""
    _, _, reason = _evidence({1: 0.25}, {2: 0.2}, 2)

    assert reason == "only contact worth under 1 ISK"


def test_reason_without_contact() -> None:
    _, _, reason = _evidence({}, {}, 1)

    assert reason == "no player contact"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (950.4, "950"),
        (12_400, "12.4k"),
        (1_250_000_000, "1.2b"),
        (-3_000_000, "-3.0m"),
        # Amounts that round up to the next unit take that unit.
        (999_960, "1.0m"),
        (999.6, "1.0k"),
        # Past the largest unit, and amounts that are no number.
        (2e15, "2.0e+15"),
        (float("inf"), "inf"),
        (float("nan"), "?"),
    ],
)
def test_battle_isk_has_one_decimal(value: float, expected: str) -> None:
    """Battle texts rounded 999,960 ISK to "1000.0k", and printed "inft" for
    an infinite amount and "2000.0t" past the largest unit."""
    assert format_isk(value) == expected

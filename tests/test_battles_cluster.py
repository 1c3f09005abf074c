"""Clustering and side assignment on small hand-made cases with known answers."""

from __future__ import annotations

import random

from evedmv_tui.battles.cluster import (
    Window,
    active_runs,
    candidate_windows,
    engagements,
    merge_pieces,
    neighbourhoods,
    pieces_of_window,
)
from evedmv_tui.battles.metrics import build_metrics
from evedmv_tui.battles.model import Cluster, Kill
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.sides import Override, assign_sides
from tests.test_battle_fixtures import (
    AMARR,
    J_SPACE,
    J_SPACE_2,
    JITA,
    PERIMETER,
    Pilot,
    brawl,
    fleet,
    kill,
)

PARAMS = BattleParameters()
GATES = [(JITA, PERIMETER), (PERIMETER, JITA)]


def cluster_all(kills: list[Kill], params: BattleParameters = PARAMS) -> list[Cluster]:
    """Run the pure clustering steps over kills of any systems."""
    by_system: dict[int, list[Kill]] = {}
    for k in sorted(kills, key=lambda k: (k.killmail_time, k.killmail_id)):
        by_system.setdefault(k.solar_system_id, []).append(k)
    pieces = []
    for system in sorted(by_system):
        pieces.extend(pieces_of_window(by_system[system], params))
    near = neighbourhoods(GATES, {p.solar_system_id for p in pieces}, 3)
    return merge_pieces(pieces, params, near)


def alliance_fleets() -> tuple[list[Pilot], list[Pilot]]:
    side_a = fleet(6, 98_000_001, 99_000_001) + fleet(4, 98_000_002, 99_000_001)
    side_b = fleet(8, 98_000_003, 99_000_002)
    return side_a, side_b


def test_fight_is_one_battle_with_two_sides() -> None:
    side_a, side_b = alliance_fleets()
    kills = brawl(side_a, side_b, kills=30)
    clusters = cluster_all(kills)
    assert len(clusters) == 1
    assert clusters[0].killmail_ids == frozenset(k.killmail_id for k in kills)
    sides = assign_sides(clusters[0].kills, PARAMS)
    assert sides.side_count == 2
    assert sides.unit_sides[99_000_001] != sides.unit_sides[99_000_002]
    # Both corporations of alliance 99000001 stay on the alliance's side.
    corporations = {
        e.entity_id: e.side_no for e in sides.entities if e.entity_kind == "corporation"
    }
    assert corporations[98_000_001] == corporations[98_000_002]
    assert corporations[98_000_001] == sides.unit_sides[99_000_001]


def test_quiet_gap_splits_battles() -> None:
    side_a, side_b = alliance_fleets()
    first = brawl(side_a, side_b, kills=20)
    second = brawl(side_a, side_b, kills=20, start=60 + 9.5)
    clusters = cluster_all(first + second)
    assert len(clusters) == 2
    assert clusters[0].killmail_ids == frozenset(k.killmail_id for k in first)
    assert clusters[1].killmail_ids == frozenset(k.killmail_id for k in second)


def test_short_gap_keeps_one_battle() -> None:
    side_a, side_b = alliance_fleets()
    first = brawl(side_a, side_b, kills=20)
    second = brawl(side_a, side_b, kills=20, start=9.5 + 20)
    assert len(cluster_all(first + second)) == 1


def test_gate_camp_is_no_battle() -> None:
    """A camp kills one unrelated traveller every two minutes for six hours.

    Each victim's group meets the campers once, so no engagement forms and
    the hub's continuous activity never becomes a battle.
    """
    campers = fleet(5, 98_000_010, 99_000_010)
    kills = []
    for number in range(180):
        traveller = Pilot(91_000_000 + number, 98_100_000 + number, None)
        kills.append(kill(number * 2.0, traveller, campers))
    assert cluster_all(kills) == []


def test_busy_hub_of_unrelated_kills_is_no_battle() -> None:
    """Six unrelated duels every five minutes for hours: active, but no battle."""
    kills = []
    for number in range(300):
        victim = Pilot(92_000_000 + number, 98_200_000 + number, None)
        killer = Pilot(93_000_000 + number, 98_300_000 + number, None)
        kills.append(kill(number * 0.8, victim, [killer]))
    assert cluster_all(kills) == []


def test_hub_fight_excludes_unrelated_kills() -> None:
    """A war fight at a hub keeps the hub's unrelated kills out of the battle."""
    side_a, side_b = alliance_fleets()
    fight = brawl(side_a, side_b, kills=40)
    noise = []
    for number in range(30):
        victim = Pilot(94_000_000 + number, 98_400_000 + number, None)
        killer = Pilot(94_500_000 + number, 98_500_000 + number, None)
        noise.append(kill(number * 0.7, victim, [killer]))
    clusters = cluster_all(fight + noise)
    assert len(clusters) == 1
    assert clusters[0].killmail_ids == frozenset(k.killmail_id for k in fight)


def test_low_intensity_fight_is_no_battle() -> None:
    """The same two groups trade a kill every four minutes for hours."""
    side_a, side_b = alliance_fleets()
    kills = brawl(side_a, side_b, kills=90, every=4.0)
    assert cluster_all(kills) == []


def test_massacre_is_one_sided() -> None:
    campers = fleet(10, 98_000_020, 99_000_020)
    victims = fleet(25, 98_000_021, 99_000_021)
    kills = [kill(i * 0.3, v, campers) for i, v in enumerate(victims)]
    clusters = cluster_all(kills)
    assert len(clusters) == 1
    sides = assign_sides(clusters[0].kills, PARAMS)
    metrics = build_metrics(clusters[0].kills, sides, {}, PARAMS)
    assert metrics["kind"] == "one-sided"
    assert sides.side_count == 2


def test_unrelated_victims_of_a_massacre_share_a_side() -> None:
    """Victims of many groups hostile only to the killers are one side, not many."""
    campers = fleet(10, 98_000_030, 99_000_030)
    victims = [Pilot(96_000_000 + i, 98_600_000 + i % 4, None) for i in range(24)]
    kills = [kill(i * 0.3, v, campers) for i, v in enumerate(victims)]
    clusters = cluster_all(kills)
    assert len(clusters) == 1
    sides = assign_sides(clusters[0].kills, PARAMS)
    assert sides.side_count == 2
    victim_sides = {sides.unit_sides[98_600_000 + i] for i in range(4)}
    assert victim_sides == {2}
    assert sides.unit_sides[99_000_030] == 1


def test_third_party_stays_apart() -> None:
    """C shoots and is shot by both A and B: three sides, not C folded in."""
    side_a, side_b = alliance_fleets()
    side_c = fleet(4, 98_000_040, 99_000_040)
    kills = brawl(side_a, side_b, kills=40)
    for number in range(8):
        kills.append(kill(number + 0.25, side_a[number], side_c))
        kills.append(kill(number + 0.35, side_b[number], side_c))
        kills.append(kill(number + 0.45, side_c[number % 4], side_a))
        kills.append(kill(number + 0.55, side_c[number % 4], side_b))
    clusters = cluster_all(kills)
    assert len(clusters) == 1
    sides = assign_sides(clusters[0].kills, PARAMS)
    assert sides.side_count == 3
    assert len(set(sides.unit_sides.values())) == 3
    metrics = build_metrics(clusters[0].kills, sides, {}, PARAMS)
    assert metrics["kind"] == "brawl"
    third = sides.unit_sides[99_000_040]
    rows = {row["side"]: row for row in metrics["sides"]}
    assert rows[third]["third_party"] is True
    # A's efficiency counts only B, its principal opponent.
    a_row = rows[sides.unit_sides[99_000_001]]
    b_side = sides.unit_sides[99_000_002]
    assert a_row["opponents"] == [b_side]
    assert a_row["isk_destroyed_of_opponents"] < a_row["isk_destroyed"]


def test_third_party_opponents_are_fought_sides() -> None:
    """C, moved to a side of its own, killed only D's ships. Counted against
    the principal sides A and B, C had no efficiency at all."""
    side_a, side_b = alliance_fleets()
    side_c = fleet(4, 98_000_060, 99_000_060)
    side_d = fleet(4, 98_000_070, 99_000_070)
    kills = brawl(side_a, side_b, kills=40)
    for number in range(8):
        kills.append(kill(number + 0.25, side_a[number], side_d))
        kills.append(kill(number + 0.35, side_b[number], side_d))
        kills.append(kill(number + 0.45, side_d[number % 4], side_a))
        kills.append(kill(number + 0.55, side_d[number % 4], side_b))
    for number in range(4):
        kills.append(kill(number + 0.65, side_d[number], side_c))
    [cluster] = cluster_all(kills)
    own_side = Override("alliance", 99_000_060, None, None, 1)
    sides = assign_sides(cluster.kills, PARAMS, [own_side])
    metrics = build_metrics(cluster.kills, sides, {}, PARAMS)
    rows = {row["side"]: row for row in metrics["sides"]}
    a_side, b_side, c_side, d_side = (
        sides.unit_sides[alliance]
        for alliance in (99_000_001, 99_000_002, 99_000_060, 99_000_070)
    )
    assert rows[c_side]["third_party"]
    assert rows[c_side]["opponents"] == [d_side]
    assert rows[c_side]["efficiency"] == 1.0
    assert rows[d_side]["opponents"] == sorted([a_side, b_side, c_side])
    # The principal sides still count only each other.
    assert rows[a_side]["opponents"] == [b_side]


def test_negligible_attacker_is_not_hostile() -> None:
    """An alliance that did 1 % of the damage on B's losses stays with A."""
    side_a, side_b = alliance_fleets()
    helper = Pilot(97_000_001, 98_000_050, 99_000_050)
    kills = brawl(side_a, side_b, kills=30)
    for number in range(10):
        victim = side_b[number % len(side_b)]
        shooters = [(p, 1000) for p in side_a[:3]] + [(helper, 30)]
        kills.append(kill(number + 0.1, victim, shooters))
    sides = assign_sides(cluster_all(kills)[0].kills, PARAMS)
    assert sides.unit_sides[99_000_050] == sides.unit_sides[99_000_001]
    assert sides.side_count == 2


def test_npc_kills_are_ignored() -> None:
    """Rats kill pilots all day (no player attacker): no battle."""
    rat = Pilot(None, 1_000_125, None)
    victims = fleet(40, 98_000_060, 99_000_060)
    kills = [kill(i * 0.2, v, [rat]) for i, v in enumerate(victims)]
    assert cluster_all(kills) == []


def test_fights_nearby_with_shared_pilots_merge() -> None:
    side_a, side_b = alliance_fleets()
    here = brawl(side_a, side_b, kills=20, system=JITA)
    there = brawl(side_a, side_b, kills=20, start=8, system=PERIMETER)
    clusters = cluster_all(here + there)
    assert len(clusters) == 1
    assert clusters[0].solar_system_ids == (JITA, PERIMETER)


def test_busiest_system_comes_first() -> None:
    """Systems were listed by id, so a list that names a battle by its first
    system named a side system with few kills."""
    side_a, side_b = alliance_fleets()
    jita_kills = brawl(side_a, side_b, kills=12, system=JITA)
    perimeter_kills = brawl(side_a, side_b, kills=24, start=4, system=PERIMETER)
    [cluster] = cluster_all(jita_kills + perimeter_kills)
    assert cluster.solar_system_ids == (PERIMETER, JITA)


def test_fights_far_apart_do_not_merge() -> None:
    side_a, side_b = alliance_fleets()
    here = brawl(side_a, side_b, kills=20, system=JITA)
    there = brawl(side_a, side_b, kills=20, start=8, system=AMARR)
    assert len(cluster_all(here + there)) == 2


def test_nearby_fights_without_shared_pilots_stay_apart() -> None:
    side_a, side_b = alliance_fleets()
    side_c, side_d = alliance_fleets()
    here = brawl(side_a, side_b, kills=20, system=JITA)
    there = brawl(side_c, side_d, kills=20, start=8, system=PERIMETER)
    assert len(cluster_all(here + there)) == 2


def test_wormhole_fights_never_merge() -> None:
    """Wormhole space has no gates, so two J-systems stay two battles."""
    side_a, side_b = alliance_fleets()
    here = brawl(side_a, side_b, kills=20, system=J_SPACE)
    there = brawl(side_a, side_b, kills=20, start=8, system=J_SPACE_2)
    assert len(cluster_all(here + there)) == 2


def test_edge_kills_join_the_battle() -> None:
    """Kills trickling in before and after the busy minutes belong to it."""
    side_a, side_b = alliance_fleets()
    core = brawl(side_a, side_b, kills=20, start=30)
    before = [kill(30 - 6 * (i + 1), side_b[i], side_a) for i in range(3)]
    after = [kill(40 + 7 * (i + 1), side_a[i], side_b) for i in range(3)]
    late = kill(40 + 7 * 3 + 25, side_a[5], side_b)
    clusters = cluster_all(core + before + after + [late])
    assert len(clusters) == 1
    ids = clusters[0].killmail_ids
    assert all(k.killmail_id in ids for k in before + after)
    assert late.killmail_id not in ids


def test_results_do_not_depend_on_input_order() -> None:
    side_a, side_b = alliance_fleets()
    side_c = fleet(4, 98_000_070, 99_000_070)
    kills = brawl(side_a, side_b, kills=40)
    kills += [kill(i + 0.3, side_a[i], side_c) for i in range(6)]
    kills += [kill(i + 0.4, side_c[i % 4], side_b) for i in range(6)]
    expected = cluster_all(kills)
    expected_sides = assign_sides(expected[0].kills, PARAMS)
    for seed in range(5):
        shuffled = list(kills)
        random.Random(seed).shuffle(shuffled)
        got = cluster_all(shuffled)
        assert [c.killmail_ids for c in got] == [c.killmail_ids for c in expected]
        sides = assign_sides(got[0].kills, PARAMS)
        assert sides.unit_sides == expected_sides.unit_sides
        assert sides.entities == expected_sides.entities


def test_every_entity_has_reason_and_weights() -> None:
    side_a, side_b = alliance_fleets()
    sides = assign_sides(brawl(side_a, side_b, kills=30), PARAMS)
    for entity in sides.entities:
        assert entity.reason
        assert entity.weight_for > 0
        assert 0.0 <= entity.confidence <= 1.0
    alliance = next(e for e in sides.entities if e.entity_id == 99_000_001)
    assert "fought side" in alliance.reason
    assert sides.confidence > 0.9


def test_mixed_loyalties_lower_confidence() -> None:
    """A corp of A also helps B kill A: its alliance's evidence is split."""
    side_a, side_b = alliance_fleets()
    kills = brawl(side_a, side_b, kills=30)
    turncoats = [p for p in side_a if p.corporation_id == 98_000_002]
    for number in range(10):
        kills.append(kill(number + 0.2, side_a[number % 6], [*turncoats, *side_b[:2]]))
    clean = assign_sides(brawl(*alliance_fleets(), kills=30), PARAMS)
    mixed = assign_sides(kills, PARAMS)
    assert mixed.confidence < clean.confidence


def test_override_moves_corporation_to_new_side() -> None:
    side_a, side_b = alliance_fleets()
    kills = brawl(side_a, side_b, kills=30)
    moved = assign_sides(
        kills, PARAMS, [Override("corporation", 98_000_002, None, None, 1)]
    )
    assert moved.side_count == 3
    pilot = next(p for p in side_a if p.corporation_id == 98_000_002)
    new_side = moved.side_of(
        pilot.alliance_id, pilot.corporation_id, pilot.character_id
    )
    assert new_side == 3
    row = next(e for e in moved.entities if e.entity_id == 98_000_002)
    assert row.overridden
    assert row.side_no == 3


def test_override_moves_alliance_to_anchor_side() -> None:
    side_a, side_b = alliance_fleets()
    kills = brawl(side_a, side_b, kills=30)
    moved = assign_sides(
        kills,
        PARAMS,
        [Override("alliance", 99_000_001, "alliance", 99_000_002, None)],
    )
    assert moved.unit_sides[99_000_001] == moved.unit_sides[99_000_002]


def uneven_fight() -> list[Kill]:
    """Alliance A (corporations A1, A2) against alliance B, with known ISK.

    A1 kills ten B ships of 30m (300m), A2 kills five of 10m (50m) and B
    kills four A2 ships of 10m (40m).
    """
    a1 = fleet(3, 98_100_001, 99_100_001)
    a2 = fleet(3, 98_100_002, 99_100_001)
    b = fleet(3, 98_100_003, 99_100_002)
    kills = [kill(n, b[n % 3], a1, value=30e6) for n in range(10)]
    kills += [kill(n + 0.2, b[n % 3], a2) for n in range(5)]
    kills += [kill(n + 0.4, a2[n % 3], b) for n in range(4)]
    return sorted(kills, key=lambda k: k.killmail_time)


def test_new_side_is_numbered_by_isk_destroyed() -> None:
    """A1 on a side of its own destroyed the most, so it becomes side 1."""
    kills = uneven_fight()
    detected = assign_sides(kills, PARAMS)
    assert detected.unit_sides == {99_100_001: 1, 99_100_002: 2}

    moved = assign_sides(
        kills, PARAMS, [Override("corporation", 98_100_001, None, None, 1)]
    )
    assert moved.side_count == 3
    assert moved.corporation_sides == {98_100_001: 1}
    # B destroyed 40m, A2 (alliance A's side) 50m.
    assert moved.unit_sides == {99_100_001: 2, 99_100_002: 3}
    row = next(e for e in moved.entities if e.entity_id == 98_100_001)
    assert row.side_no == 1
    assert row.reason.startswith("moved to side 1 by the user")


def test_move_to_enemy_counts_other_sides_kills() -> None:
    """Kills of a new side's own ships do not count for its number.

    A1 joins B: its 300m of B ships are kills within its side now, so
    B's side destroyed 40m and A's side, A2 alone, 50m.
    """
    kills = uneven_fight()
    moved = assign_sides(
        kills,
        PARAMS,
        [Override("corporation", 98_100_001, "alliance", 99_100_002, None)],
    )
    assert moved.side_count == 2
    assert moved.unit_sides == {99_100_001: 1, 99_100_002: 2}
    assert moved.corporation_sides == {98_100_001: 2}
    metrics = build_metrics(kills, moved, {}, PARAMS)
    destroyed = {row["side"]: row["isk_destroyed"] for row in metrics["sides"]}
    assert destroyed[1] > destroyed[2]


def test_move_emptying_side_leaves_no_gap() -> None:
    """Moving the only unit of side 1 to side 2 leaves one side, side 1."""
    kills = uneven_fight()
    moved = assign_sides(
        kills,
        PARAMS,
        [Override("alliance", 99_100_001, "alliance", 99_100_002, None)],
    )
    assert moved.side_count == 1
    assert moved.unit_sides == {99_100_001: 1, 99_100_002: 1}
    assert {e.side_no for e in moved.entities} == {1}
    assert moved.side_of(99_100_002, 98_100_003, None) == 1


def test_alliance_follows_corporations_moved_away() -> None:
    """An alliance whose corporations all moved keeps no side of its own."""
    kills = uneven_fight()
    moved = assign_sides(
        kills,
        PARAMS,
        [
            Override("corporation", 98_100_001, None, None, 1),
            Override("corporation", 98_100_002, "corporation", 98_100_001, None),
        ],
    )
    assert moved.side_count == 2
    assert moved.corporation_sides == {98_100_001: 1, 98_100_002: 1}
    assert moved.unit_sides == {99_100_001: 1, 99_100_002: 2}
    assert sorted({e.side_no for e in moved.entities}) == [1, 2]


def test_npc_corporation_pilot_moves_as_one_row() -> None:
    """A character of an NPC corporation is a unit: a move gives one row."""
    side_a = fleet(6, 98_000_001, 99_000_001)
    loner = Pilot(2_100_000_001, 1_000_125, None)
    side_b = [*fleet(4, 98_000_003, 99_000_002), loner]
    kills = brawl(side_a, side_b, kills=20)
    moved = assign_sides(
        kills, PARAMS, [Override("character", 2_100_000_001, None, None, 1)]
    )
    rows = [e for e in moved.entities if e.entity_id == 2_100_000_001]
    assert len(rows) == 1
    assert rows[0].overridden
    assert rows[0].side_no == moved.unit_sides[2_100_000_001]
    assert sorted({e.side_no for e in moved.entities}) == [1, 2, 3]


def test_candidate_windows_join_close_segments() -> None:
    params = BattleParameters()
    rows = [(JITA, 100, 6), (JITA, 103, 5), (JITA, 200, 9), (JITA, 300, 2)]
    windows = candidate_windows(rows, params)
    assert len(windows) == 2
    assert all(isinstance(w, Window) for w in windows)
    assert windows[0].start.timestamp() == 100 * 300 - 30 * 60
    assert windows[0].end.timestamp() == 104 * 300 + 30 * 60


def test_engagement_links_need_two_victims() -> None:
    """One pilot killed (ship and pod) does not link two groups."""
    side_a, _ = alliance_fleets()
    ganker = Pilot(97_100_001, 98_000_080, None)
    kills = [
        kill(0, side_a[0], [ganker]),
        kill(0.1, side_a[0], [ganker], ship_type_id=670),
    ]
    groups = engagements(kills, PARAMS)
    assert len(groups) == 1
    assert active_runs(groups[0], PARAMS) == []

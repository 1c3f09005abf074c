"""Sides of entities that attacked no one in a battle and only lost ships."""

from __future__ import annotations

import datetime as dt

import pytest

from evedmv_tui.battles.export import VICTIMS_MARK, render_text
from evedmv_tui.battles.metrics import build_metrics
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.report import BattleReport, EntityRow
from evedmv_tui.battles.sides import EntitySide, Override, assign_sides
from evedmv_tui.store.db import Database
from tests.test_battle_fixtures import fleet, kill
from tests.test_battles_side_contact import jorund_day

__all__ = ["jorund_day"]

PARAMS = BattleParameters()
RED = 99_500_001
BLUE = 99_500_002
LONE = 99_500_003
START = dt.datetime(2021, 11, 28, 17, 0, tzinfo=dt.UTC)


def unit_row(rows: tuple[EntitySide, ...], entity_id: int) -> EntitySide:
    return next(r for r in rows if r.entity_id == entity_id and r.parent_id is None)


def fight_with_passer_by() -> list[Kill]:
    """Return a fight of two fleets and a lone pilot each of them killed once."""
    red = fleet(3, 98_500_001, RED)
    blue = fleet(3, 98_500_002, BLUE)
    lone = fleet(2, 98_500_003, LONE)
    return [
        kill(0, blue[0], [red[0], red[1]], value=300e6),
        kill(1, red[0], [blue[1], blue[2]], value=200e6),
        kill(2, lone[0], [red[1], red[2]], value=60e6),
        kill(3, lone[1], [blue[1]], value=58e6),
        kill(4, blue[1], [red[2]], value=100e6),
    ]


def test_victim_only_unit_is_not_a_side() -> None:
    """A unit killed by both fleets, which shot no one, is not a third side.

    It read ``fought side 2; fought side 1``, was marked a third party and
    made the battle three-sided.
    """
    sides = assign_sides(fight_with_passer_by(), PARAMS)

    row = unit_row(sides.entities, LONE)
    red, blue = sides.unit_sides[RED], sides.unit_sides[BLUE]
    assert sides.side_count == 2
    assert row.side_no not in (red, blue)
    assert sides.victim_sides == frozenset({row.side_no})
    assert row.side_no == 3
    assert row.reason == (
        f"only lost ships; shot by side {red} (60.0m); shot by side {blue} (58.0m)"
    )
    assert "fought" not in row.reason


def test_victim_only_side_metrics() -> None:
    """The victims' side is neither principal nor a third party, without efficiency."""
    kills = fight_with_passer_by()
    sides = assign_sides(kills, PARAMS)

    metrics = build_metrics(kills, sides, {}, PARAMS)

    rows = {row["side"]: row for row in metrics["sides"]}
    victims = rows[3]
    assert victims["victims_only"] is True
    assert victims["third_party"] is False
    assert victims["efficiency"] is None
    assert victims["isk_lost"] == 118e6
    assert victims["opponents"] == [1, 2]
    assert rows[1]["third_party"] is False
    assert rows[2]["third_party"] is False
    assert rows[1]["victims_only"] is False
    assert rows[1]["opponents"] == [2]


def test_victim_side_text_mark() -> None:
    """The text report marks the victims' side and names the sides that shot it."""
    kills = fight_with_passer_by()
    sides = assign_sides(kills, PARAMS)
    metrics = build_metrics(kills, sides, {}, PARAMS)
    entities = tuple(
        EntityRow(
            e.entity_kind,
            e.entity_id,
            e.parent_id,
            e.side_no,
            e.weight_for,
            e.weight_against,
            e.confidence,
            e.reason,
            e.overridden,
        )
        for e in sides.entities
    )
    report = BattleReport(
        battle_id=138,
        start_time=START,
        end_time=START + dt.timedelta(minutes=4),
        solar_system_ids=[30000142],
        region_ids=[],
        kills=len(kills),
        pilots=metrics["pilots"],
        isk_destroyed=metrics["isk_destroyed"],
        side_count=sides.side_count,
        kind=metrics["kind"],
        confidence=metrics["confidence"],
        unclear=False,
        changed=False,
        ongoing=False,
        metrics=metrics,
        entities=entities,
        killmails=(),
        names={LONE: "Passers By"},
        type_names={},
        system_names={30000142: "Jita"},
        region_names={},
    )

    lines = render_text(report).splitlines()

    assert f"Side 3: Passers By{VICTIMS_MARK}" in lines
    assert not any("third party" in line for line in lines)
    assert "- Passers By: only lost ships; shot by side 1 (60.0m);" in "\n".join(lines)


def test_override_keeps_victim_side_counted() -> None:
    """A side that a user's move made is counted, even of victims only."""
    kills = fight_with_passer_by()
    move = Override("alliance", LONE, None, None, 1)

    sides = assign_sides(kills, PARAMS, [move])

    assert sides.victim_sides == frozenset()
    assert sides.side_count == 3


def test_gank_victims_stay_a_side() -> None:
    """Victims of a one-sided gank are the gankers' opponent, not set apart."""
    red = fleet(3, 98_500_001, RED)
    lone = fleet(2, 98_500_003, LONE)
    kills = [
        kill(0, lone[0], [red[0], red[1]], value=60e6),
        kill(1, lone[1], [red[2]], value=40e6),
    ]

    sides = assign_sides(kills, PARAMS)
    metrics = build_metrics(kills, sides, {}, PARAMS)

    row = unit_row(sides.entities, LONE)
    assert sides.victim_sides == frozenset()
    assert sides.side_count == 2
    assert row.reason == "only lost ships; shot by side 1 (100.0m)"
    assert [r["third_party"] for r in metrics["sides"]] == [False, False]
    assert [r["victims_only"] for r in metrics["sides"]] == [False, False]


@pytest.mark.slow
def test_real_day_victims_are_not_sides(jorund_day: Database) -> None:
    """On the 2021-11-28 archive, units that only lost ships form no side.

    Pilots caught by both fleets and structures killed in a fight were
    counted as third parties that "fought" both sides.
    """
    victims = jorund_day.fetch_all(
        "SELECT battle_id, side_no FROM battle_entities"
        " WHERE parent_id IS NULL AND reason LIKE 'only lost ships%'"
    )
    fought_as_victims = jorund_day.fetch_all(
        "SELECT e.battle_id, e.entity_id FROM battle_entities e"
        " WHERE e.parent_id IS NULL AND e.reason LIKE 'fought%'"
        " AND NOT EXISTS (SELECT 1 FROM battle_entities o"
        "  WHERE o.battle_id = e.battle_id AND o.side_no = e.side_no"
        "  AND o.parent_id IS NULL AND o.reason NOT LIKE 'only lost ships%')"
    )
    metrics = jorund_day.fetch_all("SELECT battle_id, side_count, metrics FROM battles")

    assert victims
    assert fought_as_victims == []
    victim_sides = set()
    for battle_id, side_count, battle_metrics in metrics:
        rows = battle_metrics["sides"]
        fighting = [r for r in rows if not r.get("victims_only")]
        victim_sides.update((battle_id, r["side"]) for r in rows if r["victims_only"])
        assert side_count == len(fighting), battle_id
        for row in rows:
            if row["victims_only"]:
                assert not row["third_party"], battle_id
    assert victim_sides
    # Every side of victims only is made of units that only lost ships.
    units_by_side: dict[tuple[int, int], list[str]] = {}
    for battle_id, side_no, reason in jorund_day.fetch_all(
        "SELECT battle_id, side_no, reason FROM battle_entities WHERE parent_id IS NULL"
    ):
        units_by_side.setdefault((battle_id, side_no), []).append(reason)
    for key in victim_sides:
        reasons = units_by_side[key]
        assert all(
            r.startswith("only lost ships") or r == "no player contact" for r in reasons
        ), key

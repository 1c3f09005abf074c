"""Battle metrics, built in one pass over a battle's kills; no database.

The result is a plain dict stored as ``battles.metrics`` (jsonb) and read
back by the report. Ids stay ids: names are resolved when a report is
rendered, in one batch for the whole report.

Conventions:

- ISK destroyed by a side is the value of each kill of another side's ship,
  times the side's share of the kill's player damage. That damage includes
  the damage done by the victim's own side, whose share goes to no side.
  On a kill with no player damage, the attacking sides share the value
  equally.
- Efficiency counts opponents only. The two principal sides (the most
  involved) are each other's opponents; any other side is a third party
  whose opponents are both principal sides. Kills of third-party ships do
  not raise a principal side's efficiency: efficiency = ISK destroyed of
  opponents / (that + ISK lost).
- A side of victims only (see ``SideAssignment.victim_sides``) is neither a
  principal side nor a third party. Its opponents are the sides that shot
  its ships, and it has no efficiency, since it attacked no one.
- A pilot who reships counts once as a pilot, and once per hull in ships
  fielded (a hull seen as attacker or victim). Every lost ship was fielded:
  a pilot who loses the same ship type twice fielded two hulls of it, and
  a victim without a pilot (a structure, a deployable) fielded its own.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from evedmv_tui.battles.model import Kill, is_player_character, systems_by_kills
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.sides import SideAssignment

UNKNOWN_CLASS = "unknown"
TOP_PILOTS = 10


@dataclasses.dataclass(frozen=True, slots=True)
class ShipType:
    """The group, class and fleet roles of a ship type."""

    group_id: int | None
    ship_class: str
    roles: frozenset[str]


@dataclasses.dataclass(slots=True)
class _Side:
    pilots: set[int] = dataclasses.field(default_factory=set)
    hulls: set[tuple[int, int]] = dataclasses.field(default_factory=set)
    """(pilot, ship type) pairs seen as attacker or victim."""
    hull_losses: collections.Counter[tuple[int | None, int]] = dataclasses.field(
        default_factory=collections.Counter
    )
    """Losses by (pilot, ship type), with None for victims without a pilot."""
    lost: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter
    )
    roles_lost: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter
    )
    ships_lost: int = 0
    isk_lost: float = 0.0
    isk_destroyed: float = 0.0
    isk_destroyed_by_victim_side: dict[int, float] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(float)
    )
    loot_dropped: float = 0.0
    damage_dealt: int = 0
    final_blows: collections.Counter[int] = dataclasses.field(
        default_factory=collections.Counter
    )
    damage_by_pilot: collections.Counter[int] = dataclasses.field(
        default_factory=collections.Counter
    )


def _third_party_opponents(number: int, per_side: Mapping[int, _Side]) -> list[int]:
    """Return the sides a third party destroyed ships of or lost ships to.

    Two third parties that fought only each other are each other's
    opponents. Counted against the principal sides, one of them had no
    efficiency at all and the other 0 %.
    """
    opponents = set(per_side[number].isk_destroyed_by_victim_side)
    for other, side in per_side.items():
        if number in side.isk_destroyed_by_victim_side:
            opponents.add(other)
    opponents.discard(number)
    return sorted(opponents)


def _attacker_sides(
    kills: Sequence[Kill], sides: SideAssignment
) -> dict[tuple[int | None, int | None, int | None, int | None], int]:
    """Return the side of every attacker and hull of the kills, 0 for none.

    Keys are (alliance, corporation, character, ship type), and attackers
    that are not player characters have no side. Each distinct attacker is
    looked up once, and every kill then maps its attackers in one call.
    """
    hulls = dict.fromkeys(
        itertools.chain.from_iterable(
            zip(
                kill.attacker_alliance_ids,
                kill.attacker_corporation_ids,
                kill.attacker_character_ids,
                kill.attacker_ship_type_ids,
                strict=True,
            )
            for kill in kills
        ),
        0,
    )
    side_of = sides.side_of
    known: dict[tuple[int | None, int | None, int | None], int] = {}
    for key in hulls:
        alliance_id, corporation_id, character_id, _ = key
        if not is_player_character(character_id):
            continue
        participant = (alliance_id, corporation_id, character_id)
        number = known.get(participant)
        if number is None:
            number = known[participant] = side_of(*participant) or 0
        hulls[key] = number
    return hulls


def build_metrics(
    kills: Sequence[Kill],
    sides: SideAssignment,
    ship_types: Mapping[int, ShipType],
    params: BattleParameters,
    *,
    completeness: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the report figures of a battle (see the module docstring)."""
    unknown = ShipType(None, UNKNOWN_CLASS, frozenset())
    per_side: dict[int, _Side] = collections.defaultdict(_Side)
    start = kills[0].killmail_time
    end = kills[-1].killmail_time
    minutes = int((end - start).total_seconds() // 60) + 1
    timeline_kills: dict[int, list[int]] = {}
    timeline_isk: dict[int, list[float]] = {}
    all_pilots: set[int] = set()
    isk_total = 0.0
    value_missing = 0
    hull_sides = _attacker_sides(kills, sides)
    hull_side = hull_sides.__getitem__
    # Damage and final blows on other sides, by side and then by pilot.
    damage_by_pilot: dict[int, dict[int, int]] = collections.defaultdict(dict)
    final_blows: dict[int, dict[int, int]] = collections.defaultdict(dict)

    for kill in kills:
        value = kill.total_value
        isk_total += value
        if value <= 0:
            value_missing += 1
        victim_side = sides.side_of(
            kill.victim_alliance_id,
            kill.victim_corporation_id,
            kill.victim_character_id,
        )
        if victim_side is not None:
            victim_type = ship_types.get(kill.victim_ship_type_id, unknown)
            side = per_side[victim_side]
            side.ships_lost += 1
            side.isk_lost += value
            side.loot_dropped += kill.dropped_value
            side.lost[victim_type.ship_class] += 1
            for role in victim_type.roles:
                side.roles_lost[role] += 1
            pilot = None
            if is_player_character(kill.victim_character_id):
                pilot = kill.victim_character_id
                assert pilot is not None
                side.pilots.add(pilot)
                side.hulls.add((pilot, kill.victim_ship_type_id))
                all_pilots.add(pilot)
            side.hull_losses[(pilot, kill.victim_ship_type_id)] += 1
            minute = int((kill.killmail_time - start).total_seconds() // 60)
            if victim_side not in timeline_kills:
                timeline_kills[victim_side] = [0] * minutes
                timeline_isk[victim_side] = [0.0] * minutes
            timeline_kills[victim_side][minute] += 1
            timeline_isk[victim_side][minute] += value

        character_ids = kill.attacker_character_ids
        attacker_sides = map(
            hull_side,
            zip(
                kill.attacker_alliance_ids,
                kill.attacker_corporation_ids,
                character_ids,
                kill.attacker_ship_type_ids,
                strict=True,
            ),
        )
        shares: dict[int, int] = {}
        # Damage by the victim's own side counts in the kill's player damage,
        # so the other sides split only their part of the kill's value.
        own_side_damage = 0
        for attacker_side, character_id, damage, final_blow in zip(
            attacker_sides,
            character_ids,
            kill.attacker_damage,
            kill.attacker_final_blows,
            strict=True,
        ):
            if not attacker_side:
                continue
            if attacker_side == victim_side:
                own_side_damage += damage
                continue
            assert character_id is not None
            shares[attacker_side] = shares.get(attacker_side, 0) + damage
            by_pilot = damage_by_pilot[attacker_side]
            by_pilot[character_id] = by_pilot.get(character_id, 0) + damage
            if final_blow:
                by_pilot = final_blows[attacker_side]
                by_pilot[character_id] = by_pilot.get(character_id, 0) + 1
        damage_total = sum(shares.values()) + own_side_damage
        for attacker_side, damage in shares.items():
            share = damage / damage_total if damage_total else 1 / len(shares)
            side = per_side[attacker_side]
            side.isk_destroyed += value * share
            if victim_side is not None:
                side.isk_destroyed_by_victim_side[victim_side] += value * share

    for (_, _, character_id, ship), number in hull_sides.items():
        if number:
            assert character_id is not None
            side = per_side[number]
            side.pilots.add(character_id)
            all_pilots.add(character_id)
            if ship is not None:
                side.hulls.add((character_id, ship))
    for number, by_pilot in damage_by_pilot.items():
        side = per_side[number]
        side.damage_dealt = sum(by_pilot.values())
        side.damage_by_pilot.update(by_pilot)
    for number, by_pilot in final_blows.items():
        per_side[number].final_blows.update(by_pilot)

    numbers = sorted(per_side)
    involvement = {n: per_side[n].isk_lost + per_side[n].isk_destroyed for n in numbers}
    victims = sides.victim_sides
    fighting = [n for n in numbers if n not in victims]
    principal = sorted(fighting, key=lambda n: (-involvement[n], n))[:2]
    side_rows = []
    for number in numbers:
        side = per_side[number]
        if number in principal:
            opponents = [n for n in principal if n != number]
        else:
            opponents = _third_party_opponents(number, per_side) or list(principal)
        against = sum(side.isk_destroyed_by_victim_side.get(n, 0.0) for n in opponents)
        denominator = against + side.isk_lost if number not in victims else 0.0
        fielded: collections.Counter[str] = collections.Counter()
        roles_present: collections.Counter[str] = collections.Counter()
        hull_counts = _fielded_hulls(side)
        for (_, ship), count in hull_counts.items():
            ship_type = ship_types.get(ship, unknown)
            fielded[ship_type.ship_class] += count
            for role in ship_type.roles:
                roles_present[role] += count
        side_rows.append(
            {
                "side": number,
                "third_party": number not in principal and number not in victims,
                "victims_only": number in victims,
                "opponents": opponents,
                "pilots": len(side.pilots),
                "ships_fielded": sum(hull_counts.values()),
                "ships_fielded_by_class": dict(sorted(fielded.items())),
                "ships_lost": side.ships_lost,
                "ships_lost_by_class": dict(sorted(side.lost.items())),
                "isk_lost": side.isk_lost,
                "isk_destroyed": side.isk_destroyed,
                "isk_destroyed_of_opponents": against,
                "efficiency": against / denominator if denominator > 0 else None,
                "loot_dropped": side.loot_dropped,
                "damage_dealt": side.damage_dealt,
                "roles_present": dict(sorted(roles_present.items())),
                "roles_lost": dict(sorted(side.roles_lost.items())),
                "top_final_blows": _top(side.final_blows),
                "top_damage": _top(side.damage_by_pilot),
            }
        )
    kind = classify(side_rows, params)
    return {
        "version": 1,
        "solar_system_ids": list(systems_by_kills(kills)),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "duration_seconds": (end - start).total_seconds(),
        "kills": len(kills),
        "pilots": len(all_pilots),
        "isk_destroyed": isk_total,
        "kind": kind,
        "confidence": sides.confidence,
        "unclear": sides.confidence < params.unclear_confidence,
        "sides": side_rows,
        # Minute i of the timeline counts the kills from start + i minutes,
        # so its start is the first kill's exact time, not its whole minute.
        "timeline": {
            "start": start.isoformat(),
            "minutes": minutes,
            "kills": {str(n): v for n, v in sorted(timeline_kills.items())},
            "isk": {str(n): v for n, v in sorted(timeline_isk.items())},
        },
        "completeness": {
            "kills_present": len(kills),
            "kills_without_value": value_missing,
            **(completeness or {}),
        },
    }


def _fielded_hulls(side: _Side) -> collections.Counter[tuple[int | None, int]]:
    """Count the hulls a side fielded by (pilot, ship type).

    A pair seen in the fight is one hull, or as many as it lost when it lost
    more than one, since each further loss needs a new hull.
    """
    counts: collections.Counter[tuple[int | None, int]] = collections.Counter(
        dict.fromkeys(side.hulls, 1)
    )
    for key, losses in side.hull_losses.items():
        counts[key] = max(counts[key], losses)
    return counts


def _top(counter: collections.Counter[int]) -> list[list[int]]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [[pilot, count] for pilot, count in ordered[:TOP_PILOTS]]


def classify(side_rows: Sequence[Mapping[str, Any]], params: BattleParameters) -> str:
    """Return ``one-sided``, ``fight`` or ``brawl`` from the per-side figures.

    One-sided: every side but the one that destroyed the most destroyed at
    most ``one_sided_ratio`` of what that side destroyed. Brawl: three or
    more sides each destroyed more than that share.
    """
    destroyed = sorted((row["isk_destroyed"] for row in side_rows), reverse=True)
    if not destroyed or destroyed[0] <= 0:
        return "one-sided"
    threshold = params.one_sided_ratio * destroyed[0]
    fighting = [value for value in destroyed if value > threshold]
    if len(fighting) <= 1:
        return "one-sided"
    if len(fighting) >= 3:
        return "brawl"
    return "fight"


def format_duration(duration: dt.timedelta) -> str:
    """Return a battle's duration as ``12s``, ``7m``, ``1h05`` or ``51h33``.

    Seconds under a minute, so a fight of a few seconds does not read as 0m.
    Use it wherever a battle's duration is shown, so that lists, reports and
    exports agree.
    """
    seconds = int(duration.total_seconds())
    minutes = seconds // 60
    if minutes >= 60:
        return f"{minutes // 60}h{minutes % 60:02d}"
    return f"{minutes}m" if minutes else f"{seconds}s"


def duration_text(start: dt.datetime, end: dt.datetime) -> str:
    """Return the duration from ``start`` to ``end`` (see ``format_duration``).

    From a minute on, it counts the minutes between the start and the end
    as reports show them, cut to the minute, so ``12:15-12:17`` reads 2m
    for a fight from 12:15:59 to 12:17:34 (1 minute 35 seconds).
    """
    if end - start < dt.timedelta(minutes=1):
        return format_duration(end - start)
    shown_start = start.replace(second=0, microsecond=0)
    return format_duration(end.replace(second=0, microsecond=0) - shown_start)


def period_text(start: dt.datetime, end: dt.datetime) -> str:
    """Return a battle's UTC period and duration for report headers.

    The end shows its date only when it differs from the start's date:
    ``2021-11-28 16:01-19:35 UTC (3h34)``, but
    ``2021-11-28 16:01 to 2021-11-30 19:35 UTC (51h33)``.
    """
    duration = duration_text(start, end)
    if end.date() == start.date():
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC ({duration})"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC ({duration})"

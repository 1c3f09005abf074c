"""Builders of small hand-made battles, and a writer that stores them.

The stored rows fill only the killmail columns battle detection reads;
``esi_body`` holds a placeholder because these kills never came from ESI.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

from psycopg import sql

from evedmv_tui.battles.model import Kill
from evedmv_tui.store.db import Database

BASE = dt.datetime(2021, 11, 27, 18, 0, tzinfo=dt.UTC)
JITA = 30000142
PERIMETER = 30000144  # one jump from Jita
NEW_CALDARI = 30000145  # one jump from Jita
AMARR = 30002187  # far from Jita; the stored gates below do not reach it
J_SPACE = 31000368
J_SPACE_2 = 31000520
RIFTER = 587
CAPSULE = 670
SCIMITAR = 11978  # logistics cruiser
RAVEN = 638

_ids = itertools.count(90_000_000)


@dataclasses.dataclass(frozen=True, slots=True)
class Pilot:
    character_id: int | None
    corporation_id: int | None
    alliance_id: int | None = None
    ship_type_id: int = RIFTER


def fleet(size: int, corporation_id: int, alliance_id: int | None) -> list[Pilot]:
    """Return ``size`` new pilots of one corporation."""
    return [Pilot(next(_ids), corporation_id, alliance_id) for _ in range(size)]


_kill_ids = itertools.count(95_000_000)


def kill(
    minute: float,
    victim: Pilot,
    attackers: Sequence[Pilot | tuple[Pilot, int]],
    *,
    system: int = JITA,
    value: float = 10_000_000.0,
    dropped: float = 0.0,
    killmail_id: int | None = None,
    ship_type_id: int | None = None,
    base: dt.datetime = BASE,
) -> Kill:
    """Build a kill ``minute`` minutes after ``base``.

    An attacker given without damage deals 100; the first attacker lands the
    final blow.
    """
    pilots = []
    damage = []
    for entry in attackers:
        if isinstance(entry, tuple):
            pilots.append(entry[0])
            damage.append(entry[1])
        else:
            pilots.append(entry)
            damage.append(100)
    return Kill(
        killmail_id=killmail_id if killmail_id is not None else next(_kill_ids),
        killmail_time=base + dt.timedelta(minutes=minute),
        solar_system_id=system,
        victim_character_id=victim.character_id,
        victim_corporation_id=victim.corporation_id,
        victim_alliance_id=victim.alliance_id,
        victim_ship_type_id=ship_type_id or victim.ship_type_id,
        total_value=value,
        dropped_value=dropped,
        attacker_character_ids=tuple(p.character_id for p in pilots),
        attacker_corporation_ids=tuple(p.corporation_id for p in pilots),
        attacker_alliance_ids=tuple(p.alliance_id for p in pilots),
        attacker_ship_type_ids=tuple(p.ship_type_id for p in pilots),
        attacker_damage=tuple(damage),
        attacker_final_blows=tuple(i == 0 for i in range(len(pilots))),
    )


def brawl(
    side_a: Sequence[Pilot],
    side_b: Sequence[Pilot],
    *,
    kills: int,
    start: float = 0.0,
    every: float = 0.5,
    system: int = JITA,
    value: float = 10_000_000.0,
    base: dt.datetime = BASE,
) -> list[Kill]:
    """Return ``kills`` kills alternating between the two sides."""
    found = []
    for number in range(kills):
        if number % 2 == 0:
            victim = side_b[(number // 2) % len(side_b)]
            shooters = side_a
        else:
            victim = side_a[(number // 2) % len(side_a)]
            shooters = side_b
        found.append(
            kill(
                start + number * every,
                victim,
                shooters,
                system=system,
                value=value,
                base=base,
            )
        )
    return found


def _month(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def insert_kills(db: Database, kills: Iterable[Kill], *, npc: bool = False) -> None:
    """Store ``kills`` in ``killmails`` and ``attackers``, creating partitions."""
    kills = list(kills)
    months = {_month(k.killmail_time) for k in kills}
    with db.connection() as conn, conn.transaction():
        for start, end in sorted(months):
            for table in ("killmails", "attackers", "items"):
                name = f"{table}_test_{start:%Y_%m}"
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {}"
                        " FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(name),
                        sql.Identifier(table),
                        sql.Literal(start),
                        sql.Literal(end),
                    )
                )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO killmails (killmail_id, killmail_time, solar_system_id,"
                " victim_character_id, victim_corporation_id, victim_alliance_id,"
                " victim_ship_type_id, victim_damage_taken, attacker_count,"
                " total_value, dropped_value, npc, esi_body, source)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " '{}', 'test')",
                [
                    (
                        k.killmail_id,
                        k.killmail_time,
                        k.solar_system_id,
                        k.victim_character_id,
                        k.victim_corporation_id,
                        k.victim_alliance_id,
                        k.victim_ship_type_id,
                        sum(k.attacker_damage),
                        len(k.attacker_damage),
                        k.total_value,
                        k.dropped_value,
                        npc,
                    )
                    for k in kills
                ],
            )
            cur.executemany(
                "INSERT INTO attackers (killmail_id, killmail_time, attacker_index,"
                " character_id, corporation_id, alliance_id, ship_type_id,"
                " damage_done, final_blow) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        k.killmail_id,
                        k.killmail_time,
                        index,
                        k.attacker_character_ids[index],
                        k.attacker_corporation_ids[index],
                        k.attacker_alliance_ids[index],
                        k.attacker_ship_type_ids[index],
                        k.attacker_damage[index],
                        k.attacker_final_blows[index],
                    )
                    for k in kills
                    for index in range(len(k.attacker_damage))
                ],
            )


def insert_static(db: Database) -> None:
    """Store the few systems, gates, groups and types the hand-made cases use.

    The gates are real ones: Jita links to Perimeter and to New Caldari.
    """
    db.execute(
        "INSERT INTO regions (region_id, region_name) VALUES"
        " (10000002, 'The Forge'), (10000043, 'Domain'), (11000031, 'B-R00004')"
        " ON CONFLICT DO NOTHING"
    )
    db.execute(
        "INSERT INTO solar_systems (solar_system_id, solar_system_name,"
        " constellation_id, region_id, security) VALUES"
        " (30000142, 'Jita', 20000020, 10000002, 0.9),"
        " (30000144, 'Perimeter', 20000020, 10000002, 1.0),"
        " (30000145, 'New Caldari', 20000020, 10000002, 1.0),"
        " (30002187, 'Amarr', 20000322, 10000043, 1.0),"
        " (31000368, 'J105951', 21000334, 11000031, -0.99),"
        " (31000520, 'J150859', 21000334, 11000031, -0.99)"
        " ON CONFLICT DO NOTHING"
    )
    db.execute(
        "INSERT INTO stargate_jumps VALUES (30000142, 30000144), (30000144, 30000142),"
        " (30000142, 30000145), (30000145, 30000142) ON CONFLICT DO NOTHING"
    )
    db.execute(
        "INSERT INTO groups (group_id, group_name, category_id, published, ship_class)"
        " VALUES (25, 'Frigate', 6, true, 'frigate'), (29, 'Capsule', 6, true,"
        " 'capsule'), (832, 'Logistics', 6, true, 'cruiser'), (27, 'Battleship', 6,"
        " true, 'battleship') ON CONFLICT DO NOTHING"
    )
    db.execute(
        "INSERT INTO types (type_id, type_name, group_id, published) VALUES"
        " (587, 'Rifter', 25, true), (670, 'Capsule', 29, true),"
        " (11978, 'Scimitar', 832, true), (638, 'Raven', 27, true)"
        " ON CONFLICT DO NOTHING"
    )

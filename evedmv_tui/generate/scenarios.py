"""Scenarios: how generated kills cluster in space and time.

Each scenario function draws one engagement and returns its kills, each a
:class:`Kill` with a time in epoch seconds, a system, a victim and the
attackers; :mod:`evedmv_tui.generate.documents` later turns a kill into an
ESI document with items and a zkb block.

What a generated fight looks like (``battle``): two coalitions of one to
four alliances each (several corporations per alliance) meet in one system
and lose ships to each other over 10 to 60 minutes. A fight draws ten to
several hundred kills, and each kill's attackers come from the sides
opposed to the victim's. About a
quarter of fights draw a third party that joins a third to two thirds of the
way in, and about a third spill into a system one or two gates away. Pilots
reship and return after three to ten minutes, and pods die seconds after
their ships outside highsec.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence

from evedmv_tui.generate.universe import CONCORD, NPC_FORCES, Universe
from evedmv_tui.generate.world import Alliance, Pilot, World

INFINITY = math.inf

# Attacker tuple: (character_id, corporation_id, alliance_id, faction_id,
# ship_type_id, security_status)
Attacker = tuple[int | None, int | None, int | None, int | None, int | None, float]


@dataclasses.dataclass(slots=True)
class Kill:
    time: float
    """Epoch seconds, UTC."""
    solar_system_id: int
    ship_type_id: int
    character_id: int | None
    corporation_id: int
    alliance_id: int | None
    attackers: list[Attacker]
    location_id: int | None = None
    war_id: int | None = None
    moon_id: int | None = None
    label: str | None = None
    """An extra zKillboard label, such as ``ganked``."""


@dataclasses.dataclass(slots=True)
class Context:
    rng: random.Random
    universe: Universe
    world: World
    structure_ids: list[int]
    """Upwell structures placed so far; ids above 10^12 like CCP's."""


def _attacker(pilot: Pilot, ship: int | None = None) -> Attacker:
    return (
        pilot.character_id,
        pilot.corporation_id,
        pilot.alliance_id,
        None,
        pilot.ship if ship is None else ship,
        pilot.security_status,
    )


def _celestial(rng: random.Random, system_id: int) -> int:
    """Return a plausible celestial (planet, moon, belt) id near ``system_id``."""
    return 40_000_000 + (system_id % 100_000) * 4 + rng.randrange(4) + 1


def _gate(rng: random.Random, system_id: int) -> int:
    return 50_000_000 + (system_id % 100_000) * 3 + rng.randrange(3) + 1


def _structure(ctx: Context) -> int:
    if ctx.structure_ids and ctx.rng.random() < 0.7:
        return ctx.rng.choice(ctx.structure_ids)
    structure_id = 1_030_000_000_000 + ctx.rng.randrange(10_000_000_000)
    ctx.structure_ids.append(structure_id)
    return structure_id


def _pick_system(ctx: Context, weights: Sequence[tuple[str, float]]) -> int:
    rng = ctx.rng
    draw = rng.random() * sum(weight for _, weight in weights)
    space = weights[-1][0]
    for name, weight in weights:
        draw -= weight
        if draw < 0:
            space = name
            break
    for _ in range(20):
        system = rng.choice(ctx.universe.systems)
        if system.space == space:
            return system.solar_system_id
    return rng.choice(ctx.universe.systems).solar_system_id


FIGHT_SPACE = (("nullsec", 0.6), ("lowsec", 0.25), ("w-space", 0.05), ("highsec", 0.1))
SOLO_SPACE = (("lowsec", 0.5), ("nullsec", 0.3), ("highsec", 0.15), ("w-space", 0.05))
NPC_SPACE = (("nullsec", 0.5), ("highsec", 0.3), ("lowsec", 0.2))


def _spill_system(ctx: Context, primary: int) -> int | None:
    links = ctx.universe.neighbours.get(primary)
    if not links:
        return None
    first = ctx.rng.choice(links)
    if ctx.rng.random() < 0.3:
        onward = [s for s in ctx.universe.neighbours.get(first, ()) if s != primary]
        if onward:
            return ctx.rng.choice(onward)
    return first


def _war_id(ctx: Context, system_id: int) -> int | None:
    if ctx.universe.system(system_id).space == "highsec":
        return 700_000 + ctx.rng.randrange(60_000)
    return None


def _roster(
    ctx: Context, coalition: Sequence[Alliance], size: int, *, capitals: bool
) -> list[Pilot]:
    """Draw ``size`` pilots of a coalition; capital pilots only if ``capitals``."""
    pilots: list[Pilot] = []
    for alliance in coalition:
        pilots.extend(alliance.pilots)
    if not capitals:
        pilots = [p for p in pilots if p.role not in ("capital", "supercapital")]
    else:
        supers = ctx.rng.random() < 0.2
        if not supers:
            pilots = [p for p in pilots if p.role != "supercapital"]
    size = min(size, len(pilots))
    return ctx.rng.sample(pilots, size)


def _pod_kill(ctx: Context, kill: Kill, victim: Pilot) -> Kill:
    attackers = kill.attackers[
        : max(1, min(len(kill.attackers), ctx.rng.randint(1, 4)))
    ]
    return Kill(
        kill.time + ctx.rng.uniform(3.0, 40.0),
        kill.solar_system_id,
        ctx.universe.hulls["capsule"][0],
        victim.character_id,
        victim.corporation_id,
        victim.alliance_id,
        list(attackers),
        kill.location_id,
        kill.war_id,
    )


def _pod_chance(ctx: Context, system_id: int) -> float:
    space = ctx.universe.system(system_id).space
    return {"highsec": 0.05, "lowsec": 0.25, "nullsec": 0.4, "w-space": 0.5}[space]


def fight(ctx: Context, start: float, kind: str) -> list[Kill]:
    """Draw a ``battle``, ``skirmish`` or one-sided ``massacre``."""
    rng = ctx.rng
    primary = _pick_system(ctx, FIGHT_SPACE)
    space = ctx.universe.system(primary).space
    if kind == "battle":
        side_count = 3 if rng.random() < 0.25 else 2
        duration = rng.uniform(600.0, 3600.0)
    elif kind == "massacre":
        side_count = 2
        duration = rng.uniform(180.0, 900.0)
    else:
        side_count = 2
        duration = rng.uniform(120.0, 720.0)

    coalitions = rng.sample(ctx.world.coalitions, side_count)
    capitals = (
        kind == "battle" and space in ("nullsec", "lowsec") and rng.random() < 0.12
    )
    rosters: list[list[Pilot]] = []
    for index, coalition in enumerate(coalitions):
        if kind == "battle":
            size = int(15 * math.exp(rng.random() * 2.2))
        elif kind == "massacre":
            size = rng.randint(40, 160) if index == 0 else rng.randint(8, 40)
        else:
            size = rng.randint(3, 15)
        rosters.append(_roster(ctx, coalition, size, capitals=capitals))

    total = sum(len(r) for r in rosters)
    if kind == "battle":
        kill_count = max(10, int(total * rng.uniform(0.15, 0.45)))
    elif kind == "massacre":
        kill_count = max(5, int(len(rosters[1]) * rng.uniform(0.6, 0.95)))
    else:
        kill_count = rng.randint(1, max(2, total // 3))

    joins = [start] * side_count
    if side_count == 3:
        joins[2] = start + duration * rng.uniform(0.33, 0.66)
    spill = _spill_system(ctx, primary) if rng.random() < 0.33 else None
    spill_start = start + duration * rng.uniform(0.4, 0.8)
    near_structure = space in ("nullsec", "w-space") and rng.random() < 0.25
    location = _structure(ctx) if near_structure else _celestial(rng, primary)
    war = _war_id(ctx, primary) if kind != "massacre" else None

    available: dict[int, float] = {}
    side_of: dict[int, int] = {}
    for side, roster in enumerate(rosters):
        for pilot in roster:
            available[pilot.character_id] = joins[side]
            side_of[pilot.character_id] = side

    times = sorted(start + duration * rng.random() ** 1.3 for _ in range(kill_count))
    kills: list[Kill] = []
    attack_scale = 6.0 if kind == "battle" else 3.0
    for when in times:
        present = [s for s in range(side_count) if joins[s] <= when]
        if len(present) < 2:
            continue
        if kind == "massacre":
            weights = [1.0 if s == 0 else 12.0 for s in present]
        else:
            weights = [rng.uniform(0.5, 1.5) for _ in present]

        victim_side = rng.choices(present, weights)[0]
        candidates = [
            p for p in rosters[victim_side] if available[p.character_id] <= when
        ]
        enemies = [
            p
            for s in present
            if s != victim_side
            for p in rosters[s]
            if available[p.character_id] <= when
        ]
        if not candidates or not enemies:
            continue

        victim = rng.choice(candidates)
        if victim.role in ("capital", "supercapital") and rng.random() < 0.8:
            victim = rng.choice(candidates)
        count = min(len(enemies), max(1, int(rng.paretovariate(1.2) * attack_scale)))
        attackers = [_attacker(p) for p in rng.sample(enemies, count)]

        system = primary
        if spill is not None and when >= spill_start and rng.random() < 0.6:
            system = spill
        kill = Kill(
            when,
            system,
            victim.ship,
            victim.character_id,
            victim.corporation_id,
            victim.alliance_id,
            attackers,
            location if system == primary else _celestial(rng, system),
            war,
        )
        kills.append(kill)
        if rng.random() < _pod_chance(ctx, system):
            kills.append(_pod_kill(ctx, kill, victim))

        victim.ship_index += 1
        if rng.random() < 0.35:
            available[victim.character_id] = when + rng.uniform(180.0, 600.0)
        else:
            available[victim.character_id] = INFINITY
    return kills


def solo(ctx: Context, start: float) -> list[Kill]:
    """Draw one pilot killing another, maybe followed by the pod."""
    rng = ctx.rng
    hunters = rng.choice(ctx.world.alliances).pilots
    hunter = rng.choice(hunters)
    if rng.random() < 0.01:
        # A corp mate turning on the victim: zKillboard's awox.
        same = [p for p in hunters if p.corporation_id == hunter.corporation_id]
        victim = rng.choice(same)
    else:
        victim = rng.choice(ctx.world.all_pilots)
    if victim is hunter:
        return []
    system = _pick_system(ctx, SOLO_SPACE)
    kill = Kill(
        start,
        system,
        victim.ship,
        victim.character_id,
        victim.corporation_id,
        victim.alliance_id,
        [_attacker(hunter)],
        _celestial(rng, system),
        _war_id(ctx, system) if rng.random() < 0.5 else None,
    )
    kills = [kill]
    if rng.random() < _pod_chance(ctx, system):
        kills.append(_pod_kill(ctx, kill, victim))
    victim.ship_index += 1
    return kills


def gate_camp(ctx: Context, start: float) -> list[Kill]:
    """Draw a camp on a hub gate: a steady trickle of kills for hours."""
    rng = ctx.rng
    hub = rng.choice(ctx.universe.camp_hubs)
    alliance = rng.choice(ctx.world.alliances)
    gang = rng.sample(alliance.pilots, min(len(alliance.pilots), rng.randint(4, 12)))
    gate = _gate(rng, hub)
    end = start + rng.uniform(2 * 3600.0, 6 * 3600.0)
    when = start
    kills: list[Kill] = []
    while True:
        when += rng.expovariate(1 / 600.0)
        if when > end:
            break
        victim = rng.choice(
            ctx.world.independents if rng.random() < 0.7 else ctx.world.all_pilots
        )
        count = rng.randint(max(1, len(gang) // 2), len(gang))
        attackers = [_attacker(p) for p in rng.sample(gang, count)]
        kill = Kill(
            when,
            hub,
            victim.ship,
            victim.character_id,
            victim.corporation_id,
            victim.alliance_id,
            attackers,
            gate,
        )
        kills.append(kill)
        if rng.random() < 0.5:
            kills.append(_pod_kill(ctx, kill, victim))
        victim.ship_index += 1
    return kills


def _npc_attackers(rng: random.Random, count: int) -> list[Attacker]:
    faction, corporation, ships = rng.choice(NPC_FORCES)
    attackers: list[Attacker] = []
    for _ in range(count):
        ship = rng.choice(ships)
        if rng.random() < 0.5:
            attackers.append((None, None, None, faction, ship, 0.0))
        else:
            attackers.append((None, corporation, None, None, ship, 0.0))
    return attackers


def npc_kill(ctx: Context, start: float) -> list[Kill]:
    """Draw a pilot lost to NPCs: attackers with only a faction or NPC corporation."""
    rng = ctx.rng
    victim = rng.choice(ctx.world.all_pilots)
    system = _pick_system(ctx, NPC_SPACE)
    kill = Kill(
        start,
        system,
        victim.ship,
        victim.character_id,
        victim.corporation_id,
        victim.alliance_id,
        _npc_attackers(rng, rng.randint(1, 5)),
        _celestial(rng, system),
    )
    victim.ship_index += 1
    return [kill]


def structure_kill(ctx: Context, start: float) -> list[Kill]:
    """Draw a structure, control tower or deployable killed by a gang."""
    rng = ctx.rng
    owner = rng.choice(ctx.world.alliances)
    corporation = rng.choice(owner.corporation_ids)
    attackers_from = rng.choice(ctx.world.coalitions)
    pilots = [p for a in attackers_from for p in a.pilots if a is not owner]
    if not pilots:
        return []

    draw = rng.random()
    moon = None
    if draw < 0.55:
        pool = "citadel" if rng.random() < 0.75 else "engineering"
        system = _pick_system(ctx, FIGHT_SPACE)
        count = rng.randint(10, 150)
        location = _structure(ctx)
    elif draw < 0.65:
        pool = "control_tower"
        system = _pick_system(ctx, FIGHT_SPACE)
        count = rng.randint(5, 40)
        moon = 40_000_000 + (system % 100_000) * 4 + 2
        location = moon
    else:
        pool = "deployable"
        system = _pick_system(ctx, SOLO_SPACE)
        count = rng.randint(1, 5)
        location = _celestial(rng, system)

    hulls = ctx.universe.hulls[pool]
    if pool == "citadel":
        # Mostly Astrahus, some Fortizar, rarely a Keepstar.
        ship = hulls[min(len(hulls) - 1, int(rng.random() ** 3 * len(hulls)))]
    else:
        ship = rng.choice(hulls)

    attackers = [_attacker(p) for p in rng.sample(pilots, min(count, len(pilots)))]
    kill = Kill(
        start,
        system,
        ship,
        None,
        corporation,
        owner.alliance_id,
        attackers,
        location,
        None,
        moon,
    )
    return [kill]


def gank(ctx: Context, start: float) -> list[Kill]:
    """Draw a highsec gank: destroyers kill a hauler, then CONCORD kills them."""
    rng = ctx.rng
    system = rng.choice(ctx.universe.gank_systems)
    alliance = rng.choice(ctx.world.alliances)
    gankers = rng.sample(alliance.pilots, min(len(alliance.pilots), rng.randint(6, 25)))
    victim = rng.choice(ctx.world.independents)
    pool = "freighter" if rng.random() < 0.4 else "hauler"
    ship = rng.choice(ctx.universe.hulls[pool])

    destroyers = ctx.universe.hulls["destroyer"]
    hull_of = {p.character_id: rng.choice(destroyers[:4]) for p in gankers}
    gate = _gate(rng, system)
    kills = [
        Kill(
            start,
            system,
            ship,
            victim.character_id,
            victim.corporation_id,
            victim.alliance_id,
            [_attacker(p, hull_of[p.character_id]) for p in gankers],
            gate,
            label="ganked",
        )
    ]

    faction, corporation, concord_ships = CONCORD
    for pilot in gankers:
        kills.append(
            Kill(
                start + rng.uniform(2.0, 25.0),
                system,
                hull_of[pilot.character_id],
                pilot.character_id,
                pilot.corporation_id,
                pilot.alliance_id,
                [(None, corporation, None, faction, rng.choice(concord_ships), 0.0)],
                gate,
            )
        )
    return kills


# (scenario, probability per drawn scenario); with the kill counts above,
# fights give about half of all kills, solo and NPC kills a sixth each.
SCENARIOS: tuple[tuple[str, float], ...] = (
    ("battle", 0.04),
    ("skirmish", 0.15),
    ("massacre", 0.015),
    ("solo", 0.38),
    ("gate_camp", 0.02),
    ("npc", 0.35),
    ("structure", 0.025),
    ("gank", 0.02),
)


def draw_scenario(ctx: Context, start: float) -> list[Kill]:
    """Draw one scenario by :data:`SCENARIOS` and return its kills."""
    name = ctx.rng.choices([s[0] for s in SCENARIOS], [s[1] for s in SCENARIOS])[0]
    if name in ("battle", "skirmish", "massacre"):
        return fight(ctx, start, name)
    if name == "solo":
        return solo(ctx, start)
    if name == "gate_camp":
        return gate_camp(ctx, start)
    if name == "npc":
        return npc_kill(ctx, start)
    if name == "structure":
        return structure_kill(ctx, start)
    return gank(ctx, start)

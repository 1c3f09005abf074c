"""The generated population: alliances, corporations and persistent pilots.

The population is drawn once per seed and does not depend on how many
killmails are requested, so a shorter run is a prefix of a longer one.
Alliances are grouped into coalitions that fight each other. Every pilot
has one fleet role and two or three hulls for it, flown in that order. So
the same pilot shows up in the same ship types fight after fight, and
reships into the next hull after a loss.

Character, corporation and alliance ids lie past 2^31, outside the ranges
of real ones: players' from 90,000,000 to 2,147,483,647 (the largest id
ESI's int32 fields take) and NPCs' below 10,000,000, by the ID ranges page
of the EVE developer documentation. So a generated entity never shares an
id with a real one, ESI is never asked about one, and generated and real
killmails can be imported into one database.
"""

from __future__ import annotations

import dataclasses
import random

from evedmv_tui.generate.universe import Universe

CHARACTER_ID_BASE = 3_000_000_000
"""Generated character ids lie from here to 60,000,000 above."""
CORPORATION_ID_BASE = 3_100_000_000
"""Generated corporation ids count up from here, by 50 to 5,000 each."""
ALLIANCE_ID_BASE = 3_200_000_000
"""Generated alliance ids lie from here to 211 per alliance above."""

# Fleet roles and the hull pools a pilot of that role picks from.
ROLE_POOLS: dict[str, tuple[str, ...]] = {
    "dps": ("hac", "battlecruiser", "battleship", "cruiser", "destroyer"),
    "logistics": ("logistics",),
    "tackle": ("tackle", "frigate"),
    "fleet_command": ("command",),
    "interdictor": ("interdictor",),
    "heavy_interdictor": ("heavy_interdictor",),
    "recon": ("recon", "bomber"),
    "capital": ("dreadnought", "carrier", "force_auxiliary"),
    "supercapital": ("supercarrier", "titan"),
}
ROLE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("dps", 0.66),
    ("logistics", 0.10),
    ("tackle", 0.09),
    ("fleet_command", 0.02),
    ("interdictor", 0.04),
    ("heavy_interdictor", 0.015),
    ("recon", 0.035),
    ("capital", 0.03),
    ("supercapital", 0.01),
)


@dataclasses.dataclass(slots=True)
class Pilot:
    character_id: int
    corporation_id: int
    alliance_id: int | None
    role: str
    ships: tuple[int, ...]
    """Hulls in the order this pilot flies them; a loss moves to the next."""
    security_status: float
    ship_index: int = 0

    @property
    def ship(self) -> int:
        return self.ships[self.ship_index % len(self.ships)]


@dataclasses.dataclass(slots=True)
class Alliance:
    alliance_id: int
    corporation_ids: list[int]
    pilots: list[Pilot]


@dataclasses.dataclass(slots=True)
class World:
    alliances: list[Alliance]
    coalitions: list[list[Alliance]]
    independents: list[Pilot]
    """Pilots of corporations without an alliance: haulers, miners, roamers."""
    all_pilots: list[Pilot]


def _character_id(rng: random.Random, used: set[int]) -> int:
    while True:
        # Three bands of 8, 12 and 40 million ids, drawn with the same calls
        # as when the bands lay in ESI's character ranges. So a seed draws
        # the same fights, ships and times as it did then; only ids moved.
        draw = rng.random()
        if draw < 0.25:
            offset = rng.randrange(8_000_000)
        elif draw < 0.85:
            offset = 8_000_000 + rng.randrange(12_000_000)
        else:
            offset = 20_000_000 + rng.randrange(40_000_000)
        candidate = CHARACTER_ID_BASE + offset
        if candidate not in used:
            used.add(candidate)
            return candidate


def _pick_role(rng: random.Random) -> str:
    draw = rng.random()
    for role, weight in ROLE_WEIGHTS:
        draw -= weight
        if draw < 0:
            return role
    return "dps"


def _ships_for(
    rng: random.Random, universe: Universe, role: str, doctrine: tuple[int, ...]
) -> tuple[int, ...]:
    if role == "dps" and doctrine and rng.random() < 0.8:
        first = rng.choice(doctrine)
    else:
        first = rng.choice(universe.hulls[rng.choice(ROLE_POOLS[role])])
    second = rng.choice(universe.hulls[rng.choice(ROLE_POOLS[role])])
    cheap = rng.choice(universe.hulls[rng.choice(("cruiser", "frigate", "destroyer"))])
    if role in ("capital", "supercapital"):
        return (first, second)
    return (first, second, cheap)


def build_world(
    rng: random.Random,
    universe: Universe,
    *,
    alliances: int = 60,
    independent_corporations: int = 250,
) -> World:
    """Draw the population: alliances with corporations and pilots, and loners."""
    used_characters: set[int] = set()
    next_corporation = CORPORATION_ID_BASE + rng.randrange(1000)
    result: list[Alliance] = []
    for index in range(alliances):
        alliance_id = ALLIANCE_ID_BASE + index * 211 + rng.randrange(200)
        doctrine_pool = rng.choice(ROLE_POOLS["dps"][:3])
        doctrine = tuple(rng.sample(universe.hulls[doctrine_pool], k=1))
        corporations: list[int] = []
        pilots: list[Pilot] = []
        for _ in range(rng.randint(3, 9)):
            next_corporation += rng.randint(50, 5000)
            corporations.append(next_corporation)
            for _ in range(rng.randint(10, 80)):
                role = _pick_role(rng)
                pilots.append(
                    Pilot(
                        _character_id(rng, used_characters),
                        next_corporation,
                        alliance_id,
                        role,
                        _ships_for(rng, universe, role, doctrine),
                        round(rng.uniform(-10.0, 5.0), 2),
                    )
                )
        result.append(Alliance(alliance_id, corporations, pilots))

    independents: list[Pilot] = []
    for _ in range(independent_corporations):
        next_corporation += rng.randint(50, 5000)
        for _ in range(rng.randint(1, 12)):
            pool = rng.choice(("hauler", "mining", "frigate", "cruiser", "shuttle"))
            ships = (
                rng.choice(universe.hulls[pool]),
                rng.choice(universe.hulls["hauler"]),
                rng.choice(universe.hulls["rookie"]),
            )
            independents.append(
                Pilot(
                    _character_id(rng, used_characters),
                    next_corporation,
                    None,
                    "independent",
                    ships,
                    round(rng.uniform(-2.0, 5.0), 2),
                )
            )

    order = list(result)
    rng.shuffle(order)
    coalitions: list[list[Alliance]] = []
    while order:
        size = min(len(order), rng.randint(1, 4))
        coalitions.append(order[:size])
        order = order[size:]
    everyone = [p for a in result for p in a.pilots] + independents
    return World(result, coalitions, independents, everyone)

"""Made-up names for the characters, corporations and alliances of a seed.

Generated pilots, corporations and alliances have no names anywhere, so a
demo would show bare ids and find nothing by name. The generator draws them
itself (:func:`evedmv_tui.generate.generated_world`), so
:func:`store_generated_names` names exactly those entities: never an id of
a real killmail stored beside them, and never an id ESI resolves, because
generated ids lie past 2^31 (see :mod:`evedmv_tui.generate.world`).

An entity's name comes from two word lists and a Roman numeral, by its
place in the seed's population. So a seed always gives the same names, and
no two entities of one kind in one seed share a name. Two seeds loaded into
one database do share names, for different ids: the first character of
either seed is "Aria Arkon". That is harmless for lookups, because every
list of several matches shows the ids, pages are opened by id, and a name
typed that matches two entities prompts for the one meant.

The NPC corporations and factions the generator uses get their real names.
The rows are stored with :data:`~evedmv_tui.names.NOT_FETCHED` as their
fetch time, because they did not come from ESI. Existing names are never
replaced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from evedmv_tui.generate.world import World
from evedmv_tui.names import NOT_FETCHED
from evedmv_tui.store.db import Database, NamedSql
from evedmv_tui.store.telemetry import operation

NPC_NAMES: dict[int, tuple[str, str]] = {
    500006: ("faction", "CONCORD Assembly"),
    500010: ("faction", "Guristas Pirates"),
    500011: ("faction", "Angel Cartel"),
    500019: ("faction", "Sansha's Nation"),
    500020: ("faction", "Serpentis"),
    1000125: ("corporation", "CONCORD"),
    1000127: ("corporation", "Guristas"),
    1000124: ("corporation", "Archangels"),
    1000162: ("corporation", "True Power"),
    1000135: ("corporation", "Serpentis Corporation"),
}
"""Real names of the NPC factions and corporations the generator uses."""

_ADJECTIVES = [
    "Amber",
    "Ashen",
    "Black",
    "Brave",
    "Crimson",
    "Distant",
    "Ember",
    "Frozen",
    "Gilded",
    "Hollow",
    "Iron",
    "Jade",
    "Lunar",
    "Molten",
    "Northern",
    "Obsidian",
    "Pale",
    "Quiet",
    "Radiant",
    "Silent",
    "Solar",
    "Stellar",
    "Storm",
    "Sunken",
    "Twin",
    "Umbral",
    "Veiled",
    "Void",
    "Wandering",
    "White",
    "Wild",
    "Azure",
]
_NOUNS = [
    "Anvil",
    "Arrow",
    "Beacon",
    "Blade",
    "Comet",
    "Covenant",
    "Crown",
    "Dawn",
    "Drift",
    "Eclipse",
    "Engine",
    "Forge",
    "Frontier",
    "Harbor",
    "Horizon",
    "Lantern",
    "Legion",
    "Meridian",
    "Nebula",
    "Oath",
    "Orbit",
    "Pulse",
    "Raven",
    "Reach",
    "Relay",
    "Serpent",
    "Shard",
    "Spire",
    "Tide",
    "Vanguard",
    "Warden",
    "Zenith",
]
_GIVEN = [
    "Aria",
    "Bren",
    "Cass",
    "Dara",
    "Eron",
    "Fyn",
    "Galen",
    "Hale",
    "Iris",
    "Jorin",
    "Kael",
    "Lira",
    "Mako",
    "Nia",
    "Oren",
    "Pell",
    "Quinn",
    "Rhea",
    "Soren",
    "Tala",
    "Ulric",
    "Vesna",
    "Wren",
    "Xan",
    "Yara",
    "Zed",
    "Ash",
    "Bex",
]
_FAMILY = [
    "Arkon",
    "Belmont",
    "Corvain",
    "Draxis",
    "Elwood",
    "Faust",
    "Garrow",
    "Holt",
    "Imara",
    "Jarek",
    "Kestrel",
    "Lorne",
    "Morrow",
    "Naros",
    "Okafor",
    "Prax",
    "Quell",
    "Rusk",
    "Sable",
    "Thorne",
    "Usari",
    "Vance",
    "Wexley",
    "Yorke",
    "Zahir",
    "Adler",
    "Brandt",
    "Calder",
]


_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(number: int) -> str:
    """Return ``number`` (1 or more) in Roman numerals: 4 is ``IV``, 14 ``XIV``."""
    if number < 1:
        raise ValueError(f"Roman numerals start at 1, got {number}")
    parts: list[str] = []
    for value, letters in _ROMAN:
        count, number = divmod(number, value)
        parts.append(letters * count)
    return "".join(parts)


def _two_words(first: list[str], second: list[str], number: int) -> str:
    """Return the name numbered ``number`` (from 0) from two word lists.

    The word pairs repeat every ``len(first) * len(second)`` numbers. Each
    repeat adds the next Roman numeral (none, II, III and so on), so every
    number gets a name of its own.
    """
    pairs = len(first) * len(second)
    words = f"{first[number % len(first)]} {second[number // len(first) % len(second)]}"
    repeat = number // pairs
    return words if repeat == 0 else f"{words} {roman(repeat + 1)}"


def character_name(number: int) -> str:
    """Return the made-up name of the character numbered ``number``."""
    return _two_words(_GIVEN, _FAMILY, number)


def group_name(number: int, suffix: str) -> str:
    """Return the made-up name of a corporation or alliance, with its suffix."""
    return f"{_two_words(_ADJECTIVES, _NOUNS, number)} {suffix}"


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratedName:
    """One entity of a generated population and its made-up name."""

    entity_id: int
    category: str
    """``character``, ``corporation``, ``alliance`` or ``faction``."""
    name: str


def generated_names(world: World) -> Iterator[GeneratedName]:
    """Yield a name for every character, corporation and alliance of ``world``.

    Characters are numbered in population order, corporations in the order
    they were drawn, alliances by their index. The NPC corporations and
    factions follow with their real names.
    """
    for number, pilot in enumerate(world.all_pilots):
        yield GeneratedName(pilot.character_id, "character", character_name(number))
    corporations = dict.fromkeys(
        [c for alliance in world.alliances for c in alliance.corporation_ids]
        + [pilot.corporation_id for pilot in world.independents]
    )
    for number, corporation_id in enumerate(corporations):
        yield GeneratedName(corporation_id, "corporation", group_name(number, "Corp"))
    for number, alliance in enumerate(world.alliances):
        yield GeneratedName(
            alliance.alliance_id, "alliance", group_name(number, "Alliance")
        )
    for entity_id, (category, name) in NPC_NAMES.items():
        yield GeneratedName(entity_id, category, name)


STORE = NamedSql(
    "generate.store_names",
    "INSERT INTO names (entity_id, category, name, fetched_at)"
    " SELECT id, category, name, %(fetched_at)s"
    " FROM unnest(%(ids)s::bigint[], %(categories)s::text[], %(names)s::text[])"
    "     AS generated (id, category, name)"
    " ON CONFLICT (entity_id) DO NOTHING",
)


def store_generated_names(db: Database, world: World) -> int:
    """Name every entity of ``world`` that has no name yet; return the rows added.

    Pass the world of the seed and universe the killmails were generated
    with (:func:`evedmv_tui.generate.generated_world`).
    """
    rows = list(generated_names(world))
    with operation("generate.names"):
        return db.execute(
            STORE,
            {
                "ids": [row.entity_id for row in rows],
                "categories": [row.category for row in rows],
                "names": [row.name for row in rows],
                "fetched_at": NOT_FETCHED,
            },
        )

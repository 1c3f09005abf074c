"""Made-up names for the ids in generated killmails.

Generated pilots, corporations and alliances have no names anywhere, so a
demo would show bare ids, find nothing by name, and ask ESI about ids that
do not exist. :func:`store_generated_names` gives each such id in the
database a name drawn from word lists by the id itself, so the same id
always gets the same name. NPC corporations and factions of the generator
get their real names. Existing names are never replaced.
"""

from __future__ import annotations

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


def _sql_array(words: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def _two_words(first: list[str], second: list[str], suffix: str) -> str:
    """Return SQL naming ``id`` from two word lists, then ``suffix``."""
    return (
        f"({_sql_array(first)})[1 + mod(id, {len(first)})] || ' ' ||"
        f" ({_sql_array(second)})[1 + mod(id / {len(first)}, {len(second)})]"
        f" || '{suffix}'"
    )


STORE = NamedSql(
    "generate.store_names",
    f"""
WITH ids AS (
    SELECT victim_character_id AS id, 'character' AS category FROM killmails
    UNION SELECT victim_corporation_id, 'corporation' FROM killmails
    UNION SELECT victim_alliance_id, 'alliance' FROM killmails
    UNION SELECT character_id, 'character' FROM attackers
    UNION SELECT corporation_id, 'corporation' FROM attackers
    UNION SELECT alliance_id, 'alliance' FROM attackers
),
named AS (
    SELECT id, category,
           CASE category
               WHEN 'character' THEN {_two_words(_GIVEN, _FAMILY, "")}
               WHEN 'corporation' THEN {_two_words(_ADJECTIVES, _NOUNS, " Corp")}
               ELSE {_two_words(_ADJECTIVES, _NOUNS, " Alliance")}
           END AS name
    FROM ids
    WHERE id IS NOT NULL AND id <> ALL(%(npc_ids)s)
)
INSERT INTO names (entity_id, category, name)
SELECT id, category, name FROM named
UNION ALL
SELECT npc.id, npc.category, npc.name
FROM unnest(%(npc_ids)s::bigint[], %(npc_categories)s::text[], %(npc_names)s::text[])
    AS npc (id, category, name)
ON CONFLICT (entity_id) DO NOTHING
""",
)


def store_generated_names(db: Database) -> int:
    """Name every unnamed entity of the stored killmails; return the rows added."""
    npc_ids = list(NPC_NAMES)
    with operation("generate.names"):
        return db.execute(
            STORE,
            {
                "npc_ids": npc_ids,
                "npc_categories": [NPC_NAMES[i][0] for i in npc_ids],
                "npc_names": [NPC_NAMES[i][1] for i in npc_ids],
            },
        )

"""Made-up names for the ids in generated killmails.

Generated pilots, corporations and alliances have no names anywhere, so a
demo would show bare ids, find nothing by name, and ask ESI about ids that
do not exist. :func:`store_generated_names` gives each such id in the
database a name drawn from word lists by its place in id order among the
entities of its kind. The same killmails get the same names, and up to
23,520 characters (30,720 corporations or alliances) get different ones.
NPC corporations and factions of the generator get their real names.
Existing names are never replaced.
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


_NUMERALS = [
    "",
    *(
        f" {numeral}"
        for numeral in [
            "II",
            "III",
            "IV",
            "V",
            "VI",
            "VII",
            "VIII",
            "IX",
            "X",
            "XI",
            "XII",
            "XIII",
            "XIV",
            "XV",
            "XVI",
            "XVII",
            "XVIII",
            "XIX",
            "XX",
            "XXI",
            "XXII",
            "XXIII",
            "XXIV",
            "XXV",
            "XXVI",
            "XXVII",
            "XXVIII",
            "XXIX",
            "XXX",
        ]
    ),
]
"""Suffixes that tell apart entities whose two words are the same."""


def _two_words(first: list[str], second: list[str], suffix: str) -> str:
    """Return SQL naming the entity numbered ``n`` from two word lists and a numeral.

    The word pairs repeat every ``len(first) * len(second)`` numbers; the
    numeral (none, II, III and so on) makes 30 times as many numbers unique.
    """
    pairs = len(first) * len(second)
    return (
        f"({_sql_array(first)})[1 + mod(n, {len(first)})] || ' ' ||"
        f" ({_sql_array(second)})[1 + mod(n / {len(first)}, {len(second)})]"
        f" || ({_sql_array(_NUMERALS)})[1 + mod(n / {pairs}, {len(_NUMERALS)})]"
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
unnamed AS (
    SELECT id, category FROM ids
    WHERE id IS NOT NULL AND id <> ALL(%(npc_ids)s)
      AND NOT EXISTS (SELECT 1 FROM names n WHERE n.entity_id = ids.id)
),
numbered AS (
    -- Number new entities of each kind after those already named, in id
    -- order, so that consecutive numbers get different names.
    SELECT id, category,
           row_number() OVER (PARTITION BY category ORDER BY id) - 1
           + (SELECT count(*) FROM names n WHERE n.category = unnamed.category) AS n
    FROM unnamed
),
named AS (
    SELECT id, category,
           CASE category
               WHEN 'character' THEN {_two_words(_GIVEN, _FAMILY, "")}
               WHEN 'corporation' THEN {_two_words(_ADJECTIVES, _NOUNS, " Corp")}
               ELSE {_two_words(_ADJECTIVES, _NOUNS, " Alliance")}
           END AS name
    FROM numbered
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

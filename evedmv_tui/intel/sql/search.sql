-- Characters, corporations, alliances and solar systems whose name starts
-- with %(prefix)s, contains %(contains)s (NULL below three characters), or
-- whose id is %(entity_id)s. Both patterns are lower case with LIKE escapes.
-- They are parameters rather than columns, because only then can the
-- planner use the text_pattern_ops indexes for the prefix and the trigram
-- indexes for the substring (migration 0200). The id match ranks first,
-- then the exact name, prefixes, substrings at the start of a later word
-- (%(word)s) and other substrings, shorter names first.
--
-- An id that has no stored name (an entity ESI was never asked about, a
-- system missing from the static data) still matches when a killmail names
-- it, with a NULL name. Each such check is one probe of the index on that
-- column in every partition.
WITH found AS (
    SELECT n.category AS kind, n.entity_id, n.name
    FROM names n
    WHERE n.category IN ('character', 'corporation', 'alliance')
      AND (lower(n.name) LIKE %(prefix)s
           OR lower(n.name) LIKE %(contains)s
           OR n.entity_id = %(entity_id)s)
    UNION ALL
    SELECT 'solar_system', s.solar_system_id, s.solar_system_name
    FROM solar_systems s
    WHERE lower(s.solar_system_name) LIKE %(prefix)s
       OR lower(s.solar_system_name) LIKE %(contains)s
       OR s.solar_system_id = %(entity_id)s
    UNION ALL
    SELECT unnamed.kind, CAST(%(entity_id)s AS bigint), NULL
    FROM (
        SELECT 'character' AS kind
        WHERE EXISTS (SELECT 1 FROM attackers
                      WHERE character_id = %(entity_id)s)
           OR EXISTS (SELECT 1 FROM killmails
                      WHERE victim_character_id = %(entity_id)s)
        UNION ALL
        SELECT 'corporation'
        WHERE EXISTS (SELECT 1 FROM attackers
                      WHERE corporation_id = %(entity_id)s)
           OR EXISTS (SELECT 1 FROM killmails
                      WHERE victim_corporation_id = %(entity_id)s)
        UNION ALL
        SELECT 'alliance'
        WHERE EXISTS (SELECT 1 FROM attackers
                      WHERE alliance_id = %(entity_id)s)
           OR EXISTS (SELECT 1 FROM killmails
                      WHERE victim_alliance_id = %(entity_id)s)
    ) unnamed
    WHERE NOT EXISTS (SELECT 1 FROM names WHERE entity_id = %(entity_id)s)
    UNION ALL
    SELECT 'solar_system', CAST(%(entity_id)s AS bigint), NULL
    WHERE EXISTS (SELECT 1 FROM killmails
                  WHERE solar_system_id = %(entity_id)s)
      AND NOT EXISTS (SELECT 1 FROM solar_systems
                      WHERE solar_system_id = %(entity_id)s)
)
SELECT kind, entity_id, name,
       CASE
           WHEN entity_id = %(entity_id)s THEN 0
           WHEN lower(name) = lower(%(text)s) THEN 1
           WHEN lower(name) LIKE %(prefix)s THEN 2
           WHEN lower(name) LIKE %(word)s THEN 3
           ELSE 4
       END AS rank
FROM found
ORDER BY rank, length(name), name, entity_id
LIMIT %(limit)s

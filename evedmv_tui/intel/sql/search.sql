-- Characters, corporations, alliances and solar systems whose name starts
-- with %(prefix)s or contains %(contains)s (NULL below three characters), or
-- whose id is %(entity_id)s; both patterns are lower case with LIKE escapes.
-- The patterns are parameters rather than columns so the planner can use the
-- text_pattern_ops indexes for the prefix and the trigram indexes for the
-- substring (migration 0200). Exact names rank first, then prefixes, then
-- substrings; shorter names first within each rank.
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
)
SELECT kind, entity_id, name,
       CASE
           WHEN entity_id = %(entity_id)s THEN 0
           WHEN lower(name) = lower(%(text)s) THEN 1
           WHEN lower(name) LIKE %(prefix)s THEN 2
           ELSE 3
       END AS rank
FROM found
ORDER BY rank, length(name), name, entity_id
LIMIT %(limit)s

-- Characters, corporations, alliances and solar systems whose name starts
-- with or (from three characters on) contains %(text)s, or whose id is
-- %(entity_id)s. Prefix matches use the text_pattern_ops indexes, substring
-- matches the trigram indexes of migration 0200. Exact names rank first,
-- then prefixes, then substrings; shorter names first within each rank.
WITH query AS (
    SELECT lower(%(text)s) AS text,
           %(prefix)s::text AS prefix,
           %(contains)s::text AS contains
),
named AS (
    SELECT n.category AS kind, n.entity_id, n.name
    FROM names n, query q
    WHERE n.category IN ('character', 'corporation', 'alliance')
      AND (lower(n.name) LIKE q.prefix
           OR (q.contains IS NOT NULL AND lower(n.name) LIKE q.contains)
           OR n.entity_id = %(entity_id)s)
),
systems AS (
    SELECT 'solar_system' AS kind, s.solar_system_id AS entity_id,
           s.solar_system_name AS name
    FROM solar_systems s, query q
    WHERE lower(s.solar_system_name) LIKE q.prefix
       OR (q.contains IS NOT NULL AND lower(s.solar_system_name) LIKE q.contains)
       OR s.solar_system_id = %(entity_id)s
),
found AS (
    SELECT * FROM named
    UNION ALL
    SELECT * FROM systems
)
SELECT f.kind, f.entity_id, f.name,
       CASE
           WHEN f.entity_id = %(entity_id)s THEN 0
           WHEN lower(f.name) = q.text THEN 1
           WHEN lower(f.name) LIKE q.prefix THEN 2
           ELSE 3
       END AS rank
FROM found f, query q
ORDER BY rank, length(f.name), f.name, f.entity_id
LIMIT %(limit)s

-- Entities of one category whose name equals %(name)s ignoring case, or,
-- when none does, whose name starts with it (%(prefix)s) or has a later
-- word that starts with it (%(word)s, NULL below three characters, where
-- the trigram index cannot help). Up to %(limit)s of them: exact matches,
-- then name prefixes, then the rest, each alphabetically. Both patterns are
-- lower case with LIKE escapes. Each row also carries how many entities
-- match in all, counted up to %(count_limit)s.
WITH exact AS (
    SELECT entity_id, name FROM names
    WHERE category = %(category)s AND lower(name) = lower(%(name)s)
),
partial AS (
    SELECT entity_id, name, lower(name) NOT LIKE %(prefix)s AS later_word
    FROM names
    WHERE category = %(category)s
      AND (lower(name) LIKE %(prefix)s OR lower(name) LIKE %(word)s)
      AND NOT EXISTS (SELECT 1 FROM exact)
),
matches AS (
    SELECT entity_id, name, 0 AS rank FROM exact
    UNION ALL
    SELECT entity_id, name, CASE WHEN later_word THEN 2 ELSE 1 END FROM partial
),
total AS (
    SELECT count(*) AS total
    FROM (SELECT 1 FROM matches LIMIT %(count_limit)s) AS capped
)
SELECT entity_id, name, total
FROM (
    SELECT entity_id, name, rank FROM matches
    ORDER BY rank, lower(name), name, entity_id
    LIMIT %(limit)s
) AS listed
CROSS JOIN total
ORDER BY rank, lower(name), name, entity_id

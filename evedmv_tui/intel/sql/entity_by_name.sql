-- Entities of one category whose name equals %(name)s ignoring case, or,
-- when none does, whose name starts with it (%(prefix)s) or has a later
-- word that starts with it (%(word)s, NULL below three characters, where
-- the trigram index cannot help). Up to %(limit)s of them, name prefixes
-- first, then shorter names. Both patterns are lower case with LIKE escapes.
WITH exact AS (
    SELECT entity_id, name FROM names
    WHERE category = %(category)s AND lower(name) = lower(%(name)s)
),
partial AS (
    SELECT entity_id, name FROM names
    WHERE category = %(category)s
      AND (lower(name) LIKE %(prefix)s OR lower(name) LIKE %(word)s)
      AND NOT EXISTS (SELECT 1 FROM exact)
    ORDER BY lower(name) NOT LIKE %(prefix)s, length(name), name
    LIMIT %(limit)s
)
SELECT entity_id, name FROM exact
UNION ALL
SELECT entity_id, name FROM partial
ORDER BY name, entity_id

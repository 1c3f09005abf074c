-- Entities of one category whose name equals %(name)s ignoring case, or,
-- when none does, whose name starts with it (up to %(limit)s of them).
WITH exact AS (
    SELECT entity_id, name FROM names
    WHERE category = %(category)s AND lower(name) = lower(%(name)s)
),
prefix AS (
    SELECT entity_id, name FROM names
    WHERE category = %(category)s
      AND lower(name) LIKE %(prefix)s
      AND NOT EXISTS (SELECT 1 FROM exact)
    ORDER BY length(name), name
    LIMIT %(limit)s
)
SELECT entity_id, name FROM exact
UNION ALL
SELECT entity_id, name FROM prefix
ORDER BY name, entity_id

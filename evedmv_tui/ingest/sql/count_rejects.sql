-- Number of rejected records, of one import or of all, and how many of them
-- are resolved (the view reject_states defines when).
SELECT count(*) AS total,
       count(*) FILTER (WHERE r.resolved) AS resolved
FROM reject_states AS r
WHERE %(import_id)s::bigint IS NULL
   OR EXISTS (SELECT 1
              FROM reject_imports AS i
              WHERE i.reject_id = r.reject_id
                AND i.import_id = %(import_id)s::bigint)

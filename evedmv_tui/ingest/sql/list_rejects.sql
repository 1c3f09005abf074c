-- Rejected records, the most recently rejected first, of one import or of
-- all, with every import that rejected each of them, oldest first, and
-- whether each is resolved (the view reject_states defines when).
-- %(resolved)s chooses: NULL for every reject, false or true for one kind;
-- %(killmail_id)s, unless NULL, keeps the rejects of one killmail.
WITH listed AS (
    SELECT r.*
    FROM reject_states AS r
    WHERE (%(killmail_id)s::bigint IS NULL
           OR r.killmail_id = %(killmail_id)s::bigint)
      AND (%(import_id)s::bigint IS NULL
           OR EXISTS (SELECT 1
                      FROM reject_imports AS i
                      WHERE i.reject_id = r.reject_id
                        AND i.import_id = %(import_id)s::bigint))
)
SELECT l.reject_id, l.import_id, l.rejected_at, l.source_file, l.position,
       l.killmail_id, l.field, l.reason, l.raw,
       ARRAY(SELECT i.import_id
             FROM reject_imports AS i
             WHERE i.reject_id = l.reject_id
             ORDER BY i.import_id) AS import_ids,
       l.resolved, l.dismissed_at
FROM listed AS l
WHERE %(resolved)s::boolean IS NULL OR l.resolved = %(resolved)s::boolean
-- A record rejected again moves up: rejected_at is its latest rejection,
-- the time every list shows.
ORDER BY l.rejected_at DESC, l.reject_id DESC
LIMIT %(limit)s

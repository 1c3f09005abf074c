-- Rejected records, the most recently rejected first, of one import or of
-- all, with every import that rejected each of them, oldest first. A reject is resolved when
-- the body of its killmail was stored after the record was last rejected
-- (a fixed record imported again, or the body fetched from ESI), or when it
-- was dismissed: dismissed_at is set by 'evedmv rejects dismiss' and cleared
-- when the record is rejected again. A reject without a killmail id (a whole
-- file, or a record whose id cannot be read) is also resolved by a later
-- import that read its file to the end. That import started after the record
-- was last rejected, finished, has the same source_file among its paths, and
-- has no file-level reject of that file (the reject of a file's unreadable
-- rest: no text, position 'byte N').
-- NOTE: an import that an error stopped part way (other than Ctrl-C or a
-- lost connection) also gets finished_at, so it counts as having read the
-- files it never reached.
-- %(resolved)s chooses: NULL for every reject, false or true for one kind;
-- %(killmail_id)s, unless NULL, keeps the rejects of one killmail.
WITH listed AS (
    SELECT r.*,
           r.dismissed_at IS NOT NULL
           OR EXISTS (SELECT 1
                   FROM killmail_index AS k
                   JOIN killmails AS m
                     ON m.killmail_id = k.killmail_id
                    AND m.killmail_time = k.killmail_time
                   WHERE k.killmail_id = r.killmail_id
                     AND k.state = 'stored'
                     AND m.inserted_at > r.rejected_at)
           OR (r.killmail_id IS NULL
            AND EXISTS (SELECT 1
                        FROM imports AS i
                        WHERE i.finished_at IS NOT NULL
                          AND i.started_at > r.rejected_at
                          AND r.source_file = ANY (i.paths)
                          AND NOT EXISTS (SELECT 1
                                          FROM reject_imports AS ri
                                          JOIN rejects AS f
                                            ON f.reject_id = ri.reject_id
                                          WHERE ri.import_id = i.import_id
                                            AND f.source_file = r.source_file
                                            AND f.raw = ''
                                            AND f.position LIKE 'byte %%'))) AS resolved
    FROM rejects AS r
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

-- Number of rejected records, of one import or of all, and how many of them
-- are resolved: the body of their killmail was stored after the record was
-- last rejected, the reject was dismissed, or, for a reject without a
-- killmail id, a later import read its file to the end (see
-- list_rejects.sql).
SELECT count(*) AS total,
       count(*) FILTER (
           WHERE r.dismissed_at IS NOT NULL
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
                                                  AND f.position LIKE 'byte %%')))
       ) AS resolved
FROM rejects AS r
WHERE %(import_id)s::bigint IS NULL
   OR EXISTS (SELECT 1
              FROM reject_imports AS i
              WHERE i.reject_id = r.reject_id
                AND i.import_id = %(import_id)s::bigint)

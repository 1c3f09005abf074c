-- Rejected records, newest first, of one import or of all, with every
-- import that rejected each of them, oldest first.
SELECT r.reject_id, r.import_id, r.rejected_at, r.source_file, r.position,
       r.killmail_id, r.field, r.reason, r.raw,
       ARRAY(SELECT i.import_id
             FROM reject_imports AS i
             WHERE i.reject_id = r.reject_id
             ORDER BY i.import_id) AS import_ids
FROM rejects AS r
WHERE %(import_id)s::bigint IS NULL
   OR EXISTS (SELECT 1
              FROM reject_imports AS i
              WHERE i.reject_id = r.reject_id
                AND i.import_id = %(import_id)s::bigint)
ORDER BY r.reject_id DESC
LIMIT %(limit)s

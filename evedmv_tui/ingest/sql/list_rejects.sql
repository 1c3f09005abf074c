-- Rejected records, newest first, of one import or of all.
SELECT reject_id, import_id, rejected_at, source_file, position, killmail_id,
       field, reason, raw
FROM rejects
WHERE %(import_id)s::bigint IS NULL OR import_id = %(import_id)s::bigint
ORDER BY reject_id DESC
LIMIT %(limit)s

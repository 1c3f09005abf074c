-- Number of rejected records, of one import or of all.
SELECT count(*)
FROM rejects
WHERE %(import_id)s::bigint IS NULL OR import_id = %(import_id)s::bigint

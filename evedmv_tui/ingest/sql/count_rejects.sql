-- Number of rejected records, of one import or of all.
SELECT count(*)
FROM rejects AS r
WHERE %(import_id)s::bigint IS NULL
   OR EXISTS (SELECT 1
              FROM reject_imports AS i
              WHERE i.reject_id = r.reject_id
                AND i.import_id = %(import_id)s::bigint)

-- Rejected records of one batch. The same record from the same place in the
-- same file is kept once, however often it is imported, and its import_id is
-- the latest import that met it. Each import that met it also gets a row in
-- reject_imports. A prices import has no import_id and gets none. A record
-- rejected again is no longer dismissed, so it is unresolved again.
WITH stored AS (
    INSERT INTO rejects (import_id, source_file, position, killmail_id, field,
                         reason, raw, hash_conflict)
    SELECT %(import_id)s::bigint, r.*
    FROM unnest(
        %(source_file)s::text[], %(position)s::text[], %(killmail_id)s::bigint[],
        %(field)s::text[], %(reason)s::text[], %(raw)s::text[],
        %(hash_conflict)s::boolean[]
    ) AS r
    ON CONFLICT (source_file, position, raw_md5) DO UPDATE
    SET import_id = coalesce(excluded.import_id, rejects.import_id),
        field = excluded.field,
        reason = excluded.reason,
        hash_conflict = excluded.hash_conflict,
        rejected_at = now(),
        dismissed_at = NULL
    RETURNING reject_id
)
INSERT INTO reject_imports (reject_id, import_id)
SELECT reject_id, %(import_id)s::bigint
FROM stored
WHERE %(import_id)s::bigint IS NOT NULL
ON CONFLICT DO NOTHING

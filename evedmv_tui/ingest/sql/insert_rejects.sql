-- Rejected records of one batch. The same record from the same place in the
-- same file is kept once, however often it is imported, and belongs to the
-- latest import that met it.
INSERT INTO rejects (import_id, source_file, position, killmail_id, field,
                     reason, raw)
SELECT %(import_id)s::bigint, r.*
FROM unnest(
    %(source_file)s::text[], %(position)s::text[], %(killmail_id)s::bigint[],
    %(field)s::text[], %(reason)s::text[], %(raw)s::text[]
) AS r
ON CONFLICT (source_file, position, raw_md5) DO UPDATE
SET import_id = coalesce(excluded.import_id, rejects.import_id),
    field = excluded.field,
    reason = excluded.reason,
    rejected_at = now()

-- Rejected records of one batch; the same record from the same place in the
-- same file is kept once, however often it is imported.
INSERT INTO rejects (import_id, source_file, position, killmail_id, field,
                     reason, raw)
SELECT %(import_id)s::bigint, r.*
FROM unnest(
    %(source_file)s::text[], %(position)s::text[], %(killmail_id)s::bigint[],
    %(field)s::text[], %(reason)s::text[], %(raw)s::text[]
) AS r
ON CONFLICT (source_file, position, raw_md5) DO NOTHING

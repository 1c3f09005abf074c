-- Pending or invalid killmails whose body has now been stored.
UPDATE killmail_index AS i
SET state = 'stored',
    killmail_hash = u.killmail_hash,
    killmail_time = u.killmail_time,
    source = u.source,
    pending_zkb = NULL,
    last_error = NULL,
    updated_at = now()
FROM unnest(
    %(ids)s::bigint[], %(hashes)s::text[], %(times)s::timestamptz[],
    %(sources)s::text[]
) AS u (killmail_id, killmail_hash, killmail_time, source)
WHERE i.killmail_id = u.killmail_id

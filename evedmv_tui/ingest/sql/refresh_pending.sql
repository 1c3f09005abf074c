-- References to killmails still without a body: a new hash restarts the
-- fetch at once (and revives an invalid pair), and a new zkb block replaces
-- the old one.
UPDATE killmail_index AS i
SET state = 'pending',
    attempts = CASE WHEN i.killmail_hash = u.killmail_hash
                    THEN i.attempts ELSE 0 END,
    last_error = CASE WHEN i.killmail_hash = u.killmail_hash
                      THEN i.last_error END,
    next_try_at = CASE WHEN i.killmail_hash = u.killmail_hash
                       THEN i.next_try_at END,
    killmail_hash = u.killmail_hash,
    pending_zkb = coalesce(u.zkb::jsonb, i.pending_zkb),
    source = u.source,
    updated_at = now()
FROM unnest(
    %(ids)s::bigint[], %(hashes)s::text[], %(zkbs)s::text[], %(sources)s::text[]
) AS u (killmail_id, killmail_hash, zkb, source)
WHERE i.killmail_id = u.killmail_id

-- What is already known of a batch's killmail ids.
SELECT killmail_id, state, killmail_hash, killmail_time,
       pending_zkb::text AS pending_zkb
FROM killmail_index
WHERE killmail_id = ANY(%(ids)s::bigint[])

-- Give earlier rejects without a killmail id the id of the killmail that was
-- read later at the same place, such as a feed sequence whose body was cut
-- off and then read again. The view reject_states resolves such a reject once
-- the body of that killmail is stored, also when it was stored before.
UPDATE rejects AS r
SET killmail_id = p.killmail_id
FROM unnest(%(position)s::text[], %(killmail_id)s::bigint[])
    AS p (position, killmail_id)
WHERE r.source_file = %(source_file)s
  AND r.position = p.position
  AND r.killmail_id IS NULL

-- The battles among %(ids)s last written before %(before)s.
SELECT battle_id FROM battles
WHERE battle_id = ANY(%(ids)s::bigint[]) AND updated_at < %(before)s

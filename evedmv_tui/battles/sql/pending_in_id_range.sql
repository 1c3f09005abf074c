-- Killmails reported by id and hash whose body is still pending, with ids in
-- a range (the killmail ids of a battle's first and last kill by id).
SELECT count(*)::integer
FROM killmail_index
WHERE state = 'pending' AND killmail_id BETWEEN %s AND %s

-- The members of the given battles with the battle's end and their piece.
-- Both tables are filtered by the ids, or the planner hashes every battle.
SELECT m.battle_id, b.end_time, m.killmail_id, m.killmail_time, m.piece_id
FROM battle_killmails m
JOIN battles b ON b.battle_id = m.battle_id
WHERE m.battle_id = ANY(%(ids)s::bigint[])
  AND b.battle_id = ANY(%(ids)s::bigint[])
ORDER BY m.killmail_time, m.killmail_id

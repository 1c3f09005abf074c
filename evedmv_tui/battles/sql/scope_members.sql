SELECT b.battle_id, b.end_time, m.killmail_id
FROM battles b
JOIN battle_killmails m ON m.battle_id = b.battle_id
WHERE b.battle_id = ANY(%s::bigint[])

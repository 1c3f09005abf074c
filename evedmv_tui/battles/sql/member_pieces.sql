SELECT killmail_id, killmail_time, piece_id
FROM battle_killmails
WHERE battle_id = ANY(%s::bigint[])
ORDER BY killmail_time, killmail_id

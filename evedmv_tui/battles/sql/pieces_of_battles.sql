SELECT piece_id, battle_id, solar_system_id, start_time, end_time, pilots
FROM battle_pieces
WHERE battle_id = ANY(%s::bigint[])

DELETE FROM battles WHERE battle_id = ANY(%s::bigint[])

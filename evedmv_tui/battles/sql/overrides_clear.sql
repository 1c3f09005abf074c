DELETE FROM battle_side_overrides WHERE battle_id = %s

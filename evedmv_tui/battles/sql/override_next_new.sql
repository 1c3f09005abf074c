SELECT coalesce(max(new_side), 0) + 1 FROM battle_side_overrides WHERE battle_id = %s

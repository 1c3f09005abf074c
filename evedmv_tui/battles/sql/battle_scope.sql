SELECT solar_system_ids, start_time, end_time FROM battles WHERE battle_id = %s

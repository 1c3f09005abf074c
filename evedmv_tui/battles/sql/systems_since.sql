SELECT DISTINCT solar_system_id FROM killmails WHERE killmail_time >= %s

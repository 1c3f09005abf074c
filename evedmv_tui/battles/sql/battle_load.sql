SELECT battle_id, start_time, end_time, solar_system_ids, region_ids, kills, pilots,
       isk_destroyed, side_count, kind, confidence, changed, updated_at, metrics
FROM battles
WHERE battle_id = %s

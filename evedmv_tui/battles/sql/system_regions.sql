SELECT solar_system_id, region_id FROM solar_systems
WHERE solar_system_id = ANY(%s::bigint[])

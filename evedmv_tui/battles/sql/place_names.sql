SELECT 'type' AS kind, type_id AS place_id, type_name AS name
FROM types WHERE type_id = ANY(%s::bigint[])
UNION ALL
SELECT 'system', solar_system_id, solar_system_name
FROM solar_systems WHERE solar_system_id = ANY(%s::bigint[])
UNION ALL
SELECT 'region', region_id, region_name
FROM regions WHERE region_id = ANY(%s::bigint[])

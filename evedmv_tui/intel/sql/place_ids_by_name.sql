-- Solar system and region ids for names in any case. In the static data export
-- no two systems and no two regions share a name, case ignored.
SELECT 'system' AS kind, lower(solar_system_name) AS name, solar_system_id AS id
FROM solar_systems
WHERE lower(solar_system_name) = ANY(%(systems)s::text[])
UNION ALL
SELECT 'region', lower(region_name), region_id
FROM regions
WHERE lower(region_name) = ANY(%(regions)s::text[])

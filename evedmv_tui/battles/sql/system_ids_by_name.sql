SELECT lower(solar_system_name), solar_system_id
FROM solar_systems
WHERE lower(solar_system_name) = ANY(%s::text[])

-- Every watch profile with its match count and newest match.
SELECT p.profile_id, p.name, p.enabled, p.character_ids, p.corporation_ids,
       p.alliance_ids, p.solar_system_ids, p.region_ids, p.ship_type_ids,
       p.ship_classes, p.min_value, p.min_attackers, p.max_attackers,
       p.created_at, p.updated_at,
       coalesce(m.matches, 0) AS matches, m.last_match
FROM watch_profiles p
LEFT JOIN (
    SELECT profile_id, count(*) AS matches, max(killmail_time) AS last_match
    FROM watch_matches GROUP BY profile_id
) m USING (profile_id)
ORDER BY p.name

-- Every watch profile with its match count and newest match. The labels
-- follow the order of the system and region ids: the stored name, or the id
-- as text for a place missing from the static data.
SELECT p.profile_id, p.name, p.enabled, p.character_ids, p.corporation_ids,
       p.alliance_ids, p.solar_system_ids, p.region_ids, p.ship_type_ids,
       p.ship_classes, p.min_value, p.min_attackers, p.max_attackers,
       p.created_at, p.updated_at,
       coalesce(m.matches, 0) AS matches, m.last_match,
       ARRAY(
           SELECT coalesce(s.solar_system_name, u.id::text)
           FROM unnest(p.solar_system_ids) WITH ORDINALITY AS u (id, n)
           LEFT JOIN solar_systems s ON s.solar_system_id = u.id
           ORDER BY u.n
       ) AS system_labels,
       ARRAY(
           SELECT coalesce(r.region_name, u.id::text)
           FROM unnest(p.region_ids) WITH ORDINALITY AS u (id, n)
           LEFT JOIN regions r ON r.region_id = u.id
           ORDER BY u.n
       ) AS region_labels
FROM watch_profiles p
LEFT JOIN (
    SELECT profile_id, count(*) AS matches, max(killmail_time) AS last_match
    FROM watch_matches GROUP BY profile_id
) m USING (profile_id)
ORDER BY p.name

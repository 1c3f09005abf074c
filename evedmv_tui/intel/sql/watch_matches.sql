-- Recorded matches, newest first: of one profile when %(profile_id)s is set,
-- and only those after match %(after)s when it is set.
SELECT m.match_id, m.profile_id, p.name AS profile_name, m.killmail_id,
       m.killmail_time, m.matched_at, k.solar_system_id, k.victim_ship_type_id,
       k.total_value
FROM watch_matches m
JOIN watch_profiles p USING (profile_id)
LEFT JOIN killmails k
  ON k.killmail_id = m.killmail_id AND k.killmail_time = m.killmail_time
WHERE (%(profile_id)s::bigint IS NULL OR m.profile_id = %(profile_id)s::bigint)
  AND (%(after)s::bigint IS NULL OR m.match_id > %(after)s::bigint)
ORDER BY m.match_id DESC
LIMIT %(limit)s

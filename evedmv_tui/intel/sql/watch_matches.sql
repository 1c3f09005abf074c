-- Recorded matches, newest first: of one profile when %(profile_id)s is set,
-- and only those after match %(after)s when it is set. Newest is the latest
-- recorded, or the latest kill when %(by_time)s is true. The killmail columns
-- come from watch_match_killmails, so this statement never plans the
-- partitions of killmails.
SELECT m.match_id, m.profile_id, p.name AS profile_name, m.killmail_id,
       m.killmail_time, m.matched_at
FROM watch_matches m
JOIN watch_profiles p USING (profile_id)
WHERE (%(profile_id)s::bigint IS NULL OR m.profile_id = %(profile_id)s::bigint)
  AND (%(after)s::bigint IS NULL OR m.match_id > %(after)s::bigint)
ORDER BY CASE WHEN %(by_time)s THEN m.killmail_time END DESC, m.match_id DESC
LIMIT %(limit)s

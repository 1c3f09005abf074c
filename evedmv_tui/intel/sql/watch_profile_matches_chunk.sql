-- The next %(limit)s matches of profile %(profile_id)s after
-- (%(time)s, %(id)s) in (killmail_time, killmail_id) order, or from the first
-- when %(time)s is NULL, for checking them against changed conditions.
SELECT killmail_id, killmail_time
FROM watch_matches
WHERE profile_id = %(profile_id)s
  AND (%(time)s::timestamptz IS NULL
       OR (killmail_time, killmail_id) > (%(time)s::timestamptz, %(id)s::bigint))
ORDER BY killmail_time, killmail_id
LIMIT %(limit)s

-- The number of recorded matches of profile %(profile_id)s whose killmail is
-- from %(since)s on.
SELECT count(*)
FROM watch_matches
WHERE profile_id = %(profile_id)s
  AND killmail_time >= %(since)s

-- The system and time of the given killmails that lie in start..end.
SELECT solar_system_id, killmail_time
FROM killmails
WHERE killmail_id = ANY(%(ids)s::bigint[])
  AND killmail_time BETWEEN %(start)s AND %(end)s

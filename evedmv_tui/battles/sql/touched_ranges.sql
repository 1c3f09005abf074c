-- Per system, the time range of the given killmails that lie in start..end.
SELECT solar_system_id, min(killmail_time), max(killmail_time)
FROM killmails
WHERE killmail_id = ANY(%(ids)s::bigint[])
  AND killmail_time BETWEEN %(start)s AND %(end)s
GROUP BY solar_system_id

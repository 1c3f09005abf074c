-- The killmails of the given systems in a time range.
SELECT killmail_id
FROM killmails
WHERE solar_system_id = ANY(%s::bigint[])
  AND killmail_time BETWEEN %s AND %s

-- The next %(limit)s stored killmails after (%(time)s, %(id)s) in
-- (killmail_time, killmail_id) order, for matching a profile against what is
-- stored already. The time bound prunes the monthly partitions.
SELECT killmail_id, killmail_time
FROM killmails
WHERE killmail_time >= %(time)s
  AND (killmail_time, killmail_id) > (%(time)s, %(id)s)
ORDER BY killmail_time, killmail_id
LIMIT %(limit)s

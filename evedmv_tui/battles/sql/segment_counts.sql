-- Active segments: per system and segment of %(segment_seconds)s seconds, the
-- kills not flagged as NPC kills, where there are at least %(min_kills)s.
SELECT solar_system_id,
       floor(extract(epoch FROM killmail_time) / %(segment_seconds)s)::bigint
           AS segment,
       count(*)::integer AS kills
FROM killmails
WHERE npc IS NOT TRUE
  AND (%(start)s::timestamptz IS NULL OR killmail_time >= %(start)s::timestamptz)
  AND (%(end)s::timestamptz IS NULL OR killmail_time <= %(end)s::timestamptz)
  AND (%(systems)s::bigint[] IS NULL OR solar_system_id = ANY(%(systems)s::bigint[]))
GROUP BY 1, 2
HAVING count(*) >= %(min_kills)s

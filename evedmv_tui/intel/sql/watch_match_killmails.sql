-- The killmail columns shown with matches: killmails %(ids)s, all with
-- killmail_time between %(min_time)s and %(max_time)s. The time bounds are
-- parameters, not a join, so the planner prunes the monthly partitions of
-- killmails to those months.
SELECT killmail_id, killmail_time, solar_system_id, victim_ship_type_id,
       total_value
FROM killmails
WHERE killmail_id = ANY(%(ids)s::bigint[])
  AND killmail_time BETWEEN %(min_time)s AND %(max_time)s

-- Stored battles in any of the systems that overlap the time range.
SELECT battle_id, start_time, end_time, solar_system_ids
FROM battles
WHERE solar_system_ids && %(systems)s::bigint[]
  AND start_time <= %(end)s AND end_time >= %(start)s

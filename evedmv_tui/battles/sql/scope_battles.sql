-- Stored battles that overlap the time range given for any of their systems.
-- The && and bounding-time conditions find the candidates with one index
-- scan, where a join would probe the systems index once per range.
SELECT b.battle_id, b.start_time, b.end_time, b.solar_system_ids
FROM battles b
WHERE b.solar_system_ids && %(systems)s::bigint[]
  AND b.start_time <= (SELECT max(e) FROM unnest(%(ends)s::timestamptz[]) AS e)
  AND b.end_time >= (SELECT min(s) FROM unnest(%(starts)s::timestamptz[]) AS s)
  AND EXISTS (
      SELECT 1
      FROM unnest(%(systems)s::bigint[], %(starts)s::timestamptz[],
                  %(ends)s::timestamptz[]) AS r (solar_system_id, start_time, end_time)
      WHERE r.solar_system_id = ANY(b.solar_system_ids)
        AND b.start_time <= r.end_time
        AND b.end_time >= r.start_time
  )

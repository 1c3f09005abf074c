-- Stored pieces that overlap the time range given for their system. A
-- piece lies inside one window of its system, so this finds the pieces of
-- whole windows as well as those near a time range.
SELECT p.piece_id, p.battle_id, p.solar_system_id, p.start_time, p.end_time,
       p.pilots
FROM unnest(%(systems)s::bigint[], %(starts)s::timestamptz[],
            %(ends)s::timestamptz[]) AS r (solar_system_id, start_time, end_time)
JOIN battle_pieces p
  ON p.solar_system_id = r.solar_system_id
 AND p.end_time >= r.start_time
 AND p.start_time <= r.end_time

-- Stored pieces that overlap the time range given for their system. A
-- piece lies inside one window of its system, so this finds the pieces of
-- whole windows as well as those near a time range. OFFSET 0 keeps each
-- range an index range scan on (solar_system_id, end_time), where the
-- planner would otherwise hash every stored piece with its pilots.
SELECT p.piece_id, p.battle_id, p.solar_system_id, p.start_time, p.end_time,
       p.pilots
FROM unnest(%(systems)s::bigint[], %(starts)s::timestamptz[],
            %(ends)s::timestamptz[]) AS r (solar_system_id, start_time, end_time)
CROSS JOIN LATERAL (
    SELECT *
    FROM battle_pieces
    WHERE battle_pieces.solar_system_id = r.solar_system_id
      AND battle_pieces.end_time >= r.start_time
      AND battle_pieces.start_time <= r.end_time
    OFFSET 0
) p

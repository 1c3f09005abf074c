-- Every killmail in the given system windows, for kill_rows.sql. OFFSET 0
-- keeps the planner from flattening the lateral subquery into a join: each
-- window then reads one range of the (solar_system_id, killmail_time) index
-- instead of every killmail being compared with every window of its system.
    SELECT m.*
    FROM unnest(%(systems)s::bigint[], %(starts)s::timestamptz[],
                %(ends)s::timestamptz[]) AS w (solar_system_id, start_time, end_time)
    CROSS JOIN LATERAL (
        SELECT killmails.killmail_id,
               killmails.killmail_time,
               killmails.solar_system_id,
               killmails.victim_character_id,
               killmails.victim_corporation_id,
               killmails.victim_alliance_id,
               killmails.victim_ship_type_id,
               coalesce(killmails.total_value, 0)::double precision AS total_value,
               coalesce(killmails.dropped_value, 0)::double precision AS dropped_value
        FROM killmails
        WHERE killmails.solar_system_id = w.solar_system_id
          AND killmails.killmail_time BETWEEN w.start_time AND w.end_time
          AND killmails.npc IS NOT TRUE
        OFFSET 0
    ) m
    ORDER BY m.killmail_time, m.killmail_id

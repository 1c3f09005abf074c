-- The members of the given battles, except those of the given pieces, for
-- kill_rows.sql.
    SELECT killmails.killmail_id,
           killmails.killmail_time,
           killmails.solar_system_id,
           killmails.victim_character_id,
           killmails.victim_corporation_id,
           killmails.victim_alliance_id,
           killmails.victim_ship_type_id,
           coalesce(killmails.total_value, 0)::double precision AS total_value,
           coalesce(killmails.dropped_value, 0)::double precision AS dropped_value
    FROM battle_killmails m
    JOIN killmails
      ON killmails.killmail_id = m.killmail_id
     AND killmails.killmail_time = m.killmail_time
    WHERE m.battle_id = ANY(%(battles)s::bigint[])
      AND m.piece_id <> ALL(%(pieces)s::bigint[])
    ORDER BY killmails.killmail_time, killmails.killmail_id

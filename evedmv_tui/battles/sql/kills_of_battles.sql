-- The members of the given battles, except those of the given pieces, with
-- their attackers, in the columns and order of window_kills.sql. Each member
-- row carries its killmail_time, so every lookup reads one partition.
SELECT k.killmail_id,
       k.killmail_time,
       k.solar_system_id,
       k.victim_character_id,
       k.victim_corporation_id,
       k.victim_alliance_id,
       k.victim_ship_type_id,
       k.total_value,
       k.dropped_value,
       a.character_ids AS attacker_character_ids,
       a.corporation_ids AS attacker_corporation_ids,
       a.alliance_ids AS attacker_alliance_ids,
       a.ship_type_ids AS attacker_ship_type_ids,
       a.damage AS attacker_damage,
       a.final_blows AS attacker_final_blows
FROM (
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
) k
CROSS JOIN LATERAL (
    SELECT array_agg(s.character_id) AS character_ids,
           array_agg(s.corporation_id) AS corporation_ids,
           array_agg(s.alliance_id) AS alliance_ids,
           array_agg(s.ship_type_id) AS ship_type_ids,
           array_agg(s.damage_done) AS damage,
           array_agg(s.final_blow) AS final_blows
    FROM (
        SELECT character_id, corporation_id, alliance_id, ship_type_id,
               damage_done, final_blow
        FROM attackers
        WHERE attackers.killmail_id = k.killmail_id
          AND attackers.killmail_time = k.killmail_time
        ORDER BY attacker_index
    ) s
) a
ORDER BY k.killmail_time, k.killmail_id

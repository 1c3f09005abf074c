-- Every killmail in the given system windows, with its attackers as arrays
-- in killmail order.
SELECT k.killmail_id,
       k.killmail_time,
       k.solar_system_id,
       k.victim_character_id,
       k.victim_corporation_id,
       k.victim_alliance_id,
       k.victim_ship_type_id,
       coalesce(k.total_value, 0)::double precision AS total_value,
       coalesce(k.dropped_value, 0)::double precision AS dropped_value,
       a.character_ids AS attacker_character_ids,
       a.corporation_ids AS attacker_corporation_ids,
       a.alliance_ids AS attacker_alliance_ids,
       a.ship_type_ids AS attacker_ship_type_ids,
       a.damage AS attacker_damage,
       a.final_blows AS attacker_final_blows
FROM unnest(%(systems)s::bigint[], %(starts)s::timestamptz[], %(ends)s::timestamptz[])
         AS w (solar_system_id, start_time, end_time)
JOIN killmails k
  ON k.solar_system_id = w.solar_system_id
 AND k.killmail_time BETWEEN w.start_time AND w.end_time
CROSS JOIN LATERAL (
    SELECT array_agg(character_id ORDER BY attacker_index) AS character_ids,
           array_agg(corporation_id ORDER BY attacker_index) AS corporation_ids,
           array_agg(alliance_id ORDER BY attacker_index) AS alliance_ids,
           array_agg(ship_type_id ORDER BY attacker_index) AS ship_type_ids,
           array_agg(damage_done ORDER BY attacker_index) AS damage,
           array_agg(final_blow ORDER BY attacker_index) AS final_blows
    FROM attackers
    WHERE attackers.killmail_id = k.killmail_id
      AND attackers.killmail_time = k.killmail_time
) a
WHERE k.npc IS NOT TRUE
ORDER BY k.killmail_time, k.killmail_id

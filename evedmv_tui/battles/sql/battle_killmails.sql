-- The battle's killmails with the victim, the value and the final blow.
SELECT k.killmail_id, k.killmail_time, k.solar_system_id, k.victim_character_id,
       k.victim_corporation_id, k.victim_alliance_id, k.victim_ship_type_id,
       coalesce(k.total_value, 0)::double precision AS total_value, m.side_no,
       (SELECT a.character_id FROM attackers a
        WHERE a.killmail_id = k.killmail_id AND a.killmail_time = k.killmail_time
          AND a.final_blow
        LIMIT 1) AS final_blow_character_id,
       k.attacker_count
FROM battle_killmails m
JOIN killmails k
  ON k.killmail_id = m.killmail_id AND k.killmail_time = m.killmail_time
WHERE m.battle_id = %s
ORDER BY k.killmail_time, k.killmail_id

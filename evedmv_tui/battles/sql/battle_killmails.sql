-- The battle's killmails with the victim, the value and the final blow.
SELECT killmail_id, killmail_time, solar_system_id, victim_character_id,
       victim_corporation_id, victim_alliance_id, victim_ship_type_id,
       total_value, side_no, final_blow_character_id, attacker_count
FROM battle_killmails
WHERE battle_id = %s
ORDER BY killmail_time, killmail_id

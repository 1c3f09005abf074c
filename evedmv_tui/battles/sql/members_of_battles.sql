-- The members of the given battles with the battle's end and every stored
-- column, so that a rewrite can skip the members that stay the same.
-- Both tables are filtered by the ids, or the planner hashes every battle.
SELECT m.battle_id, b.end_time, m.killmail_id, m.killmail_time, m.piece_id,
       m.side_no, m.solar_system_id, m.victim_character_id,
       m.victim_corporation_id, m.victim_alliance_id, m.victim_ship_type_id,
       m.total_value, m.final_blow_character_id, m.attacker_count
FROM battle_killmails m
JOIN battles b ON b.battle_id = m.battle_id
WHERE m.battle_id = ANY(%(ids)s::bigint[])
  AND b.battle_id = ANY(%(ids)s::bigint[])
ORDER BY m.killmail_time, m.killmail_id

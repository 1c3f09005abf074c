-- Kills with their attackers as arrays, in killmail order. The subquery
-- that chooses the kills comes from window_kills.sql or kills_of_battles.sql,
-- put in place of the marker in braces by kill_rows_sql in incremental.py.
-- Both return the victim columns below, sorted by killmail_time and
-- killmail_id. The kills are sorted before their attackers are looked up, so
-- the wide rows with attacker arrays need no sort of their own, and an
-- attackers heap filled from time-ordered imports is read in about the order
-- it was written. Each kill's attackers are sorted once by attacker_index (a
-- primary key range, so usually no sort at all) and the six aggregates take
-- that order, where six ORDER BY aggregates would sort six times on
-- PostgreSQL 15. Every kill carries its killmail_time, so each lookup reads
-- one partition.
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
{kills}
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

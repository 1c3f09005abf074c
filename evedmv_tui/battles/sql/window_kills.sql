-- Every killmail in the given system windows, with its attackers as arrays
-- in killmail order. OFFSET 0 keeps the planner from flattening the lateral
-- subquery into a join: each window then reads one range of the
-- (solar_system_id, killmail_time) index instead of every killmail being
-- compared with every window of its system. The kills are sorted before
-- their attackers are looked up. The wide rows with attacker arrays then
-- need no sort of their own, and an attackers heap filled from time-ordered
-- imports is read in about the order it was written. Each kill's attackers are
-- sorted once by attacker_index (a primary key range, so usually no sort at
-- all) and the six aggregates take that order, where six ORDER BY
-- aggregates would sort six times on PostgreSQL 15.
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

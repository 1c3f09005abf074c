-- The newest kills and losses of one entity (up to %(limit)s of each), with
-- the victim, ship and system. {attacker} and {victim} are as in
-- entity_page.sql.
--
-- The kills are grouped rather than DISTINCT ON: with GROUP BY the planner
-- reads the entity's index newest first and stops after %(limit)s kills
-- (an incremental sort by id within each time). DISTINCT ON made it sort
-- all of an alliance's attacker rows, about 150 ms for 300,000 of them.
WITH kills AS (
    SELECT a.killmail_id, a.killmail_time
    FROM attackers a
    WHERE a.{attacker} = %(entity_id)s
    GROUP BY a.killmail_time, a.killmail_id
    ORDER BY a.killmail_time DESC, a.killmail_id DESC
    LIMIT %(limit)s
),
losses AS (
    SELECT k.killmail_id, k.killmail_time
    FROM killmails k
    WHERE k.{victim} = %(entity_id)s
    ORDER BY k.killmail_time DESC, k.killmail_id DESC
    LIMIT %(limit)s
),
events AS (
    SELECT killmail_id, killmail_time, 'kill' AS role FROM kills
    UNION ALL
    SELECT killmail_id, killmail_time, 'loss' FROM losses
)
SELECT e.role, k.killmail_id, k.killmail_time, k.solar_system_id,
       s.solar_system_name, k.victim_character_id, k.victim_corporation_id,
       k.victim_alliance_id, k.victim_ship_type_id, t.type_name AS ship_name,
       k.total_value, k.attacker_count
FROM events e
JOIN killmails k USING (killmail_id, killmail_time)
LEFT JOIN solar_systems s ON s.solar_system_id = k.solar_system_id
LEFT JOIN types t ON t.type_id = k.victim_ship_type_id
ORDER BY k.killmail_time DESC, k.killmail_id DESC

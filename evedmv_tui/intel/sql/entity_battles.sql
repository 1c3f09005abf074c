-- The newest battles (up to %(limit)s) that contain a kill or a loss of one
-- entity within the period (%(since)s, %(until)s] that entity_page.sql
-- computed (since NULL for all time). {attacker} and {victim} are as there.
WITH span AS (
    SELECT coalesce(%(since)s::timestamptz, '-infinity') AS since,
           %(until)s::timestamptz AS until
),
involved AS (
    SELECT a.killmail_id, a.killmail_time
    FROM attackers a, span
    WHERE a.{attacker} = %(entity_id)s
      AND a.killmail_time > span.since AND a.killmail_time <= span.until
    UNION
    SELECT k.killmail_id, k.killmail_time
    FROM killmails k, span
    WHERE k.{victim} = %(entity_id)s
      AND k.killmail_time > span.since AND k.killmail_time <= span.until
),
entity_battles AS (
    SELECT bk.battle_id, count(*) AS entity_killmails
    FROM battle_killmails bk JOIN involved i USING (killmail_id)
    GROUP BY bk.battle_id
)
-- The outer query reads the stored metrics of the listed battles only,
-- for their count of kills without an ISK value.
SELECT listed.*,
       coalesce((m.metrics -> 'completeness' ->> 'kills_without_value')::integer,
                0) AS kills_without_value
FROM (
    SELECT b.battle_id, b.start_time, b.end_time, b.solar_system_ids,
           (SELECT string_agg(s.solar_system_name, ', '
                              ORDER BY s.solar_system_name)
            FROM solar_systems s
            WHERE s.solar_system_id = ANY(b.solar_system_ids)) AS system_names,
           b.kills, b.pilots, b.isk_destroyed, b.kind, eb.entity_killmails
    FROM entity_battles eb
    JOIN battles b USING (battle_id)
    ORDER BY b.start_time DESC, b.battle_id DESC
    LIMIT %(limit)s
) listed
JOIN battles m USING (battle_id)
ORDER BY listed.start_time DESC, listed.battle_id DESC

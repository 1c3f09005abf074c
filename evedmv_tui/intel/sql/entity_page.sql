-- Summary, top lists and heatmap of one entity over one period, in one
-- statement. {attacker} and {victim} are the entity's column in attackers
-- and killmails (corporation_id and victim_corporation_id for a
-- corporation). The period ends at the newest stored killmail and starts
-- %(days)s days before it (all time when NULL).
--
-- ISK is summed as numeric (each value cast on its own), so the sum does
-- not depend on the order of the rows and equals the sum of the daily
-- totals that entity_page_totals.sql reads.
--
-- Each large set is read once and then only hashed or aggregated. These
-- sets are the entity's attacker rows (own), one row per kill with its
-- killmail columns (kills), and one row per loss (losses). The kill and
-- loss columns come from covering indexes (0200_intel.sql and
-- 0201_intel_pages.sql), so these steps read no killmail heap pages.
WITH span AS (
    SELECT
        coalesce(max(killmail_time), now()) AS until,
        CASE
            WHEN %(days)s::integer IS NULL THEN '-infinity'::timestamptz
            ELSE coalesce(max(killmail_time), now())
                - make_interval(days => %(days)s::integer)
        END AS since
    FROM killmails
),
-- The entity's own attacker rows: who flew what on its kills.
own AS MATERIALIZED (
    SELECT a.killmail_id, a.killmail_time, a.character_id, a.corporation_id,
           a.alliance_id, a.ship_type_id
    FROM attackers a, span
    WHERE a.{attacker} = %(entity_id)s
      AND a.killmail_time > span.since AND a.killmail_time <= span.until
),
-- One row per kill, with the number of the entity's attacker rows and of
-- its player attackers on it.
kill_set AS MATERIALIZED (
    SELECT killmail_id, killmail_time, count(*) AS own_rows,
           count(character_id) AS own_players
    FROM own
    GROUP BY killmail_id, killmail_time
),
kills AS MATERIALIZED (
    SELECT ks.killmail_id, ks.killmail_time, ks.own_rows, ks.own_players,
           k.attacker_count, k.solar_system_id,
           coalesce(k.total_value, 0) AS value,
           k.victim_corporation_id, k.victim_alliance_id
    FROM kill_set ks
    JOIN killmails k USING (killmail_id, killmail_time)
),
losses AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time, k.solar_system_id,
           coalesce(k.total_value, 0) AS value, k.victim_ship_type_id
    FROM killmails k, span
    WHERE k.{victim} = %(entity_id)s
      AND k.killmail_time > span.since AND k.killmail_time <= span.until
),
-- The other attackers on the entity's kills. The importer stores one
-- attacker row per attacker and attacker_count as their number, so a kill
-- whose attacker_count equals the entity's own rows has no other attacker
-- and its attacker rows are not read again.
other_attackers AS MATERIALIZED (
    SELECT a.killmail_id, a.character_id, a.corporation_id, a.alliance_id
    FROM kills k
    JOIN attackers a USING (killmail_id, killmail_time)
    WHERE k.attacker_count <> k.own_rows
      AND a.{attacker} IS DISTINCT FROM %(entity_id)s
),
loss_attackers AS MATERIALIZED (
    SELECT a.killmail_id, a.corporation_id, a.alliance_id
    FROM attackers a JOIN losses l USING (killmail_id, killmail_time)
),
-- Player attackers (own and other) on each kill, summed by aggregation
-- rather than a join, so a low row estimate cannot turn it into a
-- nested loop without an index.
gangs AS MATERIALIZED (
    SELECT killmail_id, sum(players) AS players
    FROM (
        SELECT killmail_id, own_players AS players FROM kills
        UNION ALL
        SELECT killmail_id, count(character_id) FROM other_attackers
        GROUP BY killmail_id
    ) attacking
    GROUP BY killmail_id
),
-- Ship class of each hull on the page, looked up for the few distinct
-- types only (a join of all rows against every type would hash all types).
hulls AS MATERIALIZED (
    SELECT t.type_id, g.ship_class
    FROM types t JOIN groups g ON g.group_id = t.group_id
    WHERE t.type_id = ANY(ARRAY(
        SELECT ship_type_id FROM own
        UNION
        SELECT victim_ship_type_id FROM losses
    ))
),
kill_totals AS (
    SELECT count(*) AS kills, coalesce(sum(value::numeric), 0) AS isk_destroyed,
           min(killmail_time) AS first_seen, max(killmail_time) AS last_seen
    FROM kills
),
loss_totals AS (
    SELECT count(*) AS losses, coalesce(sum(value::numeric), 0) AS isk_lost,
           min(killmail_time) AS first_seen, max(killmail_time) AS last_seen
    FROM losses
),
gang_totals AS (
    SELECT count(*) FILTER (WHERE players = 1) AS solo_kills,
           count(*) FILTER (WHERE players >= 2) AS gang_kills,
           coalesce(sum(players), 0)::bigint AS players_on_kills,
           count(*) FILTER (WHERE players >= 1) AS kills_with_players
    FROM gangs
),
summary AS (
    SELECT kt.kills, lt.losses, kt.isk_destroyed, lt.isk_lost,
           gt.solo_kills, gt.gang_kills, gt.players_on_kills,
           gt.kills_with_players,
           least(kt.first_seen, lt.first_seen) AS first_seen,
           greatest(kt.last_seen, lt.last_seen) AS last_seen
    FROM kill_totals kt, loss_totals lt, gang_totals gt
),
-- The latest corporation and alliance the entity appeared in, from its
-- newest kill or loss (for a character page). Each side reads one row
-- from the newest end of the entity's index rather than sorting own.
latest AS (
    SELECT corporation_id, alliance_id FROM (
        (SELECT a.killmail_time, a.corporation_id, a.alliance_id
         FROM attackers a, span
         WHERE a.{attacker} = %(entity_id)s
           AND a.killmail_time > span.since AND a.killmail_time <= span.until
         ORDER BY a.killmail_time DESC LIMIT 1)
        UNION ALL
        (SELECT k.killmail_time, k.victim_corporation_id, k.victim_alliance_id
         FROM killmails k, span
         WHERE k.{victim} = %(entity_id)s
           AND k.killmail_time > span.since AND k.killmail_time <= span.until
         ORDER BY k.killmail_time DESC LIMIT 1)
    ) appearances
    ORDER BY killmail_time DESC LIMIT 1
),
-- Kills and losses by place, shared by the heatmap, systems and regions.
events AS MATERIALIZED (
    SELECT killmail_time, solar_system_id, 1 AS kills, 0 AS losses FROM kills
    UNION ALL
    SELECT killmail_time, solar_system_id, 0, 1 FROM losses
),
heatmap AS (
    SELECT extract(isodow FROM killmail_time AT TIME ZONE 'UTC')::int AS dow,
           extract(hour FROM killmail_time AT TIME ZONE 'UTC')::int AS hour,
           sum(kills)::bigint AS kills, sum(losses)::bigint AS losses
    FROM events
    GROUP BY 1, 2
),
system_events AS MATERIALIZED (
    SELECT solar_system_id, sum(kills) AS kills, sum(losses) AS losses
    FROM events
    GROUP BY solar_system_id
),
-- Each top list as rows (list, id or class, kills, losses); the first
-- %(top)s rows of each list are kept. The "against" lists leave out the
-- entity itself (%(kind)s is its kind), whose members sometimes shoot each
-- other. A count of distinct killmails per key is taken as a count of
-- distinct (key, killmail) pairs, which hashes instead of sorting.
ranked AS (
    SELECT list, key, class, kills, losses,
           row_number() OVER (
               PARTITION BY list ORDER BY kills + losses DESC, key, class
           ) AS position
    FROM (
        SELECT 'pilots' AS list, character_id AS key, NULL::text AS class,
               count(*) AS kills, 0::bigint AS losses
        FROM (SELECT DISTINCT character_id, killmail_id
              FROM own WHERE character_id IS NOT NULL) flown
        GROUP BY character_id
        UNION ALL
        SELECT 'ships_flown', NULL, ship_class, count(*), 0
        FROM (SELECT DISTINCT h.ship_class, o.killmail_id
              FROM own o JOIN hulls h ON h.type_id = o.ship_type_id) flown
        GROUP BY ship_class
        UNION ALL
        SELECT 'ships_lost', NULL, h.ship_class, 0, count(*)
        FROM losses l JOIN hulls h ON h.type_id = l.victim_ship_type_id
        GROUP BY h.ship_class
        UNION ALL
        SELECT 'systems', solar_system_id, NULL, kills, losses
        FROM system_events
        UNION ALL
        SELECT 'regions', s.region_id, NULL, sum(e.kills)::bigint,
               sum(e.losses)::bigint
        FROM system_events e
        JOIN solar_systems s USING (solar_system_id)
        GROUP BY s.region_id
        UNION ALL
        SELECT 'with_corporations', corporation_id, NULL, count(*), 0
        FROM (SELECT DISTINCT corporation_id, killmail_id
              FROM other_attackers WHERE corporation_id IS NOT NULL) flown
        GROUP BY corporation_id
        UNION ALL
        SELECT 'with_alliances', alliance_id, NULL, count(*), 0
        FROM (SELECT DISTINCT alliance_id, killmail_id
              FROM other_attackers WHERE alliance_id IS NOT NULL) flown
        GROUP BY alliance_id
        UNION ALL
        SELECT 'against_corporations', corporation_id, NULL,
               sum(kills), sum(losses)
        FROM (
            SELECT victim_corporation_id AS corporation_id, 1 AS kills,
                   0 AS losses
            FROM kills
            UNION ALL
            SELECT corporation_id, 0, 1
            FROM (SELECT DISTINCT killmail_id, corporation_id
                  FROM loss_attackers) attacking
        ) against
        WHERE corporation_id IS NOT NULL
          AND NOT (%(kind)s = 'corporation' AND corporation_id = %(entity_id)s)
        GROUP BY corporation_id
        UNION ALL
        SELECT 'against_alliances', alliance_id, NULL, sum(kills), sum(losses)
        FROM (
            SELECT victim_alliance_id AS alliance_id, 1 AS kills, 0 AS losses
            FROM kills
            UNION ALL
            SELECT alliance_id, 0, 1
            FROM (SELECT DISTINCT killmail_id, alliance_id
                  FROM loss_attackers) attacking
        ) against
        WHERE alliance_id IS NOT NULL
          AND NOT (%(kind)s = 'alliance' AND alliance_id = %(entity_id)s)
        GROUP BY alliance_id
    ) lists
)
SELECT
    s.kills, s.losses, s.isk_destroyed, s.isk_lost, s.solo_kills,
    s.gang_kills, s.players_on_kills, s.kills_with_players, s.first_seen,
    s.last_seen,
    (SELECT corporation_id FROM latest) AS latest_corporation_id,
    (SELECT alliance_id FROM latest) AS latest_alliance_id,
    nullif(span.since, '-infinity') AS since, span.until,
    coalesce(
        (SELECT jsonb_agg(jsonb_build_array(dow, hour, kills, losses)
                          ORDER BY dow, hour)
         FROM heatmap),
        '[]'::jsonb
    ) AS heatmap,
    coalesce(
        (SELECT jsonb_agg(
                    jsonb_build_array(
                        r.list, r.key, r.class, r.kills, r.losses,
                        coalesce(ss.solar_system_name, rg.region_name)
                    )
                    ORDER BY r.list, r.position)
         FROM ranked r
         LEFT JOIN solar_systems ss
           ON r.list = 'systems' AND ss.solar_system_id = r.key
         LEFT JOIN regions rg ON r.list = 'regions' AND rg.region_id = r.key
         WHERE r.position <= %(top)s),
        '[]'::jsonb
    ) AS tops
FROM summary s, span

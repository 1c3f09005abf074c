-- Summary, top lists and heatmap of one entity over one period, in one
-- statement. {attacker} and {victim} are the entity's column in attackers
-- and killmails (corporation_id and victim_corporation_id for a
-- corporation). The period (since, until] ends at the entity's newest
-- kill or loss and starts %(days)s days before it (all time when NULL).
-- An entity without killmails gets a period that ends at the newest
-- killmail stored for anyone (newest_stored), or now when none is stored.
--
-- With %(from_totals)s, the period is split at the first UTC midnight after
-- since (cut): whole days from cut on come from the daily totals of
-- 0202_intel_totals.sql (intel_entity_days, intel_entity_day_tops), and
-- only the killmails of (since, cut) are read. For all time, since and cut
-- are -infinity and no killmail is read. Without it, cut is +infinity, so
-- no stored day is in range and every figure comes from the killmails.
-- Character pages, which have no daily totals, are read that way. Both ways
-- give the same row: ISK is summed as numeric (each value cast on its
-- own), so a sum does not depend on the order or grouping of its rows.
--
-- Each large set is read once and then only hashed or aggregated. These
-- sets are the entity's attacker rows (own), one row per kill with its
-- killmail columns (kills), and one row per loss (losses). The kill and
-- loss columns come from covering indexes (0200_intel.sql and
-- 0201_intel_pages.sql), so these steps read no killmail heap pages.
--
-- The entity's newest kill and loss come from backward scans of the
-- (entity column, killmail_time) indexes, which probe the monthly
-- partitions newest first and stop at the first row.
WITH newest AS (
    SELECT
        (SELECT max(killmail_time) FROM killmails) AS newest_stored,
        -- greatest() skips NULL: an entity with kills but no losses.
        greatest(
            (SELECT max(a.killmail_time) FROM attackers a
             WHERE a.{attacker} = %(entity_id)s),
            (SELECT max(k.killmail_time) FROM killmails k
             WHERE k.{victim} = %(entity_id)s)
        ) AS entity_newest
),
span AS (
    SELECT until, since, newest_stored, entity_newest,
           CASE
               WHEN %(from_totals)s THEN
                   (date_trunc('day', since AT TIME ZONE 'UTC')
                       + interval '1 day') AT TIME ZONE 'UTC'
               ELSE 'infinity'::timestamptz
           END AS cut
    FROM (
        SELECT
            end_time AS until,
            newest_stored,
            entity_newest,
            CASE
                WHEN %(days)s::integer IS NULL THEN '-infinity'::timestamptz
                ELSE end_time - make_interval(days => %(days)s::integer)
            END AS since
        FROM (
            SELECT coalesce(entity_newest, newest_stored, now()) AS end_time,
                   newest_stored, entity_newest
            FROM newest
        ) ends
    ) bounds
),
-- The entity's own attacker rows: who flew what on its kills.
own AS MATERIALIZED (
    SELECT a.killmail_id, a.killmail_time, a.character_id, a.corporation_id,
           a.alliance_id, a.ship_type_id
    FROM attackers a, span
    WHERE a.{attacker} = %(entity_id)s
      AND a.killmail_time > span.since AND a.killmail_time < span.cut
      AND a.killmail_time <= span.until
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
           k.total_value IS NULL AS unvalued,
           k.victim_corporation_id, k.victim_alliance_id
    FROM kill_set ks
    JOIN killmails k USING (killmail_id, killmail_time)
),
losses AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time, k.solar_system_id,
           coalesce(k.total_value, 0) AS value,
           k.total_value IS NULL AS unvalued, k.victim_ship_type_id
    FROM killmails k, span
    WHERE k.{victim} = %(entity_id)s
      AND k.killmail_time > span.since AND k.killmail_time < span.cut
      AND k.killmail_time <= span.until
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
-- The whole days of the period from the daily totals.
stored_days AS MATERIALIZED (
    SELECT d.*
    FROM intel_entity_days d, span
    WHERE d.kind = %(kind)s AND d.entity_id = %(entity_id)s
      AND d.day >= (span.cut AT TIME ZONE 'UTC')::date
      AND d.day <= (span.until AT TIME ZONE 'UTC')::date
),
stored_tops AS MATERIALIZED (
    SELECT t.day, t.list, t.key, t.class, t.kills, t.losses
    FROM intel_entity_day_tops t, span
    WHERE t.kind = %(kind)s AND t.entity_id = %(entity_id)s
      AND t.day >= (span.cut AT TIME ZONE 'UTC')::date
      AND t.day <= (span.until AT TIME ZONE 'UTC')::date
),
-- Summary parts: the killmails read, then the stored days. The kills and
-- losses without an ISK value come from both (0210_intel_totals_unvalued.sql
-- added their counts to the daily totals).
summary_parts AS (
    SELECT count(*) AS kills, 0 AS losses,
           coalesce(sum(value::numeric), 0) AS isk_destroyed,
           0 AS isk_lost, 0 AS solo_kills, 0 AS gang_kills,
           0 AS players_on_kills, 0 AS kills_with_players,
           min(killmail_time) AS first_seen, max(killmail_time) AS last_seen,
           count(*) FILTER (WHERE unvalued) AS kills_without_value,
           0 AS losses_without_value
    FROM kills
    UNION ALL
    SELECT 0, count(*), 0, coalesce(sum(value::numeric), 0), 0, 0, 0, 0,
           min(killmail_time), max(killmail_time), 0,
           count(*) FILTER (WHERE unvalued)
    FROM losses
    UNION ALL
    SELECT 0, 0, 0, 0, count(*) FILTER (WHERE players = 1),
           count(*) FILTER (WHERE players >= 2), coalesce(sum(players), 0),
           count(*) FILTER (WHERE players >= 1), NULL, NULL, 0, 0
    FROM gangs
    UNION ALL
    SELECT sum(kills), sum(losses), sum(isk_destroyed), sum(isk_lost),
           sum(solo_kills), sum(gang_kills), sum(players_on_kills),
           sum(kills_with_players), min(first_seen), max(last_seen),
           sum(kills_without_value), sum(losses_without_value)
    FROM stored_days
),
summary AS (
    SELECT coalesce(sum(kills), 0)::bigint AS kills,
           coalesce(sum(losses), 0)::bigint AS losses,
           coalesce(sum(isk_destroyed), 0) AS isk_destroyed,
           coalesce(sum(isk_lost), 0) AS isk_lost,
           coalesce(sum(solo_kills), 0)::bigint AS solo_kills,
           coalesce(sum(gang_kills), 0)::bigint AS gang_kills,
           coalesce(sum(players_on_kills), 0)::bigint AS players_on_kills,
           coalesce(sum(kills_with_players), 0)::bigint AS kills_with_players,
           min(first_seen) AS first_seen, max(last_seen) AS last_seen,
           coalesce(sum(kills_without_value), 0)::bigint AS kills_without_value,
           coalesce(sum(losses_without_value), 0)::bigint
               AS losses_without_value
    FROM summary_parts
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
-- Kills and losses by place, shared by the heatmap and the place lists.
events AS MATERIALIZED (
    SELECT killmail_time, solar_system_id, 1 AS kills, 0 AS losses FROM kills
    UNION ALL
    SELECT killmail_time, solar_system_id, 0, 1 FROM losses
),
heatmap AS (
    SELECT dow, hour, sum(kills)::bigint AS kills, sum(losses)::bigint AS losses
    FROM (
        SELECT extract(isodow FROM killmail_time AT TIME ZONE 'UTC')::int AS dow,
               extract(hour FROM killmail_time AT TIME ZONE 'UTC')::int AS hour,
               kills, losses
        FROM events
        UNION ALL
        SELECT extract(isodow FROM day)::int, key::int, kills, losses
        FROM stored_tops
        WHERE list = 'hours'
    ) cells
    GROUP BY dow, hour
),
-- Top list rows from the killmails, with the keys of the stored rows (key
-- 0 on ship lists, class '' elsewhere). The "against" lists leave out the
-- entity itself (%(kind)s is its kind), whose members sometimes shoot each
-- other. A count of distinct killmails per key is taken as a count of
-- distinct (key, killmail) pairs, which hashes instead of sorting.
live_lists AS (
    SELECT 'pilots' AS list, character_id AS key, '' AS class,
           count(*) AS kills, 0::bigint AS losses
    FROM (SELECT DISTINCT character_id, killmail_id
          FROM own WHERE character_id IS NOT NULL) flown
    GROUP BY character_id
    UNION ALL
    SELECT 'ships_flown', 0, ship_class, count(*), 0
    FROM (SELECT DISTINCT h.ship_class, o.killmail_id
          FROM own o JOIN hulls h ON h.type_id = o.ship_type_id) flown
    GROUP BY ship_class
    UNION ALL
    SELECT 'ships_lost', 0, h.ship_class, 0, count(*)
    FROM losses l JOIN hulls h ON h.type_id = l.victim_ship_type_id
    GROUP BY h.ship_class
    UNION ALL
    SELECT 'systems', solar_system_id, '', sum(kills), sum(losses)
    FROM events
    GROUP BY solar_system_id
    UNION ALL
    SELECT 'with_corporations', corporation_id, '', count(*), 0
    FROM (SELECT DISTINCT corporation_id, killmail_id
          FROM other_attackers WHERE corporation_id IS NOT NULL) flown
    GROUP BY corporation_id
    UNION ALL
    SELECT 'with_alliances', alliance_id, '', count(*), 0
    FROM (SELECT DISTINCT alliance_id, killmail_id
          FROM other_attackers WHERE alliance_id IS NOT NULL) flown
    GROUP BY alliance_id
    UNION ALL
    SELECT 'against_corporations', corporation_id, '', sum(kills), sum(losses)
    FROM (
        SELECT victim_corporation_id AS corporation_id, 1 AS kills, 0 AS losses
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
    SELECT 'against_alliances', alliance_id, '', sum(kills), sum(losses)
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
),
lists AS MATERIALIZED (
    SELECT list, key, class, sum(kills)::bigint AS kills,
           sum(losses)::bigint AS losses
    FROM (
        SELECT list, key, class, kills, losses FROM live_lists
        UNION ALL
        SELECT list, key, class, kills, losses FROM stored_tops
        WHERE list <> 'hours'
    ) parts
    GROUP BY list, key, class
),
ranked AS (
    SELECT list, key, class, kills, losses,
           row_number() OVER (
               PARTITION BY list ORDER BY kills + losses DESC, key, class
           ) AS position
    FROM (
        SELECT * FROM lists
        UNION ALL
        SELECT 'regions', s.region_id, '', sum(l.kills)::bigint,
               sum(l.losses)::bigint
        FROM lists l
        JOIN solar_systems s ON s.solar_system_id = l.key
        WHERE l.list = 'systems'
        GROUP BY s.region_id
    ) all_lists
)
SELECT
    s.kills, s.losses, s.isk_destroyed, s.isk_lost, s.solo_kills,
    s.gang_kills, s.players_on_kills, s.kills_with_players, s.first_seen,
    s.last_seen, s.kills_without_value, s.losses_without_value,
    (SELECT corporation_id FROM latest) AS latest_corporation_id,
    (SELECT alliance_id FROM latest) AS latest_alliance_id,
    nullif(span.since, '-infinity') AS since, span.until, span.newest_stored,
    span.entity_newest,
    coalesce(
        (SELECT jsonb_agg(jsonb_build_array(dow, hour, kills, losses)
                          ORDER BY dow, hour)
         FROM heatmap),
        '[]'::jsonb
    ) AS heatmap,
    coalesce(
        (SELECT jsonb_agg(
                    jsonb_build_array(
                        r.list,
                        CASE WHEN r.class = '' THEN r.key END,
                        nullif(r.class, ''),
                        r.kills, r.losses,
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

-- Summary, top lists and heatmap of one entity over one period, in one
-- statement. {attacker} and {victim} are the entity's column in attackers
-- and killmails (corporation_id and victim_corporation_id for a
-- corporation). The period ends at the newest stored killmail and starts
-- %(days)s days before it (all time when NULL).
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
kills AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time, k.solar_system_id,
           coalesce(k.total_value, 0) AS value, k.victim_ship_type_id,
           k.victim_corporation_id, k.victim_alliance_id
    FROM killmails k
    JOIN (SELECT DISTINCT killmail_id, killmail_time FROM own) o
      USING (killmail_id, killmail_time)
),
losses AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time, k.solar_system_id,
           coalesce(k.total_value, 0) AS value, k.victim_ship_type_id,
           k.victim_character_id, k.victim_corporation_id, k.victim_alliance_id
    FROM killmails k, span
    WHERE k.{victim} = %(entity_id)s
      AND k.killmail_time > span.since AND k.killmail_time <= span.until
),
-- Every attacker on the entity's kills, with whether the row is the
-- entity's own, and every attacker on its losses.
kill_attackers AS MATERIALIZED (
    SELECT a.killmail_id, a.character_id, a.corporation_id, a.alliance_id,
           a.{attacker} IS NOT DISTINCT FROM %(entity_id)s AS is_own
    FROM attackers a JOIN kills k USING (killmail_id, killmail_time)
),
loss_attackers AS MATERIALIZED (
    SELECT a.killmail_id, a.corporation_id, a.alliance_id
    FROM attackers a JOIN losses l USING (killmail_id, killmail_time)
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
gangs AS (
    SELECT killmail_id, count(character_id) AS players
    FROM kill_attackers GROUP BY killmail_id
),
summary AS (
    SELECT
        (SELECT count(*) FROM kills) AS kills,
        (SELECT count(*) FROM losses) AS losses,
        (SELECT coalesce(sum(value), 0) FROM kills) AS isk_destroyed,
        (SELECT coalesce(sum(value), 0) FROM losses) AS isk_lost,
        (SELECT count(*) FROM gangs WHERE players = 1) AS solo_kills,
        (SELECT count(*) FROM gangs WHERE players >= 2) AS gang_kills,
        (SELECT coalesce(sum(players), 0)::bigint FROM gangs) AS players_on_kills,
        (SELECT count(*) FROM gangs WHERE players >= 1) AS kills_with_players,
        least((SELECT min(killmail_time) FROM kills),
              (SELECT min(killmail_time) FROM losses)) AS first_seen,
        greatest((SELECT max(killmail_time) FROM kills),
                 (SELECT max(killmail_time) FROM losses)) AS last_seen
),
-- The latest corporation and alliance the entity appeared in, from its
-- newest kill or loss (for a character page).
latest AS (
    SELECT corporation_id, alliance_id FROM (
        SELECT killmail_time, corporation_id, alliance_id FROM own
        UNION ALL
        SELECT killmail_time, victim_corporation_id, victim_alliance_id
        FROM losses
    ) appearances
    ORDER BY killmail_time DESC LIMIT 1
),
heatmap AS (
    SELECT dow, hour, sum(kills)::bigint AS kills, sum(losses)::bigint AS losses
    FROM (
        SELECT extract(isodow FROM killmail_time AT TIME ZONE 'UTC')::int AS dow,
               extract(hour FROM killmail_time AT TIME ZONE 'UTC')::int AS hour,
               1 AS kills, 0 AS losses
        FROM kills
        UNION ALL
        SELECT extract(isodow FROM killmail_time AT TIME ZONE 'UTC')::int,
               extract(hour FROM killmail_time AT TIME ZONE 'UTC')::int, 0, 1
        FROM losses
    ) events
    GROUP BY dow, hour
),
-- Each top list as rows (list, id or class, kills, losses); the first
-- %(top)s rows of each list are kept. The "against" lists leave out the
-- entity itself (%(kind)s is its kind), whose members sometimes shoot each
-- other.
ranked AS (
    SELECT list, key, class, kills, losses,
           row_number() OVER (
               PARTITION BY list ORDER BY kills + losses DESC, key, class
           ) AS position
    FROM (
        SELECT 'pilots' AS list, character_id AS key, NULL::text AS class,
               count(DISTINCT killmail_id) AS kills, 0::bigint AS losses
        FROM own WHERE character_id IS NOT NULL
        GROUP BY character_id
        UNION ALL
        SELECT 'ships_flown', NULL, h.ship_class,
               count(DISTINCT o.killmail_id), 0
        FROM own o JOIN hulls h ON h.type_id = o.ship_type_id
        GROUP BY h.ship_class
        UNION ALL
        SELECT 'ships_lost', NULL, h.ship_class, 0, count(*)
        FROM losses l JOIN hulls h ON h.type_id = l.victim_ship_type_id
        GROUP BY h.ship_class
        UNION ALL
        SELECT 'systems', solar_system_id, NULL, sum(kills), sum(losses)
        FROM (
            SELECT solar_system_id, 1 AS kills, 0 AS losses FROM kills
            UNION ALL
            SELECT solar_system_id, 0, 1 FROM losses
        ) events
        GROUP BY solar_system_id
        UNION ALL
        SELECT 'regions', s.region_id, NULL, sum(kills), sum(losses)
        FROM (
            SELECT solar_system_id, 1 AS kills, 0 AS losses FROM kills
            UNION ALL
            SELECT solar_system_id, 0, 1 FROM losses
        ) events
        JOIN solar_systems s USING (solar_system_id)
        GROUP BY s.region_id
        UNION ALL
        SELECT 'with_corporations', corporation_id, NULL,
               count(DISTINCT killmail_id), 0
        FROM kill_attackers
        WHERE NOT is_own AND corporation_id IS NOT NULL
        GROUP BY corporation_id
        UNION ALL
        SELECT 'with_alliances', alliance_id, NULL,
               count(DISTINCT killmail_id), 0
        FROM kill_attackers
        WHERE NOT is_own AND alliance_id IS NOT NULL
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
        ) events
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
        ) events
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

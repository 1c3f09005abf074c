-- Kills and losses without an ISK value in the daily entity totals
-- (0202_intel_totals.sql).
--
-- ISK destroyed and lost count a killmail without a value (total_value NULL)
-- as 0. A page marks such a sum as leaving kills out, which it could do
-- only for the killmails it read itself, because intel_entity_days stored
-- sums alone. Two counts per entity and day make that mark exact for pages
-- read from the totals too:
--
-- kills_without_value: kills of the entity with no ISK value;
-- losses_without_value: losses of the entity with no ISK value.
--
-- intel_totals_add counts them, the trigger that moves value changes into
-- the totals moves a value set or cleared into them, and the back-fill at
-- the end counts the killmails the totals already hold.

ALTER TABLE intel_entity_days
    ADD COLUMN kills_without_value integer NOT NULL DEFAULT 0,
    ADD COLUMN losses_without_value integer NOT NULL DEFAULT 0;

-- Counts the killmails of ``ids`` (see 0202_intel_totals.sql), now with the
-- kills and losses without an ISK value.
CREATE OR REPLACE FUNCTION intel_totals_add(
    ids bigint[], start_time timestamptz, end_time timestamptz
) RETURNS bigint
LANGUAGE sql
-- Row estimates of CTEs over a parameter array are guesses (often 1 row),
-- and a nested loop over two CTEs of thousands of rows is quadratic. The
-- attacker lookup below is LATERAL, so it stays a nested loop; every other
-- join hashes, and so does every DISTINCT and GROUP BY (a sort of the
-- "flown with" pairs took most of a batch's time). With 64 MB a day of
-- 17,047 EVE Ref killmails spilled only 1.5 MB, in the final merge.
SET enable_nestloop = off
SET enable_sort = off
SET work_mem = '64MB'
AS $$
WITH candidates AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time,
           (k.killmail_time AT TIME ZONE 'UTC')::date AS day,
           extract(hour FROM k.killmail_time AT TIME ZONE 'UTC')::bigint AS hour,
           k.solar_system_id, coalesce(k.total_value, 0)::numeric AS value,
           k.total_value IS NULL AS unvalued,
           k.victim_corporation_id, k.victim_alliance_id, k.victim_ship_type_id
    FROM killmails k
    WHERE k.killmail_id = ANY(ids)
      AND k.killmail_time BETWEEN start_time AND end_time
),
fresh AS (
    INSERT INTO intel_counted_killmails (killmail_id)
    SELECT killmail_id FROM candidates
    ON CONFLICT DO NOTHING
    RETURNING killmail_id
),
counted AS MATERIALIZED (
    SELECT c.* FROM candidates c JOIN fresh USING (killmail_id)
),
att AS MATERIALIZED (
    SELECT c.killmail_id, a.character_id, a.corporation_id, a.alliance_id,
           a.ship_type_id
    FROM counted c
    CROSS JOIN LATERAL (
        SELECT a.character_id, a.corporation_id, a.alliance_id, a.ship_type_id
        FROM attackers a
        WHERE a.killmail_id = c.killmail_id
          AND a.killmail_time = c.killmail_time
        OFFSET 0  -- keeps the subquery a per-killmail primary key lookup
    ) a
),
-- One row per counted killmail, with the number of player attackers on it
-- (the gang size of every entity that killed).
km AS MATERIALIZED (
    SELECT c.*, coalesce(p.players, 0) AS players
    FROM counted c
    LEFT JOIN (
        SELECT killmail_id, count(character_id) AS players
        FROM att GROUP BY killmail_id
    ) p USING (killmail_id)
),
-- Attacker rows by the corporation and the alliance they count for.
own AS MATERIALIZED (
    SELECT e.kind, e.entity_id, a.killmail_id, a.character_id, a.corporation_id,
           a.alliance_id, a.ship_type_id
    FROM att a
    CROSS JOIN LATERAL (
        VALUES ('corporation', a.corporation_id), ('alliance', a.alliance_id)
    ) e(kind, entity_id)
    WHERE e.entity_id IS NOT NULL
),
kill_events AS MATERIALIZED (
    SELECT o.kind, o.entity_id, km.*
    FROM (SELECT DISTINCT kind, entity_id, killmail_id FROM own) o
    JOIN km USING (killmail_id)
),
loss_events AS MATERIALIZED (
    SELECT e.kind, e.entity_id, km.*
    FROM km
    CROSS JOIN LATERAL (
        VALUES ('corporation', km.victim_corporation_id),
               ('alliance', km.victim_alliance_id)
    ) e(kind, entity_id)
    WHERE e.entity_id IS NOT NULL
),
hulls AS MATERIALIZED (
    SELECT t.type_id, g.ship_class
    FROM types t JOIN groups g ON g.group_id = t.group_id
    WHERE t.type_id IN (SELECT ship_type_id FROM att
                        UNION SELECT victim_ship_type_id FROM km)
),
-- Distinct (killmail, corporation, alliance) of the attackers, for the
-- "flown with" and "fought" lists.
attacker_groups AS MATERIALIZED (
    SELECT DISTINCT killmail_id, corporation_id, alliance_id FROM att
),
-- One row per killmail and "flown with" key: a corporation or an alliance
-- of its attackers, with the number of attacker groups that carry the key
-- and, when one group does, that group's other column (the alliance of a
-- corporation key, the corporation of an alliance key). A key of the
-- entity's own kind counts when it is not the entity. A key of the other
-- kind counts unless its only group belongs to the entity: with two or more
-- groups, at least one has another corporation (or alliance) or none.
flown_keys AS MATERIALIZED (
    SELECT killmail_id, 'with_corporations' AS list, corporation_id AS key,
           count(*) AS groups, min(alliance_id) AS other
    FROM attacker_groups
    WHERE corporation_id IS NOT NULL
    GROUP BY killmail_id, corporation_id
    UNION ALL
    SELECT killmail_id, 'with_alliances', alliance_id, count(*),
           min(corporation_id)
    FROM attacker_groups
    WHERE alliance_id IS NOT NULL
    GROUP BY killmail_id, alliance_id
),
days AS (
    INSERT INTO intel_entity_days AS t
    SELECT kind, entity_id, day, sum(kills), sum(losses), sum(isk_destroyed),
           sum(isk_lost), sum(solo_kills), sum(gang_kills),
           sum(players_on_kills), sum(kills_with_players), min(first_seen),
           max(last_seen), sum(kills_without_value), sum(losses_without_value)
    FROM (
        SELECT kind, entity_id, day, count(*) AS kills, 0 AS losses,
               sum(value) AS isk_destroyed, 0 AS isk_lost,
               count(*) FILTER (WHERE players = 1) AS solo_kills,
               count(*) FILTER (WHERE players >= 2) AS gang_kills,
               sum(players) AS players_on_kills,
               count(*) FILTER (WHERE players >= 1) AS kills_with_players,
               min(killmail_time) AS first_seen, max(killmail_time) AS last_seen,
               count(*) FILTER (WHERE unvalued) AS kills_without_value,
               0 AS losses_without_value
        FROM kill_events GROUP BY kind, entity_id, day
        UNION ALL
        SELECT kind, entity_id, day, 0, count(*), 0, sum(value), 0, 0, 0, 0,
               min(killmail_time), max(killmail_time), 0,
               count(*) FILTER (WHERE unvalued)
        FROM loss_events GROUP BY kind, entity_id, day
    ) parts
    GROUP BY kind, entity_id, day
    ON CONFLICT (kind, entity_id, day) DO UPDATE SET
        kills = t.kills + excluded.kills,
        losses = t.losses + excluded.losses,
        isk_destroyed = t.isk_destroyed + excluded.isk_destroyed,
        isk_lost = t.isk_lost + excluded.isk_lost,
        solo_kills = t.solo_kills + excluded.solo_kills,
        gang_kills = t.gang_kills + excluded.gang_kills,
        players_on_kills = t.players_on_kills + excluded.players_on_kills,
        kills_with_players = t.kills_with_players + excluded.kills_with_players,
        first_seen = least(t.first_seen, excluded.first_seen),
        last_seen = greatest(t.last_seen, excluded.last_seen),
        kills_without_value = t.kills_without_value + excluded.kills_without_value,
        losses_without_value =
            t.losses_without_value + excluded.losses_without_value
),
-- Each list is counted on its own, so the final merge only adds the kill
-- and loss parts of the lists that have both.
tops AS (
    INSERT INTO intel_entity_day_tops AS t
    SELECT kind, entity_id, day, list, key, class, sum(kills), sum(losses)
    FROM (
        SELECT kind, entity_id, day, 'hours' AS list, hour AS key, '' AS class,
               count(*) AS kills, 0 AS losses
        FROM kill_events GROUP BY kind, entity_id, day, hour
        UNION ALL
        SELECT kind, entity_id, day, 'hours', hour, '', 0, count(*)
        FROM loss_events GROUP BY kind, entity_id, day, hour
        UNION ALL
        SELECT kind, entity_id, day, 'systems', solar_system_id, '', count(*), 0
        FROM kill_events GROUP BY kind, entity_id, day, solar_system_id
        UNION ALL
        SELECT kind, entity_id, day, 'systems', solar_system_id, '', 0, count(*)
        FROM loss_events GROUP BY kind, entity_id, day, solar_system_id
        UNION ALL
        SELECT o.kind, o.entity_id, km.day, 'pilots', o.character_id, '',
               count(*), 0
        FROM (SELECT DISTINCT kind, entity_id, killmail_id, character_id
              FROM own WHERE character_id IS NOT NULL) o
        JOIN km USING (killmail_id)
        GROUP BY o.kind, o.entity_id, km.day, o.character_id
        UNION ALL
        SELECT o.kind, o.entity_id, km.day, 'ships_flown', 0, o.ship_class,
               count(*), 0
        FROM (SELECT DISTINCT own.kind, own.entity_id, own.killmail_id,
                     h.ship_class
              FROM own JOIN hulls h ON h.type_id = own.ship_type_id) o
        JOIN km USING (killmail_id)
        GROUP BY o.kind, o.entity_id, km.day, o.ship_class
        UNION ALL
        SELECT l.kind, l.entity_id, l.day, 'ships_lost', 0, h.ship_class, 0,
               count(*)
        FROM loss_events l JOIN hulls h ON h.type_id = l.victim_ship_type_id
        GROUP BY l.kind, l.entity_id, l.day, h.ship_class
        UNION ALL
        -- Victims of the entity's kills; the entity itself is left out.
        SELECT kind, entity_id, day, 'against_corporations',
               victim_corporation_id, '', count(*), 0
        FROM kill_events
        WHERE victim_corporation_id IS NOT NULL
          AND NOT (kind = 'corporation' AND victim_corporation_id = entity_id)
        GROUP BY kind, entity_id, day, victim_corporation_id
        UNION ALL
        SELECT kind, entity_id, day, 'against_alliances', victim_alliance_id,
               '', count(*), 0
        FROM kill_events
        WHERE victim_alliance_id IS NOT NULL
          AND NOT (kind = 'alliance' AND victim_alliance_id = entity_id)
        GROUP BY kind, entity_id, day, victim_alliance_id
        UNION ALL
        -- Attackers on the entity's losses.
        SELECT l.kind, l.entity_id, l.day, 'against_corporations', g.key, '', 0,
               count(*)
        FROM loss_events l
        JOIN (SELECT DISTINCT killmail_id, corporation_id AS key
              FROM attacker_groups WHERE corporation_id IS NOT NULL) g
          USING (killmail_id)
        WHERE NOT (l.kind = 'corporation' AND g.key = l.entity_id)
        GROUP BY l.kind, l.entity_id, l.day, g.key
        UNION ALL
        SELECT l.kind, l.entity_id, l.day, 'against_alliances', g.key, '', 0,
               count(*)
        FROM loss_events l
        JOIN (SELECT DISTINCT killmail_id, alliance_id AS key
              FROM attacker_groups WHERE alliance_id IS NOT NULL) g
          USING (killmail_id)
        WHERE NOT (l.kind = 'alliance' AND g.key = l.entity_id)
        GROUP BY l.kind, l.entity_id, l.day, g.key
        UNION ALL
        -- Other attackers on the entity's kills: the keys of the attacker
        -- groups whose corporation (on a corporation's kill) or alliance
        -- (on an alliance's kill) differs from the entity or is unset.
        SELECT e.kind, e.entity_id, e.day, f.list, f.key, '', count(*), 0
        FROM kill_events e
        JOIN flown_keys f USING (killmail_id)
        WHERE CASE WHEN (e.kind = 'corporation') = (f.list = 'with_corporations')
                   THEN f.key <> e.entity_id
                   ELSE NOT (f.groups = 1
                             AND f.other IS NOT DISTINCT FROM e.entity_id)
              END
        GROUP BY e.kind, e.entity_id, e.day, f.list, f.key
    ) parts
    GROUP BY kind, entity_id, day, list, key, class
    ON CONFLICT (kind, entity_id, day, list, key, class) DO UPDATE SET
        kills = t.kills + excluded.kills,
        losses = t.losses + excluded.losses
)
SELECT count(*) FROM fresh
$$;


-- Moves changes of killmails.total_value into the ISK totals and the counts
-- without a value of the killmails already counted (see 0202_intel_totals.sql). Killmails inserted by the same transaction
-- (an import batch valuing its new killmails) cannot be counted yet, so
-- they are skipped without a lock. The advisory lock is the one
-- evedmv_tui.intel.totals takes while counting, so a value that changes
-- while a batch is counted is either read by the count or moved here.
CREATE OR REPLACE FUNCTION intel_totals_value_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM old_rows o JOIN new_rows n USING (killmail_id, killmail_time)
        WHERE o.total_value IS DISTINCT FROM n.total_value
          AND o.inserted_at < now()
    ) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(7305000201);
    WITH changed AS MATERIALIZED (
        SELECT n.killmail_id, n.killmail_time,
               (n.killmail_time AT TIME ZONE 'UTC')::date AS day,
               coalesce(n.total_value, 0)::numeric
                   - coalesce(o.total_value, 0)::numeric AS delta,
               (n.total_value IS NULL)::integer
                   - (o.total_value IS NULL)::integer AS unvalued_delta,
               n.victim_corporation_id, n.victim_alliance_id
        FROM old_rows o JOIN new_rows n USING (killmail_id, killmail_time)
        WHERE o.total_value IS DISTINCT FROM n.total_value
          AND o.inserted_at < now()
          AND EXISTS (SELECT FROM intel_counted_killmails c
                      WHERE c.killmail_id = n.killmail_id)
    ),
    lost AS (
        SELECT e.kind, e.entity_id, c.day, 0::numeric AS destroyed,
               c.delta AS lost, 0 AS kills_unvalued,
               c.unvalued_delta AS losses_unvalued
        FROM changed c
        CROSS JOIN LATERAL (
            VALUES ('corporation', c.victim_corporation_id),
                   ('alliance', c.victim_alliance_id)
        ) e(kind, entity_id)
        WHERE e.entity_id IS NOT NULL
    ),
    destroyed AS (
        SELECT e.kind, e.entity_id, c.day, c.delta AS destroyed,
               0::numeric AS lost, c.unvalued_delta AS kills_unvalued,
               0 AS losses_unvalued
        FROM changed c
        JOIN LATERAL (
            SELECT DISTINCT x.kind, x.entity_id
            FROM attackers a
            CROSS JOIN LATERAL (
                VALUES ('corporation', a.corporation_id),
                       ('alliance', a.alliance_id)
            ) x(kind, entity_id)
            WHERE a.killmail_id = c.killmail_id
              AND a.killmail_time = c.killmail_time
              AND x.entity_id IS NOT NULL
        ) e ON true
    ),
    deltas AS (
        SELECT kind, entity_id, day, sum(destroyed) AS destroyed,
               sum(lost) AS lost, sum(kills_unvalued) AS kills_unvalued,
               sum(losses_unvalued) AS losses_unvalued
        FROM (SELECT * FROM lost UNION ALL SELECT * FROM destroyed) parts
        GROUP BY kind, entity_id, day
    )
    UPDATE intel_entity_days t
    SET isk_destroyed = t.isk_destroyed + d.destroyed,
        isk_lost = t.isk_lost + d.lost,
        kills_without_value = t.kills_without_value + d.kills_unvalued,
        losses_without_value = t.losses_without_value + d.losses_unvalued
    FROM deltas d
    WHERE t.kind = d.kind AND t.entity_id = d.entity_id AND t.day = d.day;
    RETURN NULL;
END
$$;

-- Back-fill from the killmails already counted: their attackers and victims
-- never change, and the trigger has moved every later change of their
-- value, so a counted killmail without a value now is one the totals hold
-- without a value.
WITH unvalued AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time,
           (k.killmail_time AT TIME ZONE 'UTC')::date AS day,
           k.victim_corporation_id, k.victim_alliance_id
    FROM killmails k
    JOIN intel_counted_killmails c USING (killmail_id)
    WHERE k.total_value IS NULL
),
kills AS (
    SELECT DISTINCT e.kind, e.entity_id, u.day, u.killmail_id
    FROM unvalued u
    JOIN attackers a
      ON a.killmail_id = u.killmail_id AND a.killmail_time = u.killmail_time
    CROSS JOIN LATERAL (
        VALUES ('corporation', a.corporation_id), ('alliance', a.alliance_id)
    ) e(kind, entity_id)
    WHERE e.entity_id IS NOT NULL
),
losses AS (
    SELECT e.kind, e.entity_id, u.day
    FROM unvalued u
    CROSS JOIN LATERAL (
        VALUES ('corporation', u.victim_corporation_id),
               ('alliance', u.victim_alliance_id)
    ) e(kind, entity_id)
    WHERE e.entity_id IS NOT NULL
),
counts AS (
    SELECT kind, entity_id, day, sum(kills) AS kills, sum(losses) AS losses
    FROM (
        SELECT kind, entity_id, day, 1 AS kills, 0 AS losses FROM kills
        UNION ALL
        SELECT kind, entity_id, day, 0, 1 FROM losses
    ) parts
    GROUP BY kind, entity_id, day
)
UPDATE intel_entity_days t
SET kills_without_value = c.kills, losses_without_value = c.losses
FROM counts c
WHERE t.kind = c.kind AND t.entity_id = c.entity_id AND t.day = c.day;
ANALYZE intel_entity_days;

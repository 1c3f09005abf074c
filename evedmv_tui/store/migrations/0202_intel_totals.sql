-- Per-entity daily totals behind corporation and alliance pages.
--
-- A page over a long period reads one row per (entity, UTC day) and per top
-- list key instead of every kill and loss. Only the first day of a period
-- that starts inside a day is read from the killmails (entity_page.sql
-- with from_totals), so a page built from these tables equals one built
-- from the raw rows (the same statement without). Character pages read the
-- raw rows: a character's kills are few.
--
-- Counting: intel_totals_add() counts a set of killmails once, and
-- intel_counted_killmails records which ones it counted, so a re-imported
-- killmail is never counted twice. The import hook
-- (evedmv_tui.intel.totals:on_batch) calls it after every committed batch.
-- Attackers, victims, systems and times of a stored killmail never change;
-- its ISK value does (zKillboard blocks merged on re-import, computed values
-- after a price import), and the trigger at the end of this file moves the
-- change into the totals. No code path deletes killmails.

CREATE TABLE intel_counted_killmails (
    killmail_id  bigint PRIMARY KEY
);

-- Summary figures of one entity on one UTC day. ISK sums are numeric sums of
-- each killmail's value cast to numeric, so adding days gives the same
-- result as summing the killmails of the whole period.
CREATE TABLE intel_entity_days (
    kind                text NOT NULL CHECK (kind IN ('corporation', 'alliance')),
    entity_id           bigint NOT NULL,
    day                 date NOT NULL,
    kills               integer NOT NULL,
    losses              integer NOT NULL,
    isk_destroyed       numeric NOT NULL,
    isk_lost            numeric NOT NULL,
    solo_kills          integer NOT NULL,
    gang_kills          integer NOT NULL,
    players_on_kills    bigint NOT NULL,
    kills_with_players  integer NOT NULL,
    first_seen          timestamptz NOT NULL,
    last_seen           timestamptz NOT NULL,
    PRIMARY KEY (kind, entity_id, day)
);

-- Top list rows and heatmap hours of one entity on one UTC day. ``list`` is
-- a top list name of evedmv_tui.intel.pages.TOP_LISTS except "regions"
-- (derived from "systems" when a page is read), or "hours" for the heatmap
-- with the UTC hour as key. Ship lists key by ``class`` and store key 0;
-- the other lists store class ''. Each count is of distinct killmails.
CREATE TABLE intel_entity_day_tops (
    kind       text NOT NULL CHECK (kind IN ('corporation', 'alliance')),
    entity_id  bigint NOT NULL,
    day        date NOT NULL,
    list       text NOT NULL,
    key        bigint NOT NULL,
    class      text NOT NULL,
    kills      integer NOT NULL,
    losses     integer NOT NULL,
    -- A page reads an entity's rows by index-only scan: its rows are
    -- adjacent in the index but scattered over the heap, one page each.
    PRIMARY KEY (kind, entity_id, day, list, key, class) INCLUDE (kills, losses)
);

-- Counts the killmails of ``ids`` (with killmail_time between start_time and
-- end_time) that are stored and not yet counted; returns how many it counted.
-- The per-killmail figures follow entity_page.sql, which defines them.
CREATE FUNCTION intel_totals_add(
    ids bigint[], start_time timestamptz, end_time timestamptz
) RETURNS bigint
LANGUAGE sql
-- Row estimates of CTEs over a parameter array are guesses (often 1 row),
-- and a nested loop over two CTEs of thousands of rows is quadratic. The
-- attacker lookup below is LATERAL, so it stays a nested loop; every other
-- join hashes, and so does every DISTINCT and GROUP BY (a sort of the
-- "flown with" pairs took most of a batch's time). A day of the back-fill
-- (about 12,000 killmails) fits in memory with 64 MB.
SET enable_nestloop = off
SET enable_sort = off
SET work_mem = '64MB'
AS $$
WITH candidates AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time,
           (k.killmail_time AT TIME ZONE 'UTC')::date AS day,
           extract(hour FROM k.killmail_time AT TIME ZONE 'UTC')::bigint AS hour,
           k.solar_system_id, coalesce(k.total_value, 0)::numeric AS value,
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
days AS (
    INSERT INTO intel_entity_days AS t
    SELECT kind, entity_id, day, sum(kills), sum(losses), sum(isk_destroyed),
           sum(isk_lost), sum(solo_kills), sum(gang_kills),
           sum(players_on_kills), sum(kills_with_players), min(first_seen),
           max(last_seen)
    FROM (
        SELECT kind, entity_id, day, count(*) AS kills, 0 AS losses,
               sum(value) AS isk_destroyed, 0 AS isk_lost,
               count(*) FILTER (WHERE players = 1) AS solo_kills,
               count(*) FILTER (WHERE players >= 2) AS gang_kills,
               sum(players) AS players_on_kills,
               count(*) FILTER (WHERE players >= 1) AS kills_with_players,
               min(killmail_time) AS first_seen, max(killmail_time) AS last_seen
        FROM kill_events GROUP BY kind, entity_id, day
        UNION ALL
        SELECT kind, entity_id, day, 0, count(*), 0, sum(value), 0, 0, 0, 0,
               min(killmail_time), max(killmail_time)
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
        last_seen = greatest(t.last_seen, excluded.last_seen)
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
        -- Other attackers on the entity's kills: those whose corporation
        -- (on a corporation's kill) or alliance (on an alliance's kill)
        -- differs from the entity or is unset.
        SELECT kind, entity_id, day, list, key, '', count(*), 0
        FROM (
            SELECT DISTINCT e.kind, e.entity_id, e.day, w.list, w.key,
                   e.killmail_id
            FROM kill_events e
            JOIN attacker_groups g USING (killmail_id)
            CROSS JOIN LATERAL (
                VALUES ('with_corporations', g.corporation_id),
                       ('with_alliances', g.alliance_id)
            ) w(list, key)
            WHERE w.key IS NOT NULL
              AND CASE e.kind
                      WHEN 'corporation' THEN g.corporation_id
                      ELSE g.alliance_id
                  END IS DISTINCT FROM e.entity_id
        ) flown_with
        GROUP BY kind, entity_id, day, list, key
    ) parts
    GROUP BY kind, entity_id, day, list, key, class
    ON CONFLICT (kind, entity_id, day, list, key, class) DO UPDATE SET
        kills = t.kills + excluded.kills,
        losses = t.losses + excluded.losses
)
SELECT count(*) FROM fresh
$$;

-- Moves changes of killmails.total_value into the ISK totals of the
-- killmails already counted. Killmails inserted by the same transaction
-- (an import batch valuing its new killmails) cannot be counted yet, so
-- they are skipped without a lock. The advisory lock is the one
-- evedmv_tui.intel.totals takes while counting, so a value that changes
-- while a batch is counted is either read by the count or moved here.
CREATE FUNCTION intel_totals_value_changed() RETURNS trigger
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
               n.victim_corporation_id, n.victim_alliance_id
        FROM old_rows o JOIN new_rows n USING (killmail_id, killmail_time)
        WHERE o.total_value IS DISTINCT FROM n.total_value
          AND o.inserted_at < now()
          AND EXISTS (SELECT FROM intel_counted_killmails c
                      WHERE c.killmail_id = n.killmail_id)
    ),
    lost AS (
        SELECT e.kind, e.entity_id, c.day, 0::numeric AS destroyed,
               c.delta AS lost
        FROM changed c
        CROSS JOIN LATERAL (
            VALUES ('corporation', c.victim_corporation_id),
                   ('alliance', c.victim_alliance_id)
        ) e(kind, entity_id)
        WHERE e.entity_id IS NOT NULL
    ),
    destroyed AS (
        SELECT e.kind, e.entity_id, c.day, c.delta AS destroyed,
               0::numeric AS lost
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
               sum(lost) AS lost
        FROM (SELECT * FROM lost UNION ALL SELECT * FROM destroyed) parts
        GROUP BY kind, entity_id, day
    )
    UPDATE intel_entity_days t
    SET isk_destroyed = t.isk_destroyed + d.destroyed,
        isk_lost = t.isk_lost + d.lost
    FROM deltas d
    WHERE t.kind = d.kind AND t.entity_id = d.entity_id AND t.day = d.day;
    RETURN NULL;
END
$$;

CREATE TRIGGER intel_totals_value_changed
    AFTER UPDATE ON killmails
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION intel_totals_value_changed();

-- Counts every stored killmail not yet counted, one UTC day at a time so
-- that each step's working set stays small; returns how many it counted.
CREATE FUNCTION intel_totals_rebuild() RETURNS bigint
LANGUAGE sql AS $$
SELECT coalesce(sum(intel_totals_add(
           ARRAY(SELECT k.killmail_id FROM killmails k
                 WHERE k.killmail_time >= d.day AND k.killmail_time < d.next_day),
           d.day, d.next_day)), 0)::bigint
FROM (
    SELECT day AT TIME ZONE 'UTC' AS day,
           (day + interval '1 day') AT TIME ZONE 'UTC' AS next_day
    FROM generate_series(
        (SELECT date_trunc('day', min(killmail_time) AT TIME ZONE 'UTC')
         FROM killmails),
        (SELECT date_trunc('day', max(killmail_time) AT TIME ZONE 'UTC')
         FROM killmails),
        interval '1 day'
    ) AS day
) d
$$;

-- Back-fill from the killmails already stored.
SELECT intel_totals_rebuild();
ANALYZE intel_counted_killmails;
ANALYZE intel_entity_days;
ANALYZE intel_entity_day_tops;

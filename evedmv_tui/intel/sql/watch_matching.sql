-- The common part of watch_match.sql and watch_match_recheck.sql, which
-- each append their statement to it. The CTE "matched" contains the profiles
-- and killmails that match, of one batch of killmails (%(ids)s, all with
-- killmail_time between %(min_time)s and %(max_time)s) and every enabled
-- watch profile, or only profile %(profile_id)s when it is not NULL. With
-- %(include_disabled)s, that profile takes part even when it is disabled.
--
-- A profile matches when every condition group it sets holds:
--   entities: the victim or any attacker is one of its characters,
--             corporations or alliances;
--   places:   the system is one of its systems or lies in one of its regions;
--   ships:    the victim's or any attacker's ship is one of its types or of
--             one of its ship classes;
--   min_value, min_attackers, max_attackers: bounds on total_value and
--             attacker_count.
WITH batch AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time, k.solar_system_id, s.region_id,
           k.victim_character_id, k.victim_corporation_id, k.victim_alliance_id,
           k.victim_ship_type_id, vg.ship_class AS victim_ship_class,
           k.total_value, k.attacker_count
    FROM killmails k
    LEFT JOIN solar_systems s ON s.solar_system_id = k.solar_system_id
    LEFT JOIN types vt ON vt.type_id = k.victim_ship_type_id
    LEFT JOIN groups vg ON vg.group_id = vt.group_id
    WHERE k.killmail_id = ANY(%(ids)s::bigint[])
      AND k.killmail_time BETWEEN %(min_time)s AND %(max_time)s
),
profiles AS MATERIALIZED (
    SELECT p.*,
           cardinality(p.character_ids) + cardinality(p.corporation_ids)
               + cardinality(p.alliance_ids) > 0 AS has_entities,
           cardinality(p.solar_system_ids) + cardinality(p.region_ids) > 0
               AS has_places,
           cardinality(p.ship_type_ids) + cardinality(p.ship_classes) > 0
               AS has_ships
    FROM watch_profiles p
    WHERE (p.enabled OR %(include_disabled)s::boolean)
      AND (%(profile_id)s::bigint IS NULL OR p.profile_id = %(profile_id)s::bigint)
),
matched AS (
    SELECT p.profile_id, b.killmail_id, b.killmail_time
    FROM profiles p
    JOIN batch b
      ON (p.min_value IS NULL OR coalesce(b.total_value, 0) >= p.min_value)
     AND (p.min_attackers IS NULL OR b.attacker_count >= p.min_attackers)
     AND (p.max_attackers IS NULL OR b.attacker_count <= p.max_attackers)
     AND (NOT p.has_places
          OR b.solar_system_id = ANY(p.solar_system_ids)
          OR b.region_id = ANY(p.region_ids))
    WHERE (NOT p.has_entities
           OR b.victim_character_id = ANY(p.character_ids)
           OR b.victim_corporation_id = ANY(p.corporation_ids)
           OR b.victim_alliance_id = ANY(p.alliance_ids)
           OR EXISTS (
               SELECT 1 FROM attackers a
               WHERE a.killmail_id = b.killmail_id
                 AND a.killmail_time = b.killmail_time
                 AND (a.character_id = ANY(p.character_ids)
                      OR a.corporation_id = ANY(p.corporation_ids)
                      OR a.alliance_id = ANY(p.alliance_ids))))
      AND (NOT p.has_ships
           OR b.victim_ship_type_id = ANY(p.ship_type_ids)
           OR b.victim_ship_class = ANY(p.ship_classes)
           OR EXISTS (
               SELECT 1 FROM attackers a
               LEFT JOIN types t ON t.type_id = a.ship_type_id
               LEFT JOIN groups g ON g.group_id = t.group_id
               WHERE a.killmail_id = b.killmail_id
                 AND a.killmail_time = b.killmail_time
                 AND (a.ship_type_id = ANY(p.ship_type_ids)
                      OR g.ship_class = ANY(p.ship_classes))))
)

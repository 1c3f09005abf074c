-- The battle row, and the killmails the sources reported by id and hash whose
-- body is still pending, with ids inside the battle's killmail id range.
-- Killmail ids grow with time, so those may belong to the battle, but their
-- system is unknown until the body arrives.
-- The regions follow the order of their first system in solar_system_ids,
-- as in battles_list, so the header's first region is the first system's.
-- outdated is static_data_version.battles_outdated, as in battles_list.
SELECT b.battle_id, b.start_time, b.end_time, b.solar_system_ids,
       ARRAY(SELECT r.region_id
             FROM unnest(b.region_ids) AS r (region_id)
             ORDER BY (SELECT min(u.n)
                       FROM unnest(b.solar_system_ids) WITH ORDINALITY AS u (id, n)
                       JOIN solar_systems s ON s.solar_system_id = u.id
                       WHERE s.region_id = r.region_id) NULLS LAST,
                      r.region_id) AS region_ids,
       b.kills, b.pilots, b.isk_destroyed, b.side_count, b.kind, b.confidence,
       b.changed, b.updated_at, b.metrics,
       (SELECT count(*)::integer
        FROM killmail_index AS i
        WHERE i.state = 'pending'
          AND i.killmail_id BETWEEN ids.low AND ids.high) AS kills_pending,
       (SELECT v.battles_outdated FROM static_data_version v) AS outdated
FROM battles AS b
CROSS JOIN LATERAL (
    SELECT min(m.killmail_id) AS low, max(m.killmail_id) AS high
    FROM battle_killmails AS m
    WHERE m.battle_id = b.battle_id
) AS ids
WHERE b.battle_id = %s

-- Refresh zkb values of stored killmails from the staged, newest blocks.
-- The blocks are compared as jsonb, so a block equal to the stored one
-- changes nothing whatever its spacing or key order. A block without ISK
-- values keeps the values already there.
WITH changed AS (
    UPDATE killmails AS k
    SET total_value = coalesce(s.total_value, k.total_value),
        fitted_value = coalesce(s.fitted_value, k.fitted_value),
        dropped_value = coalesce(s.dropped_value, k.dropped_value),
        destroyed_value = coalesce(s.destroyed_value, k.destroyed_value),
        value_source = CASE WHEN s.total_value IS NOT NULL
                            THEN 'zkb' ELSE k.value_source END,
        points = coalesce(s.points, k.points),
        npc = coalesce(s.npc, k.npc),
        solo = coalesce(s.solo, k.solo),
        awox = coalesce(s.awox, k.awox),
        location_id = coalesce(s.location_id, k.location_id),
        labels = coalesce(s.labels, k.labels),
        killmail_hash = coalesce(k.killmail_hash, s.killmail_hash),
        zkb_body = s.zkb_body,
        zkb_seen_at = s.zkb_seen_at,
        updated_at = now()
    FROM killmail_zkb_stage AS s
    WHERE k.killmail_id = s.killmail_id
      AND k.killmail_time = s.killmail_time
      AND k.zkb_body::jsonb IS DISTINCT FROM s.zkb_body::jsonb
    RETURNING k.killmail_id, k.killmail_time, k.solar_system_id
), hashes AS (
    UPDATE killmail_index AS i
    SET killmail_hash = s.killmail_hash, updated_at = now()
    FROM killmail_zkb_stage AS s
    WHERE i.killmail_id = s.killmail_id
      AND i.killmail_hash IS NULL
      AND s.killmail_hash IS NOT NULL
)
SELECT killmail_id, killmail_time, solar_system_id FROM changed

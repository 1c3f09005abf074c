-- The JSON and text arrays are sent in binary format: the text format escapes
-- every quote of the metrics documents, which took 47 ms against 15 ms for
-- 200 metrics of 3.3 kB each. The numbers stay text, so a confidence is
-- rounded to real from its decimal text as before.
INSERT INTO battles AS b
    (battle_id, start_time, end_time, solar_system_ids, region_ids, kills, pilots,
     isk_destroyed, side_count, kind, confidence, changed, metrics)
SELECT r.battle_id, r.start_time, r.end_time,
       ARRAY(SELECT jsonb_array_elements_text(r.systems)::bigint),
       ARRAY(SELECT jsonb_array_elements_text(r.regions)::bigint),
       r.kills, r.pilots, r.isk_destroyed, r.side_count, r.kind, r.confidence,
       r.changed, r.metrics
FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %b::jsonb[],
            %b::jsonb[], %s::integer[], %s::integer[], %s::double precision[],
            %s::integer[], %b::text[], %s::real[], %s::boolean[], %b::jsonb[])
     AS r (battle_id, start_time, end_time, systems, regions, kills, pilots,
           isk_destroyed, side_count, kind, confidence, changed, metrics)
ON CONFLICT (battle_id) DO UPDATE SET
    start_time = EXCLUDED.start_time,
    end_time = EXCLUDED.end_time,
    solar_system_ids = EXCLUDED.solar_system_ids,
    region_ids = EXCLUDED.region_ids,
    kills = EXCLUDED.kills,
    pilots = EXCLUDED.pilots,
    isk_destroyed = EXCLUDED.isk_destroyed,
    side_count = EXCLUDED.side_count,
    kind = EXCLUDED.kind,
    confidence = EXCLUDED.confidence,
    changed = b.changed OR EXCLUDED.changed,
    metrics = EXCLUDED.metrics,
    updated_at = now()

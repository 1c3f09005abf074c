-- Stored battles matching the filters, largest first by the order parameter:
-- start (newest first), kills, pilots, isk or duration. Ties go to the higher
-- id. A battle is ongoing while its last kill is less than a quiet
-- period old. matches counts every battle the filters match, before LIMIT.
-- outdated repeats static_data_version.battles_outdated on every row, so the
-- list needs no second round trip to say the battles need a full detection.
SELECT b.battle_id, b.start_time, b.end_time, b.solar_system_ids,
       ARRAY(SELECT coalesce(s.solar_system_name, u.id::text)
             FROM unnest(b.solar_system_ids) WITH ORDINALITY AS u (id, n)
             LEFT JOIN solar_systems s ON s.solar_system_id = u.id
             ORDER BY u.n) AS system_names,
       -- Regions in the order of their first system in solar_system_ids, so
       -- the first region named is the first system's.
       ARRAY(SELECT r.region_name FROM regions r
             WHERE r.region_id = ANY(b.region_ids)
             ORDER BY (SELECT min(u.n)
                       FROM unnest(b.solar_system_ids) WITH ORDINALITY AS u (id, n)
                       JOIN solar_systems s ON s.solar_system_id = u.id
                       WHERE s.region_id = r.region_id) NULLS LAST,
                      r.region_name) AS region_names,
       b.kills, b.pilots, b.isk_destroyed, b.side_count, b.kind, b.confidence,
       b.changed,
       b.end_time > now() - make_interval(secs => %(quiet_seconds)s) AS ongoing,
       b.updated_at,
       count(*) OVER () AS matches,
       (SELECT v.battles_outdated FROM static_data_version v) AS outdated
FROM battles b
WHERE (%(since)s::timestamptz IS NULL OR b.end_time >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR b.start_time <= %(until)s::timestamptz)
  AND (%(min_kills)s::integer IS NULL OR b.kills >= %(min_kills)s::integer)
  AND (%(min_pilots)s::integer IS NULL OR b.pilots >= %(min_pilots)s::integer)
  AND (%(min_isk)s::double precision IS NULL
       OR b.isk_destroyed >= %(min_isk)s::double precision)
  AND (%(system)s::text IS NULL OR EXISTS (
        SELECT 1 FROM solar_systems s
        WHERE s.solar_system_id = ANY(b.solar_system_ids)
          AND (lower(s.solar_system_name) = lower(%(system)s::text)
               OR s.solar_system_id::text = %(system)s::text))
       OR %(system)s::text = ANY(b.solar_system_ids::text[]))
  AND (%(region)s::text IS NULL OR EXISTS (
        SELECT 1 FROM regions r
        WHERE r.region_id = ANY(b.region_ids)
          AND (lower(r.region_name) = lower(%(region)s::text)
               OR r.region_id::text = %(region)s::text)))
-- Each CASE is NULL on every row unless it is the chosen order, so only one
-- of them sorts, and it compares the column in its own type.
ORDER BY CASE WHEN %(order)s::text = 'start' THEN b.start_time END DESC,
         CASE WHEN %(order)s::text = 'kills' THEN b.kills END DESC,
         CASE WHEN %(order)s::text = 'pilots' THEN b.pilots END DESC,
         CASE WHEN %(order)s::text = 'isk' THEN b.isk_destroyed END DESC,
         CASE WHEN %(order)s::text = 'duration'
              THEN b.end_time - b.start_time END DESC,
         b.battle_id DESC
LIMIT %(limit)s

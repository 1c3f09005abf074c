-- Stored battles matching the filters, newest first. A battle is ongoing
-- while its last kill is less than a quiet period old.
SELECT b.battle_id, b.start_time, b.end_time, b.solar_system_ids,
       ARRAY(SELECT coalesce(s.solar_system_name, u.id::text)
             FROM unnest(b.solar_system_ids) WITH ORDINALITY AS u (id, n)
             LEFT JOIN solar_systems s ON s.solar_system_id = u.id
             ORDER BY u.n) AS system_names,
       ARRAY(SELECT r.region_name FROM regions r
             WHERE r.region_id = ANY(b.region_ids)
             ORDER BY r.region_name) AS region_names,
       b.kills, b.pilots, b.isk_destroyed, b.side_count, b.kind, b.confidence,
       b.changed,
       b.end_time > now() - make_interval(secs => %(quiet_seconds)s) AS ongoing,
       b.updated_at
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
ORDER BY b.start_time DESC, b.battle_id DESC
LIMIT %(limit)s

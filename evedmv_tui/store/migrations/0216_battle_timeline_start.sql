-- A battle's timeline counts kills per minute from its first kill, but
-- detection stored the timeline's start cut to the whole minute, so a
-- reader of the report JSON that placed minute i at start + i minutes put
-- kills up to 59 s early. Detection now stores the first kill's exact time,
-- which the metrics document already holds as its own start.
UPDATE battles
SET metrics = jsonb_set(metrics, '{timeline,start}', metrics -> 'start')
WHERE metrics ? 'start'
  AND metrics -> 'timeline' ? 'start'
  AND metrics -> 'timeline' -> 'start' IS DISTINCT FROM metrics -> 'start';

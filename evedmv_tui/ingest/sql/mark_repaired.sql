-- Record that a repair brought the derived data of these stopped imports up
-- to date.
UPDATE imports
SET repaired_at = now()
WHERE import_id = ANY(%(import_ids)s::bigint[])
  AND finished_at IS NULL

-- The imports that stopped early and were not repaired yet, which have no
-- finished_at and a free session lock. A running import holds its lock from
-- before its row commits (start_import.sql) until its connection ends, so it
-- is never listed, and a listed import cannot run again.
SELECT i.import_id
FROM imports AS i
WHERE i.finished_at IS NULL
  AND i.repaired_at IS NULL
  AND NOT import_lock_held(i.import_id, %(lock_class)s)
ORDER BY i.import_id

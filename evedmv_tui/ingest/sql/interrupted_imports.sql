-- The imports that stopped early and were not repaired yet, which have no
-- finished_at and a free session lock. A running import holds its lock from
-- before its row commits (start_import.sql) until its connection ends, so it
-- is never listed, and a listed import cannot run again.
SELECT i.import_id
FROM imports AS i
WHERE i.finished_at IS NULL
  AND i.repaired_at IS NULL
  AND NOT EXISTS (
      SELECT 1
      FROM pg_locks AS l
      WHERE l.locktype = 'advisory'
        AND l.granted
        AND l.database = (SELECT oid FROM pg_database
                          WHERE datname = current_database())
        AND l.classid = %(lock_class)s::bigint::oid
        AND l.objid = (i.import_id %% 2147483648)::oid
        AND l.objsubid = 2
  )
ORDER BY i.import_id

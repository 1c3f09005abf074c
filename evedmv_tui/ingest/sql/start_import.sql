-- Open the record of one import, take its session lock and return its id.
-- The row commits at the end of this statement, after the lock is taken, so
-- no other session can read the row of a running import without its lock.
WITH opened AS (
    INSERT INTO imports (paths) VALUES (%(paths)s::text[]) RETURNING import_id
)
SELECT import_id,
       pg_advisory_lock(%(lock_class)s, (import_id %% 2147483648)::int4)
FROM opened

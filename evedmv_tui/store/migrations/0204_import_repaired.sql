-- When 'evedmv repair' brought the derived data up to date after an import
-- that stopped early (Ctrl-C, a killed importer, a lost server). Such an
-- import keeps finished_at NULL, because it did not read all of its files,
-- and the Ingest panel shows it as interrupted and asks for a repair until
-- this column is set. finished_at stays NULL, so the time of the last
-- complete import is still max(finished_at).
ALTER TABLE imports ADD COLUMN repaired_at timestamptz;

-- Whether the importer of import_id still holds the session lock that
-- start_import.sql took with pg_advisory_lock(lock_class, import_id mod
-- 2^31). The server drops the lock when the importer's connection ends, so
-- an unfinished import without it stopped early.
CREATE FUNCTION import_lock_held(import_id bigint, lock_class integer)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
SELECT EXISTS (
    SELECT 1
    FROM pg_locks AS l
    WHERE l.locktype = 'advisory'
      AND l.granted
      AND l.database = (SELECT oid FROM pg_database
                        WHERE datname = current_database())
      AND l.classid = lock_class::bigint::oid
      AND l.objid = (import_id % 2147483648)::oid
      AND l.objsubid = 2
)
$$;

/* evedmv-monitor */
-- Sessions that hold or wait for an ACCESS EXCLUSIVE lock, the only mode that
-- conflicts with the ACCESS SHARE lock of a plain SELECT, on a relation of
-- the current database. With %(tables)s, only locks on those tables, their
-- partitions and their indexes count. A waiting request counts too, because
-- later requests queue behind it.
WITH listed AS (
    SELECT to_regclass(t.name) AS relid
    FROM unnest(%(tables)s::text[]) AS t (name)
),
-- pg_partition_tree() returns no row for a table that is not partitioned
-- (checked on PostgreSQL 15.18), so the listed tables join on their own.
named AS (
    SELECT relid FROM listed
    UNION
    SELECT p.relid FROM listed AS l CROSS JOIN LATERAL pg_partition_tree(l.relid) AS p
)
SELECT DISTINCT l.pid
FROM pg_locks AS l
WHERE l.locktype = 'relation'
  AND l.mode = 'AccessExclusiveLock'
  AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (%(tables)s::text[] IS NULL
       OR l.relation IN (SELECT relid FROM named)
       OR l.relation IN (SELECT i.indexrelid
                         FROM pg_index AS i
                         WHERE i.indrelid IN (SELECT relid FROM named)))
ORDER BY l.pid

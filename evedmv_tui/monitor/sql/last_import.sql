/* evedmv-monitor */
-- The newest import, and whether its importer still holds the session lock
-- that start_import took (the server drops it when the importer dies).
SELECT i.import_id,
       extract(epoch FROM i.started_at)::double precision AS started,
       extract(epoch FROM i.finished_at)::double precision AS finished,
       extract(epoch FROM i.repaired_at)::double precision AS repaired,
       i.read,
       i.inserted,
       i.rejected,
       i.pending,
       EXISTS (
           SELECT 1
           FROM pg_locks AS l
           WHERE l.locktype = 'advisory'
             AND l.granted
             AND l.database = (SELECT oid FROM pg_database
                               WHERE datname = current_database())
             AND l.classid = %(lock_class)s::bigint::oid
             AND l.objid = (i.import_id %% 2147483648)::oid
             AND l.objsubid = 2
       ) AS locked
FROM imports AS i
ORDER BY i.import_id DESC
LIMIT 1

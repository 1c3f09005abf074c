/* evedmv-monitor */
-- The newest import, and whether its importer still holds the session lock
-- that start_import took (the server drops it when the importer dies).
SELECT i.import_id,
       extract(epoch FROM i.started_at)::double precision AS started,
       extract(epoch FROM i.finished_at)::double precision AS finished,
       extract(epoch FROM i.repaired_at)::double precision AS repaired,
       i.failed,
       i.read,
       i.inserted,
       i.rejected,
       i.pending,
       import_lock_held(i.import_id, %(lock_class)s) AS locked
FROM imports AS i
ORDER BY i.import_id DESC
LIMIT 1

/* evedmv-monitor */
SELECT i.import_id,
       extract(epoch FROM i.started_at)::double precision AS started,
       extract(epoch FROM i.finished_at)::double precision AS finished,
       i.read,
       i.inserted,
       i.rejected,
       i.pending
FROM imports AS i
ORDER BY i.import_id DESC
LIMIT 1

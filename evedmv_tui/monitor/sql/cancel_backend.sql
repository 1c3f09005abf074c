/* evedmv-monitor */
-- Cancel the query only while the session that started at %(backend_start)s
-- still runs the query that started at %(query_start)s. A pid that a new
-- session took has another backend_start, and a query that ended has given
-- way to the next one or to none, so no row is returned and nothing is
-- signalled.
SELECT pg_cancel_backend(a.pid)
FROM pg_stat_activity AS a
WHERE a.pid = %(pid)s
  AND a.backend_start = %(backend_start)s
  AND a.query_start = %(query_start)s
  AND a.state <> 'idle'

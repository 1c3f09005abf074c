/* evedmv-monitor */
-- Signal the backend only while it is still the session that started at
-- %(backend_start)s. A pid that a new session took since then has another
-- backend_start, so no row is returned and nothing is signalled.
SELECT pg_terminate_backend(a.pid)
FROM pg_stat_activity AS a
WHERE a.pid = %(pid)s AND a.backend_start = %(backend_start)s

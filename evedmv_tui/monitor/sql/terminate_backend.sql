/* evedmv-monitor */
SELECT pg_terminate_backend(%(pid)s)

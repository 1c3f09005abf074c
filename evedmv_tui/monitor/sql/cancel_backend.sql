/* evedmv-monitor */
SELECT pg_cancel_backend(%(pid)s)

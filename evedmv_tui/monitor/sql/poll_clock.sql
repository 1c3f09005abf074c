/* evedmv-monitor */
-- The start of every poll: the poll's own backend, the server clock and the
-- postmaster start time, which changes when the server restarted. The
-- current database's pg_stat_database counters follow in the same round
-- trip, from database on in the column order of DatabaseCounters.
SELECT pg_backend_pid() AS backend_pid,
       extract(epoch FROM clock_timestamp())::double precision AS server_time,
       extract(epoch FROM pg_postmaster_start_time())::double precision
           AS postmaster_start,
       current_database() AS database,
       d.numbackends AS backends,
       d.xact_commit,
       d.xact_rollback,
       d.blks_read,
       d.blks_hit,
       d.tup_returned,
       d.tup_fetched,
       d.tup_inserted,
       d.tup_updated,
       d.tup_deleted,
       d.deadlocks,
       d.temp_files,
       d.temp_bytes,
       extract(epoch FROM d.stats_reset)::double precision AS stats_reset,
       current_setting('max_connections')::int AS max_connections
FROM (VALUES (1)) AS one (n)
LEFT JOIN pg_stat_database AS d ON d.datname = current_database()

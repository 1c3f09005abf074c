/* evedmv-monitor */
SELECT d.datname AS database,
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
FROM pg_stat_database AS d
WHERE d.datname = current_database()

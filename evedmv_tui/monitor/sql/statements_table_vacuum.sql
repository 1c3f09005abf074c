/* evedmv-monitor */
-- Temporary tables are never vacuumed by autovacuum, so the monitor vacuums
-- its own after a number of updated and deleted rows.
VACUUM pg_temp.evedmv_monitor_statements

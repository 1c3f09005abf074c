/* evedmv-monitor */
-- The counters of the previous poll on this session, which
-- statements_changes compares against. A temporary table lives as long as
-- its session, so each pooled connection has its own. Recreating it empties
-- it, and the next statements_changes then returns every entry.
-- pg_stat_statements stores each statement of a query string from the end
-- of the one before it (PostgreSQL 15), so the second statement carries
-- its own marker.
DROP TABLE IF EXISTS pg_temp.evedmv_monitor_statements;
/* evedmv-monitor */
CREATE TEMPORARY TABLE evedmv_monitor_statements (
    userid bigint NOT NULL,
    dbid bigint NOT NULL,
    toplevel boolean NOT NULL,
    queryid bigint NOT NULL,
    calls bigint,
    total_exec_time double precision,
    total_plan_time double precision,
    rows bigint,
    shared_blks_hit bigint,
    shared_blks_read bigint,
    shared_blks_dirtied bigint,
    shared_blks_written bigint,
    temp_blks_read bigint,
    temp_blks_written bigint,
    blk_read_time double precision,
    blk_write_time double precision,
    PRIMARY KEY (userid, dbid, toplevel, queryid)
)

/* evedmv-monitor */
-- pg_stat_statements 1.2 to 1.7: one total_time, no plan time, no toplevel.
SELECT s.userid::bigint AS userid,
       s.dbid::bigint AS dbid,
       true AS toplevel,
       s.queryid,
       s.calls,
       s.total_time AS total_exec_time,
       0::double precision AS total_plan_time,
       s.rows,
       s.shared_blks_hit,
       s.shared_blks_read,
       s.shared_blks_dirtied,
       s.shared_blks_written,
       s.temp_blks_read,
       s.temp_blks_written,
       s.blk_read_time,
       s.blk_write_time
FROM {schema}.pg_stat_statements(false) AS s

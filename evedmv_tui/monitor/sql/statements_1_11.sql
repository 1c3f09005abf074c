/* evedmv-monitor */
-- pg_stat_statements 1.11 and later: blk_read_time and blk_write_time became
-- shared_blk_*_time, and local_blk_*_time was added; both are summed here.
SELECT s.userid::bigint AS userid,
       s.dbid::bigint AS dbid,
       s.toplevel,
       s.queryid,
       s.calls,
       s.total_exec_time,
       s.total_plan_time,
       s.rows,
       s.shared_blks_hit,
       s.shared_blks_read,
       s.shared_blks_dirtied,
       s.shared_blks_written,
       s.temp_blks_read,
       s.temp_blks_written,
       s.shared_blk_read_time + s.local_blk_read_time AS blk_read_time,
       s.shared_blk_write_time + s.local_blk_write_time AS blk_write_time
FROM {schema}.pg_stat_statements(false) AS s

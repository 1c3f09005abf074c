/* evedmv-monitor */
-- The entries whose counters differ from this session's previous poll, then
-- the keys of the entries that are gone since (with removed true and NULL
-- counters), and store the new counters for the next poll. Entries of other
-- roles that the current role may not see have a NULL queryid; they are
-- returned every time and never stored. Every row ends with
-- pg_stat_statements_info's dealloc and stats_reset (NULL before 1.9), and
-- when nothing changed the one row returned has only those two.
-- The counters and info parts are the queries of the installed extension
-- version.
WITH current AS MATERIALIZED (
{counters}
),
info AS (
{info}
),
changed AS MATERIALIZED (
    SELECT c.*
    FROM current AS c
    LEFT JOIN pg_temp.evedmv_monitor_statements AS p
        ON p.userid = c.userid
        AND p.dbid = c.dbid
        AND p.toplevel = c.toplevel
        AND p.queryid = c.queryid
    WHERE c.queryid IS NULL
        OR p.queryid IS NULL
        OR (c.calls, c.total_exec_time, c.total_plan_time, c.rows,
            c.shared_blks_hit, c.shared_blks_read, c.shared_blks_dirtied,
            c.shared_blks_written, c.temp_blks_read, c.temp_blks_written,
            c.blk_read_time, c.blk_write_time)
           IS DISTINCT FROM
           (p.calls, p.total_exec_time, p.total_plan_time, p.rows,
            p.shared_blks_hit, p.shared_blks_read, p.shared_blks_dirtied,
            p.shared_blks_written, p.temp_blks_read, p.temp_blks_written,
            p.blk_read_time, p.blk_write_time)
),
removed AS (
    DELETE FROM pg_temp.evedmv_monitor_statements AS p
    WHERE NOT EXISTS (
        SELECT
        FROM current AS c
        WHERE c.userid = p.userid
            AND c.dbid = p.dbid
            AND c.toplevel = p.toplevel
            AND c.queryid = p.queryid
    )
    RETURNING p.userid, p.dbid, p.toplevel, p.queryid
),
stored AS (
    INSERT INTO pg_temp.evedmv_monitor_statements
    SELECT * FROM changed WHERE queryid IS NOT NULL
    ON CONFLICT (userid, dbid, toplevel, queryid) DO UPDATE
    SET (calls, total_exec_time, total_plan_time, rows, shared_blks_hit,
         shared_blks_read, shared_blks_dirtied, shared_blks_written,
         temp_blks_read, temp_blks_written, blk_read_time, blk_write_time)
      = (excluded.calls, excluded.total_exec_time, excluded.total_plan_time,
         excluded.rows, excluded.shared_blks_hit, excluded.shared_blks_read,
         excluded.shared_blks_dirtied, excluded.shared_blks_written,
         excluded.temp_blks_read, excluded.temp_blks_written,
         excluded.blk_read_time, excluded.blk_write_time)
),
changes AS (
    SELECT c.*, false AS removed FROM changed AS c
    UNION ALL
    SELECT r.userid, r.dbid, r.toplevel, r.queryid,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           true
    FROM removed AS r
)
SELECT c.*, i.dealloc, i.stats_reset
FROM info AS i
LEFT JOIN changes AS c ON true

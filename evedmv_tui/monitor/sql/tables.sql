/* evedmv-monitor */
-- Tables large enough that a sequential scan hurts, with their scan counts.
SELECT t.schemaname AS schema_name,
       t.relname AS table_name,
       t.seq_scan,
       t.seq_tup_read,
       coalesce(t.idx_scan, 0) AS idx_scan,
       t.n_live_tup AS live_rows,
       pg_relation_size(t.relid) AS size_bytes
FROM pg_stat_user_tables AS t
WHERE t.n_live_tup >= %(min_rows)s AND t.seq_scan > 0
ORDER BY t.seq_tup_read DESC
LIMIT 50

/* evedmv-monitor */
-- pg_stat_statements 1.9 and later: entries evicted and time of the last
-- reset (epoch seconds).
SELECT i.dealloc, extract(epoch FROM i.stats_reset)::double precision AS stats_reset
FROM {schema}.pg_stat_statements_info AS i

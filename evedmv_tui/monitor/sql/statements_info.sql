/* evedmv-monitor */
-- pg_stat_statements 1.9 and later: entries evicted and time of the last reset.
SELECT i.dealloc, i.stats_reset FROM {schema}.pg_stat_statements_info AS i

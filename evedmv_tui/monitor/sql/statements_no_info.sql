/* evedmv-monitor */
-- pg_stat_statements before 1.9 has no pg_stat_statements_info.
SELECT NULL::bigint AS dealloc, NULL::double precision AS stats_reset

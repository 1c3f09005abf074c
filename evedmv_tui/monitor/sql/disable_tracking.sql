/* evedmv-monitor */
SET pg_stat_statements.track = 'none'

/* evedmv-monitor */
-- Texts of the given query ids only; the counters query runs without text.
SELECT s.queryid, min(s.query) AS query
FROM {schema}.pg_stat_statements(true) AS s
WHERE s.queryid = ANY(%(queryids)s)
GROUP BY s.queryid

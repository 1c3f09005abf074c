/* evedmv-monitor */
-- Texts of the given query ids only; the counters query runs without text.
-- One queryid can have different texts in different databases or for
-- different roles (column aliases do not change it), so texts are keyed by
-- role, database and queryid.
SELECT s.userid::bigint AS userid, s.dbid::bigint AS dbid, s.queryid,
       min(s.query) AS query
FROM {schema}.pg_stat_statements(true) AS s
WHERE s.queryid = ANY(%(queryids)s)
GROUP BY s.userid, s.dbid, s.queryid

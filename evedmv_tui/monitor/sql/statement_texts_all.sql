/* evedmv-monitor */
-- Every entry's text, for a reader's first text query when the server lists
-- no more entries than it loads at once. Keyed like statement_texts; rows
-- of other roles that the current role may not see have no queryid and are
-- left out.
SELECT s.userid::bigint AS userid, s.dbid::bigint AS dbid, s.queryid,
       min(s.query) AS query
FROM {schema}.pg_stat_statements(true) AS s
WHERE s.queryid IS NOT NULL
GROUP BY s.userid, s.dbid, s.queryid

-- Stored killmails, counted up to a limit: enough to compare with an
-- import's size without counting a large table.
SELECT count(*)
FROM (
    SELECT 1 FROM killmail_index WHERE state = 'stored' LIMIT %(limit)s
) AS stored

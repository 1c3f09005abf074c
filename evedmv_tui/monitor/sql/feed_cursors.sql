/* evedmv-monitor */
SELECT c.feed,
       c.sequence,
       -- clock_timestamp(), not now(): a cursor committed after this read's
       -- transaction began would otherwise get a negative age.
       extract(epoch FROM clock_timestamp() - c.updated_at)::double precision
           AS age_seconds
FROM feed_cursors AS c
ORDER BY c.feed

/* evedmv-monitor */
SELECT c.feed,
       c.sequence,
       extract(epoch FROM now() - c.updated_at)::double precision AS age_seconds
FROM feed_cursors AS c
ORDER BY c.feed

/* evedmv-monitor */
-- Killmails stored in the last window seconds with a recent kill time: the
-- live feed's throughput and its lag from kill to stored row. The bound on
-- killmail_time lets the planner skip old partitions. Rejects count as
-- 'evedmv rejects list' lists them by default: only the unresolved ones, as
-- the view reject_states defines them. Partial indexes of killmail_index
-- serve the pending and invalid counts, so they need not scan the table.
WITH recent AS (
    SELECT k.inserted_at - k.killmail_time AS lag
    FROM killmails AS k
    WHERE k.killmail_time > now() - interval '1 day'
      AND k.inserted_at > now() - make_interval(secs => %(window)s)
),
unresolved AS (
    SELECT r.rejected_at FROM reject_states AS r WHERE NOT r.resolved
)
SELECT (SELECT count(*) FROM recent) AS recent_kills,
       (SELECT extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY lag))
        FROM recent)::double precision AS median_lag_seconds,
       (SELECT extract(epoch FROM max(lag)) FROM recent)::double precision
           AS max_lag_seconds,
       (SELECT count(*) FROM killmail_index WHERE state = 'pending') AS pending,
       (SELECT count(*) FROM killmail_index WHERE state = 'invalid') AS invalid,
       (SELECT count(*) FROM unresolved) AS rejects,
       (SELECT count(*) FROM unresolved
        WHERE rejected_at > now() - interval '1 hour') AS rejects_last_hour

-- The times of the oldest and newest stored killmails (both NULL when none is
-- stored), for telling why a backfill found nothing.
SELECT min(killmail_time), max(killmail_time)
FROM killmails

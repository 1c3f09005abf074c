-- Appended to watch_matching.sql, with %(ids)s killmails that profile
-- %(profile_id)s matched before: delete its matches of those killmails that
-- no longer meet its conditions, and return their killmail ids. A match
-- whose killmail is no longer stored is left alone.
DELETE FROM watch_matches m
USING batch b
WHERE m.profile_id = %(profile_id)s::bigint
  AND m.killmail_id = b.killmail_id
  AND NOT EXISTS (
      SELECT 1 FROM matched x
      WHERE x.profile_id = m.profile_id AND x.killmail_id = m.killmail_id
  )
RETURNING m.killmail_id

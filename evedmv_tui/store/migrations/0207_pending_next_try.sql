-- When a pending killmail may be requested from ESI again. A fetch that
-- fails for this killmail alone (a 404, a wrong body) sets it further out
-- after each attempt, so an import does not send the same failing requests
-- again at once; ESI counts every 4xx against its error limit. NULL means
-- the killmail may be requested now. A new hash from a later import resets
-- it to NULL (ingest/sql/refresh_pending.sql).
ALTER TABLE killmail_index ADD COLUMN next_try_at timestamptz;

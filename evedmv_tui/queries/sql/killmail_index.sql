-- Where a killmail stands: stored, pending (known by hash, body not fetched)
-- or invalid (ESI rejected the hash). The time lets the next queries name
-- one partition of each killmail table.
SELECT killmail_id, state, killmail_time, last_error, attempts, next_try_at
FROM killmail_index
WHERE killmail_id = %(killmail_id)s

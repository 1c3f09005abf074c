-- Killmail references whose id and hash ESI rejected (state 'invalid'), by
-- when they were marked. 'evedmv rejects list --invalid' lists them newest
-- first, and the list's hint and the dashboard's Ingest tab count them
-- every 30 s. Without this index each of these reads scans the whole of
-- killmail_index, which has a row for every stored killmail.
CREATE INDEX killmail_index_invalid ON killmail_index (updated_at, killmail_id)
    WHERE state = 'invalid';

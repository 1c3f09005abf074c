-- When 'evedmv rejects dismiss' marked a reject as dismissed: the user
-- dealt with it in a way the store cannot see, such as importing a renamed
-- copy of a misnamed file. A dismissed reject counts as resolved and keeps
-- its row and raw text. Rejecting the same record again clears the column
-- (insert_rejects.sql), so the reject is unresolved again.
ALTER TABLE rejects ADD COLUMN dismissed_at timestamptz;

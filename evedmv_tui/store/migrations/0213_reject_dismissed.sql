-- When 'evedmv rejects dismiss' marked a reject as dismissed: the user
-- dealt with it in a way the store cannot see, such as importing a renamed
-- copy of a misnamed file. A dismissed reject counts as resolved and keeps
-- its row and raw text. Rejecting the same record again clears the column
-- (insert_rejects.sql), so the reject is unresolved again.
ALTER TABLE rejects ADD COLUMN dismissed_at timestamptz;

-- Whether an error ended the import part way. Such an import still gets
-- finished_at and the totals of what it stored, but it did not read every
-- file it lists in paths.
ALTER TABLE imports ADD COLUMN failed boolean NOT NULL DEFAULT false;

-- Every reject with whether it is resolved, the one definition that the
-- rejects list, the counts and the Home screen share. A reject is resolved
-- when it was dismissed, when the body of its killmail was stored after the
-- record was last rejected (a fixed record imported again, or the body
-- fetched from ESI), or, for a reject without a killmail id (a whole file, or
-- a record whose id cannot be read), when a later import read its file to
-- the end. That import started after the record was last rejected,
-- finished without an error, has the same source_file among its paths, and
-- has no file-level reject of that file (the reject of a file's unreadable
-- rest: no text, position 'byte N'). A view, not a function, so the planner
-- still joins the subqueries with the query that reads it.
CREATE VIEW reject_states AS
SELECT r.*,
       r.dismissed_at IS NOT NULL
       OR EXISTS (SELECT 1
                  FROM killmail_index AS k
                  JOIN killmails AS m
                    ON m.killmail_id = k.killmail_id
                   AND m.killmail_time = k.killmail_time
                  WHERE k.killmail_id = r.killmail_id
                    AND k.state = 'stored'
                    AND m.inserted_at > r.rejected_at)
       OR (r.killmail_id IS NULL
           AND EXISTS (SELECT 1
                       FROM imports AS i
                       WHERE i.finished_at IS NOT NULL
                         AND NOT i.failed
                         AND i.started_at > r.rejected_at
                         AND r.source_file = ANY (i.paths)
                         AND NOT EXISTS (SELECT 1
                                         FROM reject_imports AS ri
                                         JOIN rejects AS f
                                           ON f.reject_id = ri.reject_id
                                         WHERE ri.import_id = i.import_id
                                           AND f.source_file = r.source_file
                                           AND f.raw = ''
                                           AND f.position LIKE 'byte %'))) AS resolved
FROM rejects AS r;

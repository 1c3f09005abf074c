-- Whether a reject is a record whose killmail hash differs from the hash of
-- the stored killmail (merge.hash_reject). Earlier rejects of that kind are
-- found by the start of the reason that hash_reject wrote.
ALTER TABLE rejects ADD COLUMN hash_conflict boolean NOT NULL DEFAULT false;
UPDATE rejects
SET hash_conflict = true
WHERE reason LIKE 'killmail\_hash % differs from %, the hash of stored killmail %';

-- Every reject with whether it is resolved, as in 0213_reject_dismissed.sql,
-- except that a reject with a killmail id is resolved once the body of its
-- killmail is stored, before or after the record was rejected: a fixed copy
-- of a record whose killmail is stored already would be skipped as a
-- duplicate, so importing cannot resolve it otherwise. A hash conflict
-- still needs the body stored after the rejection, which no import does,
-- so it stays unresolved until it is dismissed: the stored killmail or
-- the record has the wrong hash, and only ESI can tell which.
DROP VIEW reject_states;
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
                    AND (NOT r.hash_conflict OR m.inserted_at > r.rejected_at))
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

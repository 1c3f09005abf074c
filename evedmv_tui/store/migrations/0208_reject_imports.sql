-- Every import that rejected a record. A record rejected again by a later
-- import keeps its one row in rejects (whose import_id is the latest such
-- import), and gains a row here, so 'evedmv rejects list --import N' still
-- lists what import N rejected after the file is imported again.
CREATE TABLE reject_imports (
    reject_id  bigint NOT NULL REFERENCES rejects ON DELETE CASCADE,
    import_id  bigint NOT NULL REFERENCES imports ON DELETE CASCADE,
    PRIMARY KEY (reject_id, import_id)
);

CREATE INDEX reject_imports_import_id ON reject_imports (import_id);

-- Rows stored before this table record only their latest import.
INSERT INTO reject_imports (reject_id, import_id)
SELECT reject_id, import_id
FROM rejects
WHERE import_id IS NOT NULL;

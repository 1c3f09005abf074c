-- Add one committed batch's counts to the record of its import, inside the
-- batch's transaction, so the record shows what has landed while it runs.
UPDATE imports
SET read = read + %(read)s, inserted = inserted + %(inserted)s,
    updated = updated + %(updated)s, duplicates = duplicates + %(duplicates)s,
    pending = pending + %(pending)s, rejected = rejected + %(rejected)s
WHERE import_id = %(import_id)s

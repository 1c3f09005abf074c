-- Close the record of one import with its totals.
UPDATE imports
SET finished_at = now(), read = %(read)s, inserted = %(inserted)s,
    updated = %(updated)s, duplicates = %(duplicates)s, pending = %(pending)s,
    rejected = %(rejected)s
WHERE import_id = %(import_id)s

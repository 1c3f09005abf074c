-- Rejects of one import, by file, whose killmail is stored (a valid copy
-- from another record), so the view reject_states counts them as resolved
-- although none of them was dismissed.
SELECT r.source_file, count(*) AS rejects
FROM reject_states AS r
JOIN reject_imports AS i ON i.reject_id = r.reject_id
WHERE i.import_id = %(import_id)s::bigint
  AND r.killmail_id IS NOT NULL
  AND r.dismissed_at IS NULL
  AND r.resolved
GROUP BY r.source_file

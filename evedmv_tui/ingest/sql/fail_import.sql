-- Mark an import that an error ended part way (see reject_states).
UPDATE imports SET failed = true WHERE import_id = %(import_id)s

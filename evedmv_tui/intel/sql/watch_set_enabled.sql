-- Enable or disable every profile named in %(names)s, in one statement.
UPDATE watch_profiles SET enabled = %(enabled)s, updated_at = now()
WHERE name = ANY(%(names)s::text[])
RETURNING name

-- Delete every profile named in %(names)s and, through the foreign key,
-- its matches, in one statement.
DELETE FROM watch_profiles WHERE name = ANY(%(names)s::text[])
RETURNING name

-- Stored names of characters, corporations and alliances, by id.
SELECT entity_id, category, name
FROM names
WHERE entity_id = ANY(%(ids)s)

-- The most involved entity on a side other than the one being moved.
SELECT entity_kind, entity_id
FROM battle_entities
WHERE battle_id = %(battle_id)s AND side_no = %(side_no)s
  AND NOT (entity_kind = %(entity_kind)s AND entity_id = %(entity_id)s)
  AND (parent_id IS NULL OR entity_kind = 'character'
       OR (entity_kind = 'corporation' AND overridden))
  AND parent_id IS DISTINCT FROM %(entity_id)s
ORDER BY weight_for DESC, entity_id
LIMIT 1

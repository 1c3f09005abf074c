-- The sides of the members that stay where they are when one entity moves:
-- every member but the entity and the corporations that move with their
-- alliance (those without an override of their own). Alliance rows are
-- left out because an alliance's side is where its corporations are.
SELECT DISTINCT side_no
FROM battle_entities
WHERE battle_id = %(battle_id)s AND entity_kind <> 'alliance'
  AND NOT (entity_kind = %(entity_kind)s AND entity_id = %(entity_id)s)
  AND NOT (%(entity_kind)s = 'alliance' AND entity_kind = 'corporation'
           AND parent_id = %(entity_id)s AND NOT overridden)
ORDER BY side_no

-- The battle's members of one kind, for the hint of a move that names an id
-- the battle does not have: the most involved first, with their names.
SELECT e.entity_id, n.name, e.side_no
FROM battle_entities e
LEFT JOIN names n ON n.entity_id = e.entity_id
WHERE e.battle_id = %(battle_id)s AND e.entity_kind = %(entity_kind)s
ORDER BY e.weight_for + e.weight_against DESC, e.entity_id
LIMIT %(limit)s

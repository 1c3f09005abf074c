SELECT entity_kind, entity_id, parent_id, side_no, weight_for, weight_against,
       confidence, reason, overridden
FROM battle_entities
WHERE battle_id = %s
ORDER BY side_no, weight_for DESC, entity_kind, entity_id

SELECT battle_id, entity_kind, entity_id, anchor_kind, anchor_id, new_side
FROM battle_side_overrides
WHERE battle_id = ANY(%s::bigint[])
ORDER BY battle_id, created_at, entity_kind, entity_id

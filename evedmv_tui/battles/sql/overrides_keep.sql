-- Keep the overrides of battles removed without an heir, under the removed
-- battle's id. Returns one row per override kept.
INSERT INTO battle_overrides_kept
    (group_id, entity_kind, entity_id, anchor_kind, anchor_id, new_side, created_at)
SELECT battle_id, entity_kind, entity_id, anchor_kind, anchor_id, new_side,
       created_at
FROM battle_side_overrides
WHERE battle_id = ANY(%s::bigint[])
ON CONFLICT (group_id, entity_kind, entity_id) DO NOTHING
RETURNING group_id

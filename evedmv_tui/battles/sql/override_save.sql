INSERT INTO battle_side_overrides
    (battle_id, entity_kind, entity_id, anchor_kind, anchor_id, new_side)
VALUES (%(battle_id)s, %(entity_kind)s, %(entity_id)s, %(anchor_kind)s,
        %(anchor_id)s, %(new_side)s)
ON CONFLICT (battle_id, entity_kind, entity_id) DO UPDATE SET
    anchor_kind = EXCLUDED.anchor_kind,
    anchor_id = EXCLUDED.anchor_id,
    new_side = EXCLUDED.new_side,
    created_at = clock_timestamp()

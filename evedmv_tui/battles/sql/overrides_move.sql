-- Hand the overrides of vanishing battles to their heirs, unless the heir
-- already has an override for the same entity. Returns how many overrides
-- the vanishing battles had and how many the heirs took.
WITH source AS (
    SELECT m.heir, o.entity_kind, o.entity_id, o.anchor_kind, o.anchor_id,
           o.new_side, o.created_at
    FROM unnest(%s::bigint[], %s::bigint[]) AS m (battle_id, heir)
    JOIN battle_side_overrides o ON o.battle_id = m.battle_id
), moved AS (
    INSERT INTO battle_side_overrides
        (battle_id, entity_kind, entity_id, anchor_kind, anchor_id, new_side,
         created_at)
    SELECT heir, entity_kind, entity_id, anchor_kind, anchor_id, new_side,
           created_at
    FROM source
    ORDER BY created_at, entity_kind, entity_id
    ON CONFLICT (battle_id, entity_kind, entity_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM source), (SELECT count(*) FROM moved)

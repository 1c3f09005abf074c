-- Hand kept override groups to the battles that took most of their kills,
-- unless the battle already has an override for the same entity, and
-- forget the groups. Returns how many overrides the groups had and how
-- many the battles took.
WITH source AS (
    DELETE FROM battle_overrides_kept AS k
    USING unnest(%(groups)s::bigint[], %(battles)s::bigint[]) AS m (group_id, battle_id)
    WHERE k.group_id = m.group_id
    RETURNING m.battle_id, k.entity_kind, k.entity_id, k.anchor_kind, k.anchor_id,
              k.new_side, k.created_at
), adopted AS (
    INSERT INTO battle_side_overrides
        (battle_id, entity_kind, entity_id, anchor_kind, anchor_id, new_side,
         created_at)
    SELECT battle_id, entity_kind, entity_id, anchor_kind, anchor_id, new_side,
           created_at
    FROM source
    ORDER BY created_at, entity_kind, entity_id
    ON CONFLICT (battle_id, entity_kind, entity_id) DO NOTHING
    RETURNING 1
), kills AS (
    DELETE FROM battle_overrides_kept_kills
    WHERE group_id = ANY(%(groups)s::bigint[])
)
SELECT (SELECT count(*) FROM source), (SELECT count(*) FROM adopted)

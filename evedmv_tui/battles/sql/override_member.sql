-- Whether the battle exists, and the side of the entity to move (NULL when
-- it is not one of the battle's members).
SELECT
    EXISTS (SELECT 1 FROM battles WHERE battle_id = %(battle_id)s),
    (
        SELECT side_no FROM battle_entities
        WHERE battle_id = %(battle_id)s AND entity_kind = %(entity_kind)s
          AND entity_id = %(entity_id)s
    )

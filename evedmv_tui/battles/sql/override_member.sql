-- Whether the battle exists, and whether the entity to move is one of its
-- members.
SELECT
    EXISTS (SELECT 1 FROM battles WHERE battle_id = %(battle_id)s),
    EXISTS (
        SELECT 1 FROM battle_entities
        WHERE battle_id = %(battle_id)s AND entity_kind = %(entity_kind)s
          AND entity_id = %(entity_id)s
    )

-- Remove the given members, sides, pieces and entities by primary key: the
-- rows of rewritten battles that are gone or differ from their new version.
WITH members AS (
    DELETE FROM battle_killmails
    WHERE killmail_id = ANY(%(members)s::bigint[])
), sides AS (
    DELETE FROM battle_sides s
    USING unnest(%(side_battles)s::bigint[], %(side_nos)s::integer[])
          AS k (battle_id, side_no)
    WHERE s.battle_id = k.battle_id AND s.side_no = k.side_no
), pieces AS (
    DELETE FROM battle_pieces
    WHERE piece_id = ANY(%(pieces)s::bigint[])
)
DELETE FROM battle_entities e
USING unnest(%(entity_battles)s::bigint[], %(entity_kinds)s::text[],
             %(entity_ids)s::bigint[]) AS k (battle_id, entity_kind, entity_id)
WHERE e.battle_id = k.battle_id
  AND e.entity_kind = k.entity_kind
  AND e.entity_id = k.entity_id

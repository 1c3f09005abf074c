-- The stored entity rows of the given battles, in the columns that detection writes.
SELECT battle_id, entity_kind, entity_id, parent_id, side_no, weight_for,
       weight_against, confidence, reason, overridden
FROM battle_entities
WHERE battle_id = ANY(%s::bigint[])

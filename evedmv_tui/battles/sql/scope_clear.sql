-- Remove the members, sides, entities and pieces of the battles being
-- rewritten. The battle rows and their overrides stay until the new rows are in.
WITH members AS (
    DELETE FROM battle_killmails WHERE battle_id = ANY(%(ids)s::bigint[])
), sides AS (
    DELETE FROM battle_sides WHERE battle_id = ANY(%(ids)s::bigint[])
), pieces AS (
    DELETE FROM battle_pieces WHERE battle_id = ANY(%(ids)s::bigint[])
)
DELETE FROM battle_entities WHERE battle_id = ANY(%(ids)s::bigint[])

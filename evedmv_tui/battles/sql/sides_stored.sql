-- The stored side rows of the given battles, in the columns that detection writes.
SELECT battle_id, side_no, pilots, ships_lost, isk_lost, isk_destroyed,
       efficiency, third_party
FROM battle_sides
WHERE battle_id = ANY(%s::bigint[])

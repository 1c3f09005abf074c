-- Kills without an ISK value in each of the given battles, from the
-- completeness figures stored with its metrics.
SELECT battle_id,
       coalesce((metrics #>> '{completeness,kills_without_value}')::integer, 0)
FROM battles
WHERE battle_id = ANY(%s)

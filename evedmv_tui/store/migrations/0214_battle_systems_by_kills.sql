-- Battles list their systems with the most kills first (ties by id), so a
-- list that names a battle by its first system names where it was fought.
-- Stored battles had them in id order; this puts them in the new order, in
-- the battle row and in its metrics document, which detection now writes.
WITH counted AS (
    SELECT battle_id, solar_system_id, count(*) AS kills
    FROM battle_killmails
    GROUP BY battle_id, solar_system_id
),
ordered AS (
    SELECT battle_id,
           array_agg(solar_system_id ORDER BY kills DESC, solar_system_id)
               AS solar_system_ids
    FROM counted
    GROUP BY battle_id
)
UPDATE battles b
SET solar_system_ids = o.solar_system_ids,
    metrics = jsonb_set(b.metrics, '{solar_system_ids}', to_jsonb(o.solar_system_ids))
FROM ordered o
WHERE o.battle_id = b.battle_id
  AND b.solar_system_ids IS DISTINCT FROM o.solar_system_ids;

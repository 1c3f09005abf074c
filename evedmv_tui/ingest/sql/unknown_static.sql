-- The solar systems and ship types of newly stored killmails that the static
-- data does not list, as when the SDE predates ships added to the game.
-- Empty when no static data is loaded, because then every id is unknown.
SELECT
    ARRAY(
        SELECT s.id FROM unnest(%(systems)s::bigint[]) AS s (id)
        WHERE NOT EXISTS (
            SELECT 1 FROM solar_systems x WHERE x.solar_system_id = s.id
        )
        ORDER BY s.id
    ) AS systems,
    ARRAY(
        SELECT t.id FROM unnest(%(types)s::bigint[]) AS t (id)
        WHERE NOT EXISTS (SELECT 1 FROM types x WHERE x.type_id = t.id)
        ORDER BY t.id
    ) AS ship_types
WHERE EXISTS (SELECT 1 FROM solar_systems) AND EXISTS (SELECT 1 FROM types)

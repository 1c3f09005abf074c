INSERT INTO battle_parameters (singleton, parameters, updated_at)
VALUES (true, %s::jsonb, now())
ON CONFLICT (singleton) DO UPDATE
SET parameters = EXCLUDED.parameters, updated_at = EXCLUDED.updated_at

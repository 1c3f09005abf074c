-- Open the record of one import and return its id.
INSERT INTO imports (paths) VALUES (%(paths)s::text[]) RETURNING import_id

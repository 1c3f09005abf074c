-- Record the secondary indexes of one partitioned table before they are
-- dropped, and return their names. Indexes behind a primary key, a unique or
-- an exclusion constraint stay. pg_get_indexdef writes "ON ONLY" for the
-- index of a partitioned table, which would build no index on its
-- partitions, so the recorded definition drops that word.
INSERT INTO deferred_indexes (schema_name, index_name, definition)
SELECT n.nspname,
       c.relname,
       regexp_replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE i.indrelid = %(table)s::regclass
  AND NOT i.indisunique
  AND NOT i.indisprimary
  AND NOT i.indisexclusion
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname
RETURNING schema_name, index_name

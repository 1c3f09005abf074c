-- The ids in %(ids)s that no stored type has, in the order given. None when
-- no type is stored at all, because then the static data was never imported
-- and every id would be unknown.
SELECT u.id
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS u (id, n)
WHERE EXISTS (SELECT 1 FROM types)
  AND NOT EXISTS (SELECT 1 FROM types t WHERE t.type_id = u.id)
ORDER BY u.n

-- Names of the existing monthly partitions of killmails.
SELECT c.relname
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'killmails'::regclass

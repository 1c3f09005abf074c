SELECT t.type_id, t.group_id, g.category_id
FROM types t
LEFT JOIN groups g ON g.group_id = t.group_id
WHERE t.type_id = ANY(%s::bigint[])

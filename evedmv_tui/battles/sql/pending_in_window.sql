-- Killmails known by id and hash but without a body, in a time range; their
-- system is unknown until the body arrives.
SELECT count(*) FILTER (WHERE state = 'pending')::integer AS pending,
       count(*) FILTER (WHERE state = 'invalid')::integer AS invalid
FROM killmail_index
WHERE killmail_time BETWEEN %s AND %s AND state <> 'stored'

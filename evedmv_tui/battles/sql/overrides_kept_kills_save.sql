INSERT INTO battle_overrides_kept_kills (group_id, killmail_id)
SELECT * FROM unnest(%s::bigint[], %s::bigint[])
ON CONFLICT DO NOTHING

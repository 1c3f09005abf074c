-- Every killmail of the kept override groups that hold any of the given
-- killmails.
SELECT k.group_id, k.killmail_id
FROM battle_overrides_kept_kills AS k
WHERE k.group_id IN (
    SELECT group_id FROM battle_overrides_kept_kills
    WHERE killmail_id = ANY(%s::bigint[])
)

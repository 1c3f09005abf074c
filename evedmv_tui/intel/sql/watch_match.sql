-- Appended to watch_matching.sql: record the new matches and return them.
-- A killmail a profile matched before is not returned again. Match ids follow
-- killmail time within the batch, so a list by match id, newest first, shows
-- the batch's latest kill first.
, inserted AS (
    INSERT INTO watch_matches (profile_id, killmail_id, killmail_time)
    SELECT profile_id, killmail_id, killmail_time FROM matched
    ORDER BY killmail_time, killmail_id, profile_id
    ON CONFLICT (profile_id, killmail_id) DO NOTHING
    RETURNING match_id, profile_id, killmail_id, killmail_time, matched_at
)
SELECT i.match_id, i.profile_id, p.name AS profile_name, i.killmail_id,
       i.killmail_time, i.matched_at, b.solar_system_id, b.victim_ship_type_id,
       b.total_value
FROM inserted i
JOIN profiles p USING (profile_id)
JOIN batch b USING (killmail_id)
ORDER BY i.match_id

-- What the database holds, for the home screen. Counts are exact; each
-- subquery is an index-only or sequential scan of one table.
SELECT
    (SELECT count(*) FROM killmail_index WHERE state = 'stored') AS stored_killmails,
    (SELECT count(*) FROM killmail_index WHERE state = 'pending') AS pending_killmails,
    (SELECT count(*) FROM killmail_index WHERE state = 'invalid') AS invalid_killmails,
    (SELECT min(killmail_time) FROM killmails) AS first_killmail_time,
    (SELECT max(killmail_time) FROM killmails) AS last_killmail_time,
    (SELECT max(killmail_id) FROM killmail_index WHERE state = 'stored')
        AS latest_killmail_id,
    (SELECT count(*) FROM solar_systems) AS solar_systems,
    (SELECT count(*) FROM types) AS types,
    (SELECT count(*) FROM prices) AS prices,
    (SELECT count(*) FROM names) AS names,
    -- Unresolved rejects (the view reject_states defines when a reject is
    -- resolved).
    (SELECT count(*) FROM reject_states WHERE NOT resolved) AS rejects,
    (SELECT max(finished_at) FROM imports) AS last_import_at,
    -- The live feed stores killmails without an imports row; its cursor
    -- moves with every document.
    (SELECT max(updated_at) FROM feed_cursors) AS last_feed_at

-- What the database holds, for the home screen. Counts are exact; each
-- subquery is an index-only or sequential scan of one table.
SELECT
    (SELECT count(*) FROM killmail_index WHERE state = 'stored') AS stored_killmails,
    (SELECT count(*) FROM killmail_index WHERE state = 'pending') AS pending_killmails,
    (SELECT min(killmail_time) FROM killmails) AS first_killmail_time,
    (SELECT max(killmail_time) FROM killmails) AS last_killmail_time,
    (SELECT max(killmail_id) FROM killmail_index WHERE state = 'stored')
        AS latest_killmail_id,
    (SELECT count(*) FROM solar_systems) AS solar_systems,
    (SELECT count(*) FROM types) AS types,
    (SELECT count(*) FROM prices) AS prices,
    (SELECT count(*) FROM names) AS names,
    -- Unresolved rejects: those not dismissed whose killmail was not
    -- stored after the record was rejected, and for a reject without a
    -- killmail id, whose file no later import read to the end (see
    -- evedmv_tui/ingest/sql/list_rejects.sql).
    (SELECT count(*)
     FROM rejects AS r
     WHERE r.dismissed_at IS NULL
       AND NOT EXISTS (SELECT 1
                       FROM killmail_index AS k
                       JOIN killmails AS m
                         ON m.killmail_id = k.killmail_id
                        AND m.killmail_time = k.killmail_time
                       WHERE k.killmail_id = r.killmail_id
                         AND k.state = 'stored'
                         AND m.inserted_at > r.rejected_at)
       AND NOT (r.killmail_id IS NULL
                AND EXISTS (SELECT 1
                            FROM imports AS i
                            WHERE i.finished_at IS NOT NULL
                              AND i.started_at > r.rejected_at
                              AND r.source_file = ANY (i.paths)
                              AND NOT EXISTS (SELECT 1
                                              FROM reject_imports AS ri
                                              JOIN rejects AS f
                                                ON f.reject_id = ri.reject_id
                                              WHERE ri.import_id = i.import_id
                                                AND f.source_file = r.source_file
                                                AND f.raw = ''
                                                AND f.position LIKE 'byte %')))
    ) AS rejects,
    (SELECT max(finished_at) FROM imports) AS last_import_at,
    -- The live feed stores killmails without an imports row; its cursor
    -- moves with every document.
    (SELECT max(updated_at) FROM feed_cursors) AS last_feed_at

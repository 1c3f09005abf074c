-- Staging table for zkb blocks of killmails already stored; emptied at commit.
CREATE TEMPORARY TABLE IF NOT EXISTS killmail_zkb_stage (
    killmail_id      bigint NOT NULL,
    killmail_time    timestamptz NOT NULL,
    killmail_hash    text,
    total_value      double precision,
    fitted_value     double precision,
    dropped_value    double precision,
    destroyed_value  double precision,
    value_source     text,
    points           integer,
    npc              boolean,
    solo             boolean,
    awox             boolean,
    location_id      bigint,
    labels           text[],
    zkb_body         text NOT NULL,
    zkb_seen_at      timestamptz NOT NULL,
    source           text NOT NULL
) ON COMMIT DELETE ROWS

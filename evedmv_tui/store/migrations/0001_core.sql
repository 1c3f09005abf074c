-- Core schema: killmails and their parts, import bookkeeping, static data,
-- prices and names. Every EVE id is bigint: character and structure ids pass
-- 2^31, and structure ids pass 10^12.

-- The identity of a killmail is its id alone (hashes repeat across kills).
-- Partitioned tables cannot have a unique key without the partition column,
-- so this table enforces the identity and tracks killmails whose body has
-- not been fetched yet (state 'pending') or whose hash ESI rejected
-- (state 'invalid').
CREATE TABLE killmail_index (
    killmail_id    bigint PRIMARY KEY,
    killmail_hash  text CHECK (killmail_hash ~ '^[0-9a-f]{40}$'),
    killmail_time  timestamptz,
    state          text NOT NULL CHECK (state IN ('stored', 'pending', 'invalid')),
    source         text NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    pending_zkb    jsonb,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX killmail_index_pending ON killmail_index (killmail_id)
    WHERE state = 'pending';

-- One row per killmail: header, victim and zKillboard values. Partitioned by
-- month of killmail_time; partitions are created by the importer on demand.
CREATE TABLE killmails (
    killmail_id            bigint NOT NULL,
    killmail_time          timestamptz NOT NULL,
    solar_system_id        bigint NOT NULL,
    moon_id                bigint,
    war_id                 bigint,
    killmail_hash          text,
    victim_character_id    bigint,
    victim_corporation_id  bigint,
    victim_alliance_id     bigint,
    victim_faction_id      bigint,
    victim_ship_type_id    bigint NOT NULL,
    victim_damage_taken    bigint NOT NULL,
    position_x             double precision,
    position_y             double precision,
    position_z             double precision,
    attacker_count         integer NOT NULL,
    -- ISK values: zKillboard's when a zkb block was seen, else computed from
    -- prices (see docs/valuation.md); value_source says which.
    total_value            double precision,
    fitted_value           double precision,
    dropped_value          double precision,
    destroyed_value        double precision,
    value_source           text CHECK (value_source IN ('zkb', 'computed')),
    points                 integer,
    npc                    boolean,
    solo                   boolean,
    awox                   boolean,
    location_id            bigint,
    labels                 text[],
    -- The bodies exactly as received, so a killmail can be reproduced.
    esi_body               text NOT NULL,
    zkb_body               text,
    zkb_seen_at            timestamptz,
    source                 text NOT NULL,
    inserted_at            timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (killmail_id, killmail_time)
) PARTITION BY RANGE (killmail_time);
CREATE INDEX killmails_time ON killmails (killmail_time);
CREATE INDEX killmails_system_time ON killmails (solar_system_id, killmail_time);
CREATE INDEX killmails_victim_character ON killmails (victim_character_id)
    WHERE victim_character_id IS NOT NULL;
CREATE INDEX killmails_victim_corporation ON killmails (victim_corporation_id);
CREATE INDEX killmails_victim_alliance ON killmails (victim_alliance_id)
    WHERE victim_alliance_id IS NOT NULL;

CREATE TABLE attackers (
    killmail_id      bigint NOT NULL,
    killmail_time    timestamptz NOT NULL,
    attacker_index   integer NOT NULL,
    character_id     bigint,
    corporation_id   bigint,
    alliance_id      bigint,
    faction_id       bigint,
    ship_type_id     bigint,
    weapon_type_id   bigint,
    damage_done      bigint NOT NULL,
    final_blow       boolean NOT NULL,
    security_status  real,
    PRIMARY KEY (killmail_id, killmail_time, attacker_index)
) PARTITION BY RANGE (killmail_time);
CREATE INDEX attackers_character ON attackers (character_id)
    WHERE character_id IS NOT NULL;
CREATE INDEX attackers_corporation ON attackers (corporation_id)
    WHERE corporation_id IS NOT NULL;
CREATE INDEX attackers_alliance ON attackers (alliance_id)
    WHERE alliance_id IS NOT NULL;

-- Items flattened in document order; parent_index links an item to the
-- container or ship it was inside (NULL at the top level).
CREATE TABLE items (
    killmail_id         bigint NOT NULL,
    killmail_time       timestamptz NOT NULL,
    item_index          integer NOT NULL,
    parent_index        integer,
    item_type_id        bigint NOT NULL,
    flag                integer NOT NULL,
    singleton           integer NOT NULL,
    quantity_destroyed  bigint NOT NULL,
    quantity_dropped    bigint NOT NULL,
    PRIMARY KEY (killmail_id, killmail_time, item_index)
) PARTITION BY RANGE (killmail_time);

CREATE TABLE imports (
    import_id    bigserial PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    paths        text[] NOT NULL,
    read         bigint NOT NULL DEFAULT 0,
    inserted     bigint NOT NULL DEFAULT 0,
    updated      bigint NOT NULL DEFAULT 0,
    duplicates   bigint NOT NULL DEFAULT 0,
    pending      bigint NOT NULL DEFAULT 0,
    rejected     bigint NOT NULL DEFAULT 0
);

-- Records that could not be parsed or failed validation, with their raw text.
CREATE TABLE rejects (
    reject_id     bigserial PRIMARY KEY,
    import_id     bigint REFERENCES imports ON DELETE SET NULL,
    source_file   text NOT NULL,
    position      text NOT NULL,
    killmail_id   bigint,
    field         text,
    reason        text NOT NULL,
    raw           text NOT NULL,
    raw_md5       text GENERATED ALWAYS AS (md5(raw)) STORED,
    rejected_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_file, position, raw_md5)
);

-- Live feed cursors (R2Z2 sequence numbers), so a restart resumes.
CREATE TABLE feed_cursors (
    feed        text PRIMARY KEY,
    sequence    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Static data export.
CREATE TABLE regions (
    region_id          bigint PRIMARY KEY,
    region_name        text NOT NULL,
    faction_id         bigint,
    wormhole_class_id  integer
);
CREATE TABLE constellations (
    constellation_id    bigint PRIMARY KEY,
    constellation_name  text NOT NULL,
    region_id           bigint NOT NULL,
    faction_id          bigint,
    wormhole_class_id   integer
);
CREATE TABLE solar_systems (
    solar_system_id    bigint PRIMARY KEY,
    solar_system_name  text NOT NULL,
    constellation_id   bigint NOT NULL,
    region_id          bigint NOT NULL,
    security           double precision NOT NULL,
    security_class     text,
    wormhole_class_id  integer,
    x                  double precision,
    y                  double precision,
    z                  double precision
);
CREATE INDEX solar_systems_region ON solar_systems (region_id);
CREATE TABLE stargate_jumps (
    from_solar_system_id  bigint NOT NULL,
    to_solar_system_id    bigint NOT NULL,
    PRIMARY KEY (from_solar_system_id, to_solar_system_id)
);
CREATE TABLE categories (
    category_id    bigint PRIMARY KEY,
    category_name  text NOT NULL,
    published      boolean NOT NULL
);
CREATE TABLE groups (
    group_id     bigint PRIMARY KEY,
    group_name   text NOT NULL,
    category_id  bigint NOT NULL,
    published    boolean NOT NULL,
    ship_class   text NOT NULL
);
CREATE TABLE types (
    type_id          bigint PRIMARY KEY,
    type_name        text NOT NULL,
    group_id         bigint NOT NULL,
    published        boolean NOT NULL,
    market_group_id  bigint,
    meta_group_id    bigint,
    faction_id       bigint,
    race_id          bigint
);
CREATE INDEX types_group ON types (group_id);

CREATE TABLE prices (
    type_id         bigint PRIMARY KEY,
    average_price   double precision,
    adjusted_price  double precision,
    fetched_at      timestamptz NOT NULL DEFAULT now()
);

-- Names of characters, corporations, alliances and factions from ESI.
CREATE TABLE names (
    entity_id   bigint PRIMARY KEY,
    category    text NOT NULL,
    name        text NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now()
);

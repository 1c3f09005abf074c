-- Battles: clusters of killmails close in space and time, their sides, the
-- entities on each side with the reason they landed there, user overrides
-- and the stored report metrics. Written by evedmv_tui.battles.

-- Detection parameters in force (one row); incremental detection after an
-- import batch reads them, so it clusters the way the last rebuild did.
CREATE TABLE battle_parameters (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    parameters  jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE battles (
    battle_id         bigserial PRIMARY KEY,
    start_time        timestamptz NOT NULL,
    end_time          timestamptz NOT NULL,
    solar_system_ids  bigint[] NOT NULL,
    region_ids        bigint[] NOT NULL,
    kills             integer NOT NULL,
    pilots            integer NOT NULL,
    isk_destroyed     double precision NOT NULL,
    side_count        integer NOT NULL,
    -- 'fight': two sides trade kills; 'brawl': three or more sides do;
    -- 'one-sided': the losing sides barely shot back.
    kind              text NOT NULL CHECK (kind IN ('fight', 'brawl', 'one-sided')),
    -- 0..1: how consistent who-shot-whom is with the side split.
    confidence        real NOT NULL,
    -- Set when kills arrived after the battle had closed (a straggler).
    changed           boolean NOT NULL DEFAULT false,
    detected_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- The report figures (see evedmv_tui.battles.metrics), built in one
    -- pass when the battle is detected or changes.
    metrics           jsonb NOT NULL
);
CREATE INDEX battles_time ON battles (start_time, end_time);
CREATE INDEX battles_end ON battles (end_time);
CREATE INDEX battles_systems ON battles USING gin (solar_system_ids);

-- A killmail belongs to at most one battle. The victim, value and final
-- blow are copied from the killmail so that a report's kill list reads one
-- index range instead of joining the partitioned killmail tables.
CREATE TABLE battle_killmails (
    killmail_id              bigint PRIMARY KEY,
    killmail_time            timestamptz NOT NULL,
    battle_id                bigint NOT NULL REFERENCES battles ON DELETE CASCADE,
    side_no                  integer,
    solar_system_id          bigint NOT NULL,
    victim_character_id      bigint,
    victim_corporation_id    bigint,
    victim_alliance_id       bigint,
    victim_ship_type_id      bigint NOT NULL,
    total_value              double precision NOT NULL,
    final_blow_character_id  bigint,
    attacker_count           integer NOT NULL
);
CREATE INDEX battle_killmails_battle ON battle_killmails (battle_id, killmail_time);

CREATE TABLE battle_sides (
    battle_id      bigint NOT NULL REFERENCES battles ON DELETE CASCADE,
    side_no        integer NOT NULL,
    pilots         integer NOT NULL,
    ships_lost     integer NOT NULL,
    isk_lost       double precision NOT NULL,
    isk_destroyed  double precision NOT NULL,
    efficiency     double precision,
    third_party    boolean NOT NULL,
    PRIMARY KEY (battle_id, side_no)
);

-- Alliances, corporations and characters on each side. A corporation or
-- character row exists when it is a side unit of its own (no alliance, an
-- NPC corporation, or an override) or belongs to an alliance that has one.
CREATE TABLE battle_entities (
    battle_id       bigint NOT NULL REFERENCES battles ON DELETE CASCADE,
    entity_kind     text NOT NULL
                    CHECK (entity_kind IN ('alliance', 'corporation', 'character')),
    entity_id       bigint NOT NULL,
    parent_id       bigint,
    side_no         integer NOT NULL,
    weight_for      double precision NOT NULL,
    weight_against  double precision NOT NULL,
    confidence      real NOT NULL,
    reason          text NOT NULL,
    overridden      boolean NOT NULL DEFAULT false,
    isk_lost        double precision NOT NULL DEFAULT 0,
    isk_destroyed   double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (battle_id, entity_kind, entity_id)
);

-- A user's move of an entity to another side. The target is the side that
-- holds the anchor entity when the sides are recomputed, or a new side
-- shared by the overrides with the same new_side label; so an override
-- survives renumbering of the sides, recomputation and new kills.
CREATE TABLE battle_side_overrides (
    battle_id     bigint NOT NULL REFERENCES battles ON DELETE CASCADE,
    entity_kind   text NOT NULL
                  CHECK (entity_kind IN ('alliance', 'corporation', 'character')),
    entity_id     bigint NOT NULL,
    anchor_kind   text CHECK (anchor_kind IN ('alliance', 'corporation', 'character')),
    anchor_id     bigint,
    new_side      integer,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((anchor_id IS NULL) <> (new_side IS NULL)),
    PRIMARY KEY (battle_id, entity_kind, entity_id)
);

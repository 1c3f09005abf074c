-- Entity pages, search and watch profiles.

-- Entity pages start from "the killmails where this entity attacked" and
-- "the killmails where it was the victim", within a period. These indexes
-- cover both lookups, so the page query reads the entity's rows in time
-- order from the index alone (after VACUUM sets the visibility map).
CREATE INDEX attackers_corporation_time ON attackers (corporation_id, killmail_time)
    INCLUDE (killmail_id, character_id, alliance_id, ship_type_id)
    WHERE corporation_id IS NOT NULL;
CREATE INDEX attackers_alliance_time ON attackers (alliance_id, killmail_time)
    INCLUDE (killmail_id, character_id, corporation_id, ship_type_id)
    WHERE alliance_id IS NOT NULL;
CREATE INDEX attackers_character_time ON attackers (character_id, killmail_time)
    INCLUDE (killmail_id, corporation_id, alliance_id, ship_type_id)
    WHERE character_id IS NOT NULL;
-- The core indexes on the same leading columns are subsumed by these.
DROP INDEX attackers_corporation;
DROP INDEX attackers_alliance;
DROP INDEX attackers_character;

CREATE INDEX killmails_victim_corporation_time
    ON killmails (victim_corporation_id, killmail_time)
    INCLUDE (killmail_id, solar_system_id, victim_ship_type_id, total_value);
CREATE INDEX killmails_victim_alliance_time
    ON killmails (victim_alliance_id, killmail_time)
    INCLUDE (killmail_id, solar_system_id, victim_ship_type_id, total_value)
    WHERE victim_alliance_id IS NOT NULL;
CREATE INDEX killmails_victim_character_time
    ON killmails (victim_character_id, killmail_time)
    INCLUDE (killmail_id, solar_system_id, victim_ship_type_id, total_value)
    WHERE victim_character_id IS NOT NULL;
DROP INDEX killmails_victim_corporation;
DROP INDEX killmails_victim_alliance;
DROP INDEX killmails_victim_character;

-- Search by name: a btree on lower(name) for prefix matches (any length),
-- and a trigram GIN index for substring matches of three or more characters.
-- pg_trgm is a trusted extension (PostgreSQL 13+), so a database owner
-- without superuser can create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX names_lower_prefix ON names (lower(name) text_pattern_ops);
CREATE INDEX names_lower_trgm ON names USING gin (lower(name) gin_trgm_ops);
CREATE INDEX solar_systems_lower_prefix
    ON solar_systems (lower(solar_system_name) text_pattern_ops);
CREATE INDEX solar_systems_lower_trgm
    ON solar_systems USING gin (lower(solar_system_name) gin_trgm_ops);

-- A watch profile is a named set of conditions on killmails. Each condition
-- group is optional (an empty array or NULL means "any"); a killmail matches
-- when it meets every group that is set. Inside a group any listed value
-- matches. docs/intel.md gives the full rules.
CREATE TABLE watch_profiles (
    profile_id        bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (name <> ''),
    enabled           boolean NOT NULL DEFAULT true,
    character_ids     bigint[] NOT NULL DEFAULT '{}',
    corporation_ids   bigint[] NOT NULL DEFAULT '{}',
    alliance_ids      bigint[] NOT NULL DEFAULT '{}',
    solar_system_ids  bigint[] NOT NULL DEFAULT '{}',
    region_ids        bigint[] NOT NULL DEFAULT '{}',
    ship_type_ids     bigint[] NOT NULL DEFAULT '{}',
    ship_classes      text[] NOT NULL DEFAULT '{}',
    min_value         double precision CHECK (min_value >= 0),
    min_attackers     integer CHECK (min_attackers >= 1),
    max_attackers     integer CHECK (max_attackers >= 1),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (max_attackers IS NULL OR min_attackers IS NULL
           OR max_attackers >= min_attackers)
);

-- One row per killmail a profile matched. match_id only grows, so the
-- dashboard finds new matches with "match_id > last seen".
CREATE TABLE watch_matches (
    match_id       bigserial PRIMARY KEY,
    profile_id     bigint NOT NULL REFERENCES watch_profiles ON DELETE CASCADE,
    killmail_id    bigint NOT NULL,
    killmail_time  timestamptz NOT NULL,
    matched_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (profile_id, killmail_id)
);
CREATE INDEX watch_matches_profile_time
    ON watch_matches (profile_id, killmail_time DESC);

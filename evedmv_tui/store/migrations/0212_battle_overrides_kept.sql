-- Side overrides of battles that a detection removed while no new battle
-- took any of their kills, as after 'battles detect --set hour_min_kills=200'.
-- They wait here with the killmails they applied to, and the first later
-- detection that puts more than half of those killmails into one battle
-- hands them to it. group_id is the removed battle's id.
CREATE TABLE battle_overrides_kept (
    group_id      bigint NOT NULL,
    entity_kind   text NOT NULL
                  CHECK (entity_kind IN ('alliance', 'corporation', 'character')),
    entity_id     bigint NOT NULL,
    anchor_kind   text CHECK (anchor_kind IN ('alliance', 'corporation', 'character')),
    anchor_id     bigint,
    new_side      integer,
    created_at    timestamptz NOT NULL,
    CHECK ((anchor_id IS NULL) <> (new_side IS NULL)),
    PRIMARY KEY (group_id, entity_kind, entity_id)
);

CREATE TABLE battle_overrides_kept_kills (
    group_id      bigint NOT NULL,
    killmail_id   bigint NOT NULL,
    PRIMARY KEY (group_id, killmail_id)
);

CREATE INDEX battle_overrides_kept_kills_killmail
    ON battle_overrides_kept_kills (killmail_id);

-- A new battle takes over kept overrides in the same transaction that
-- writes its row, after the overrides are read for its sides, so the
-- reference to it is checked at commit. ON DELETE CASCADE still acts at
-- once: PostgreSQL defers only the check.
ALTER TABLE battle_side_overrides
    ALTER CONSTRAINT battle_side_overrides_battle_id_fkey
    DEFERRABLE INITIALLY IMMEDIATE;

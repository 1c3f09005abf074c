-- Whether the static data changed since the stored battles were detected in
-- full ('evedmv sde import --no-detect'). A later SDE import of the same
-- export changes no rows, so without this flag it could not tell that the
-- battles still need a full detection. Full detection clears it.
ALTER TABLE static_data_version
    ADD COLUMN battles_outdated boolean NOT NULL DEFAULT false;

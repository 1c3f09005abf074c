-- Secondary indexes that a bulk import dropped and must build again.
--
-- An import into nearly empty killmail tables drops the secondary indexes of
-- attackers before loading and builds them after (evedmv_tui/ingest/indexes
-- .py), because building a btree by sorting costs much less CPU than
-- inserting one entry per row and index. Each dropped index is recorded here,
-- with the definition PostgreSQL reported for it, in the transaction that
-- drops it. So an import that ends early (Ctrl-C, a crash, a lost server)
-- leaves rows here, and restore_deferred_indexes() builds those indexes again.
-- The importer calls it when it finishes, and every migrate() call does too.
CREATE TABLE deferred_indexes (
    schema_name  text NOT NULL,
    index_name   text NOT NULL,
    definition   text NOT NULL,
    deferred_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, index_name)
);

-- Build every recorded index that does not exist and forget the records;
-- return how many indexes it built. The import that dropped the indexes holds
-- advisory lock 7305000103 in its session until it has built them itself
-- (DEFER_LOCK_KEY in evedmv_tui/ingest/indexes.py). While another session
-- holds it, this function builds nothing and returns 0. The holder's own
-- session gets the lock again, so the importer calls this function too.
CREATE FUNCTION restore_deferred_indexes() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    deferred record;
    built integer := 0;
BEGIN
    -- The common case reads one table and takes no lock, so a role that may
    -- only read deferred_indexes can call it too.
    IF NOT EXISTS (SELECT FROM deferred_indexes) THEN
        RETURN 0;
    END IF;
    IF NOT pg_try_advisory_xact_lock(7305000103) THEN
        RETURN 0;
    END IF;
    FOR deferred IN
        SELECT schema_name, index_name, definition
        FROM deferred_indexes
        ORDER BY schema_name, index_name
        FOR UPDATE
    LOOP
        IF to_regclass(format('%I.%I', deferred.schema_name, deferred.index_name))
                IS NULL THEN
            EXECUTE deferred.definition;
            built := built + 1;
        END IF;
        DELETE FROM deferred_indexes
        WHERE schema_name = deferred.schema_name
          AND index_name = deferred.index_name;
    END LOOP;
    RETURN built;
END
$$;

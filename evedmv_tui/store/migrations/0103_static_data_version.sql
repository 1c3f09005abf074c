-- A token that changes with every statement that writes one of the static
-- data tables battle detection reads (gate jumps, systems, types, groups).
-- Detection keeps those tables in memory between import batches and reads
-- them again only when the token differs from the one it loaded them with.
-- A random token rather than a counter, so a database created from a copy
-- and then changed never reuses the token of different contents.
CREATE TABLE static_data_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    token      uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO static_data_version DEFAULT VALUES;

CREATE FUNCTION static_data_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE static_data_version SET token = gen_random_uuid();
    RETURN NULL;
END
$$;

CREATE TRIGGER stargate_jumps_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stargate_jumps
    FOR EACH STATEMENT EXECUTE FUNCTION static_data_version_bump();
CREATE TRIGGER solar_systems_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON solar_systems
    FOR EACH STATEMENT EXECUTE FUNCTION static_data_version_bump();
CREATE TRIGGER types_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON types
    FOR EACH STATEMENT EXECUTE FUNCTION static_data_version_bump();
CREATE TRIGGER groups_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION static_data_version_bump();

-- When 'evedmv repair' brought the derived data up to date after an import
-- that stopped early (Ctrl-C, a killed importer, a lost server). Such an
-- import keeps finished_at NULL, because it did not read all of its files,
-- and the Ingest panel shows it as interrupted and asks for a repair until
-- this column is set. finished_at stays NULL, so the time of the last
-- complete import is still max(finished_at).
ALTER TABLE imports ADD COLUMN repaired_at timestamptz;

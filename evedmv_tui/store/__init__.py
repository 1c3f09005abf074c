"""Database access: private cluster control, pool, query telemetry, migrations."""

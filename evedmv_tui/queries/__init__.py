"""Read-only queries behind the dashboard's own screens (no Textual here)."""

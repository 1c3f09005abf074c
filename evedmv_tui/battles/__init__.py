"""Battle detection, side assignment, metrics and report export (no Textual)."""

"""Performance monitoring: collectors, delta engine, regressions (no Textual)."""

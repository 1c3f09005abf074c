-- Count every stored killmail not yet counted (0202_intel_totals.sql).
SELECT intel_totals_rebuild()

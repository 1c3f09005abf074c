-- Count the killmails of one batch in the entity totals (0202_intel_totals.sql).
SELECT intel_totals_add(%(ids)s::bigint[], %(start)s, %(end)s)

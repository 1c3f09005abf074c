-- File the ship lists of the counted killmails of [start, end) under the current classes (0206_intel_totals_faster.sql).
SELECT intel_totals_recount_ships(%(start)s, %(end)s)

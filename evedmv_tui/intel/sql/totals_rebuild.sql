-- Count the stored killmails of [start, end) not yet counted (0206_intel_totals_faster.sql).
SELECT intel_totals_add(
    ARRAY(SELECT killmail_id FROM killmails
          WHERE killmail_time >= %(start)s AND killmail_time < %(end)s),
    %(start)s, %(end)s)

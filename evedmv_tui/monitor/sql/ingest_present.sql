/* evedmv-monitor */
SELECT to_regclass('killmail_index') IS NOT NULL
       AND to_regclass('feed_cursors') IS NOT NULL
       AND to_regclass('rejects') IS NOT NULL
       AND to_regclass('imports') IS NOT NULL
       AND to_regclass('killmails') IS NOT NULL

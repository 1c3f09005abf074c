/* evedmv-monitor */
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       e.extversion AS pgss_version,
       n.nspname AS pgss_schema,
       -- pg_stat_statements defines its settings only when preloaded, and
       -- pg_settings shows them to every role (shared_preload_libraries
       -- itself needs pg_read_all_settings).
       EXISTS (SELECT 1 FROM pg_settings AS s
               WHERE s.name = 'pg_stat_statements.max') AS preloaded,
       pg_has_role('pg_read_all_stats', 'MEMBER') AS read_all_stats,
       pg_has_role('pg_signal_backend', 'MEMBER') AS signal_backend,
       r.rolsuper AS superuser,
       current_user AS role_name,
       host(inet_server_addr()) AS server_address,
       CASE WHEN r.rolsuper OR pg_has_role('pg_read_all_settings', 'MEMBER')
            THEN current_setting('shared_preload_libraries') END
           AS preload_libraries,
       (SELECT s.reset_val FROM pg_settings AS s
        WHERE s.name = 'pg_stat_statements.track') AS pgss_track,
       current_setting('compute_query_id', true) AS compute_query_id
FROM pg_roles AS r
LEFT JOIN pg_extension AS e ON e.extname = 'pg_stat_statements'
LEFT JOIN pg_namespace AS n ON n.oid = e.extnamespace
WHERE r.rolname = current_user

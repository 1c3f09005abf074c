/* evedmv-monitor */
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       e.extversion AS pgss_version,
       n.nspname AS pgss_schema,
       'pg_stat_statements' = ANY(string_to_array(
           replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
           AS preloaded,
       pg_has_role('pg_read_all_stats', 'MEMBER') AS read_all_stats,
       pg_has_role('pg_signal_backend', 'MEMBER') AS signal_backend,
       r.rolsuper AS superuser,
       current_user AS role_name,
       host(inet_server_addr()) AS server_address,
       current_setting('shared_preload_libraries') AS preload_libraries,
       (SELECT s.reset_val FROM pg_settings AS s
        WHERE s.name = 'pg_stat_statements.track') AS pgss_track,
       current_setting('compute_query_id', true) AS compute_query_id
FROM pg_roles AS r
LEFT JOIN pg_extension AS e ON e.extname = 'pg_stat_statements'
LEFT JOIN pg_namespace AS n ON n.oid = e.extnamespace
WHERE r.rolname = current_user

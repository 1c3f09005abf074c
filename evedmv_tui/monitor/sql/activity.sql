/* evedmv-monitor */
-- Every backend, this one too, so that the monitor's own connections are
-- counted with the others. pg_blocking_pids() takes the lock manager's
-- partition locks, so it runs only for backends waiting on a lock.
SELECT a.pid,
       a.datname AS database,
       a.usename AS role_name,
       coalesce(a.application_name, '') AS application_name,
       host(a.client_addr) AS client_addr,
       coalesce(a.backend_type, '') AS backend_type,
       a.state,
       a.wait_event_type,
       a.wait_event,
       extract(epoch FROM clock_timestamp() - a.query_start)::double precision
           AS query_seconds,
       extract(epoch FROM clock_timestamp() - a.xact_start)::double precision
           AS xact_seconds,
       coalesce(a.query, '') AS query,
       CASE WHEN a.wait_event_type = 'Lock'
            THEN pg_blocking_pids(a.pid) ELSE '{}'::int[] END AS blocked_by,
       a.backend_start,
       a.query_start
FROM pg_stat_activity AS a

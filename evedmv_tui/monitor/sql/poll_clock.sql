/* evedmv-monitor */
-- The start of every poll: the poll's own backend, the server clock and the
-- postmaster start time, which changes when the server restarted.
SELECT pg_backend_pid() AS backend_pid,
       extract(epoch FROM clock_timestamp())::double precision AS server_time,
       extract(epoch FROM pg_postmaster_start_time())::double precision
           AS postmaster_start,
       current_database() AS database

-- No parallel workers for the rest of the transaction (SET LOCAL as a query,
-- so it returns a row like the statements it is sent with).
SELECT set_config('max_parallel_workers_per_gather', '0', true)

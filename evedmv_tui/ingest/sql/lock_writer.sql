-- Serialise writers of killmail_index until the end of the transaction.
SELECT pg_advisory_xact_lock(%s)

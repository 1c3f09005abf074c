-- Held until the transaction ends, so two detections never interleave.
SELECT pg_advisory_xact_lock(%s)

-- Killmail references whose id and hash ESI rejected with HTTP 422, the most
-- recently marked first. The fetcher sets updated_at when it marks a pair
-- invalid. An invalid row changes again only when it stops being invalid: a
-- reference with another hash makes it pending (refresh_pending.sql), or its
-- body is stored (mark_stored.sql). So updated_at is the time of marking.
SELECT killmail_id, killmail_hash, source, attempts, last_error,
       updated_at AS marked_at
FROM killmail_index
WHERE state = 'invalid'
ORDER BY updated_at DESC, killmail_id DESC
LIMIT %(limit)s

-- Number of killmail references whose id and hash ESI rejected with HTTP 422.
SELECT count(*) FROM killmail_index WHERE state = 'invalid'

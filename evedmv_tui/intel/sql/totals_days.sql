-- The UTC days that have stored killmails, oldest first, with their killmail counts.
SELECT date_trunc('day', killmail_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day,
       count(*)
FROM killmails
GROUP BY 1
ORDER BY 1

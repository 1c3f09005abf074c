SELECT min(killmail_time), max(killmail_time) FROM killmails WHERE killmail_time >= %s

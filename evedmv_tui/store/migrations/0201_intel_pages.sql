-- Entity pages: the killmail columns of an entity's kills, read by
-- (killmail_time, killmail_id) from the index alone.
--
-- A page finds its kills through the attacker indexes of 0200_intel.sql and
-- then reads the system, value, victim and attacker count of every kill.
-- Through the primary key that costs one heap page per kill, and killmail
-- heap pages are wide (they carry the ESI and zKillboard bodies); this
-- index answers the same lookup without the heap once VACUUM has set the
-- visibility map. Losses already read their columns from the victim
-- indexes of 0200_intel.sql.
CREATE INDEX killmails_time_id_kill_columns
    ON killmails (killmail_time, killmail_id)
    INCLUDE (attacker_count, solar_system_id, total_value,
             victim_corporation_id, victim_alliance_id);

-- The stored name of one entity, and whether any killmail names it as
-- attacker or victim. {attacker} and {victim} are as in entity_page.sql.
SELECT
    (SELECT name FROM names
     WHERE entity_id = %(entity_id)s AND category = %(category)s) AS name,
    EXISTS (SELECT 1 FROM attackers WHERE {attacker} = %(entity_id)s)
    OR EXISTS (SELECT 1 FROM killmails WHERE {victim} = %(entity_id)s)
        AS has_killmails

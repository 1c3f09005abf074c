-- Attackers of one killmail, most damage first, with local names.
SELECT
    a.attacker_index,
    a.character_id,
    a.corporation_id,
    a.alliance_id,
    a.faction_id,
    nc.name AS character_name,
    nco.name AS corporation_name,
    na.name AS alliance_name,
    nf.name AS faction_name,
    a.ship_type_id,
    ts.type_name AS ship_name,
    a.weapon_type_id,
    tw.type_name AS weapon_name,
    a.damage_done,
    a.final_blow,
    a.security_status
FROM attackers a
LEFT JOIN types ts ON ts.type_id = a.ship_type_id
LEFT JOIN types tw ON tw.type_id = a.weapon_type_id
LEFT JOIN names nc ON nc.entity_id = a.character_id
LEFT JOIN names nco ON nco.entity_id = a.corporation_id
LEFT JOIN names na ON na.entity_id = a.alliance_id
LEFT JOIN names nf ON nf.entity_id = a.faction_id
WHERE a.killmail_id = %(killmail_id)s
  AND a.killmail_time = %(killmail_time)s
ORDER BY a.damage_done DESC, a.attacker_index

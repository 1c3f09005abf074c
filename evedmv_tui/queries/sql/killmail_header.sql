-- One killmail's header and victim, with the names known locally. A NULL
-- time (no killmail_index row) scans every partition; a known time prunes
-- to one.
SELECT
    k.killmail_id,
    k.killmail_time,
    k.killmail_hash,
    k.solar_system_id,
    s.solar_system_name,
    r.region_name,
    s.security,
    k.victim_character_id,
    k.victim_corporation_id,
    k.victim_alliance_id,
    k.victim_faction_id,
    vc.name AS victim_character_name,
    vo.name AS victim_corporation_name,
    va.name AS victim_alliance_name,
    vf.name AS victim_faction_name,
    k.victim_ship_type_id,
    t.type_name AS victim_ship_name,
    g.group_name AS victim_ship_group,
    k.victim_damage_taken,
    k.attacker_count,
    k.total_value,
    k.fitted_value,
    k.dropped_value,
    k.destroyed_value,
    k.value_source,
    k.points,
    k.npc,
    k.solo,
    k.awox,
    coalesce(p.average_price, nullif(p.adjusted_price, 0)) AS hull_price
FROM killmails k
LEFT JOIN solar_systems s ON s.solar_system_id = k.solar_system_id
LEFT JOIN regions r ON r.region_id = s.region_id
LEFT JOIN types t ON t.type_id = k.victim_ship_type_id
LEFT JOIN groups g ON g.group_id = t.group_id
LEFT JOIN prices p ON p.type_id = k.victim_ship_type_id
LEFT JOIN names vc ON vc.entity_id = k.victim_character_id
LEFT JOIN names vo ON vo.entity_id = k.victim_corporation_id
LEFT JOIN names va ON va.entity_id = k.victim_alliance_id
LEFT JOIN names vf ON vf.entity_id = k.victim_faction_id
WHERE k.killmail_id = %(killmail_id)s
  AND (%(killmail_time)s::timestamptz IS NULL
       OR k.killmail_time = %(killmail_time)s::timestamptz)

SELECT s.battle_id, s.side_no, s.pilots, s.ships_lost, s.isk_lost, s.isk_destroyed,
       s.efficiency, s.third_party,
       (SELECT e.entity_id FROM battle_entities e
        WHERE e.battle_id = s.battle_id AND e.side_no = s.side_no
          AND (e.parent_id IS NULL OR e.overridden)
        ORDER BY e.weight_for DESC, e.entity_id
        LIMIT 1) AS label_id,
       (SELECT count(*) FROM battle_entities e
        WHERE e.battle_id = s.battle_id AND e.side_no = s.side_no
          AND (e.parent_id IS NULL OR e.overridden))::int AS units
FROM battle_sides s
WHERE s.battle_id = ANY(%s::bigint[])
ORDER BY s.battle_id, s.side_no

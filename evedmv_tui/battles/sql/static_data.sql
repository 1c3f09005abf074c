-- The static data token with the tables it covers, in one snapshot: the gate
-- jumps, the region of each system, and the group and category of each type.
SELECT (SELECT token FROM static_data_version),
       j.sources, j.targets, s.systems, s.regions, t.types, t.groups, t.categories
FROM (SELECT array_agg(from_solar_system_id) AS sources,
             array_agg(to_solar_system_id) AS targets
      FROM stargate_jumps) AS j,
     (SELECT array_agg(solar_system_id) AS systems, array_agg(region_id) AS regions
      FROM solar_systems) AS s,
     (SELECT array_agg(t.type_id) AS types, array_agg(t.group_id) AS groups,
             array_agg(g.category_id) AS categories
      FROM types t
      LEFT JOIN groups g ON g.group_id = t.group_id) AS t

-- Create one watch profile and return its id.
INSERT INTO watch_profiles (
    name, enabled, character_ids, corporation_ids, alliance_ids,
    solar_system_ids, region_ids, ship_type_ids, ship_classes, min_value,
    min_attackers, max_attackers
) VALUES (
    %(name)s, %(enabled)s, %(character_ids)s, %(corporation_ids)s,
    %(alliance_ids)s, %(solar_system_ids)s, %(region_ids)s, %(ship_type_ids)s,
    %(ship_classes)s, %(min_value)s, %(min_attackers)s, %(max_attackers)s
)
RETURNING profile_id

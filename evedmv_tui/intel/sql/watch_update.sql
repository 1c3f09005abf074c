-- Replace the conditions of one watch profile, found by name.
UPDATE watch_profiles SET
    name = %(new_name)s,
    enabled = %(enabled)s,
    character_ids = %(character_ids)s,
    corporation_ids = %(corporation_ids)s,
    alliance_ids = %(alliance_ids)s,
    solar_system_ids = %(solar_system_ids)s,
    region_ids = %(region_ids)s,
    ship_type_ids = %(ship_type_ids)s,
    ship_classes = %(ship_classes)s,
    min_value = %(min_value)s,
    min_attackers = %(min_attackers)s,
    max_attackers = %(max_attackers)s,
    updated_at = now()
WHERE name = %(name)s
RETURNING profile_id

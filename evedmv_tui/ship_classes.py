"""Ship classes and fleet roles, derived from a type's SDE group.

This module is the one place that maps SDE ``groupID`` values to the classes
the dashboard shows and to the roles battle reports count. The tables in
``docs/ship-classes.md`` list the same mapping for readers. The group ids
are CCP's (SDE build 3650286, October 2026). A group not listed here falls
back to a class from its category: Structure (65), Sovereignty Structures
(40) and Orbitals (46) are ``structure``, Deployable (22) is
``deployable``, Starbase (23) is ``starbase``, Fighter (87) is ``fighter``,
Drone (18) is ``drone``, any other Ship (6) group is ``other``, and
everything else is ``other``.
"""

from __future__ import annotations

from collections.abc import Mapping

# Class names, in the order a summary lists them from small to large.
FRIGATE = "frigate"
DESTROYER = "destroyer"
CRUISER = "cruiser"
BATTLECRUISER = "battlecruiser"
BATTLESHIP = "battleship"
CAPITAL = "capital"
SUPERCAPITAL = "supercapital"
INDUSTRIAL = "industrial"
MINING = "mining"
SHUTTLE = "shuttle"
CORVETTE = "corvette"
CAPSULE = "capsule"
STRUCTURE = "structure"
DEPLOYABLE = "deployable"
STARBASE = "starbase"
FIGHTER = "fighter"
DRONE = "drone"
OTHER = "other"

SHIP_CLASSES: tuple[str, ...] = (
    FRIGATE,
    DESTROYER,
    CRUISER,
    BATTLECRUISER,
    BATTLESHIP,
    CAPITAL,
    SUPERCAPITAL,
    INDUSTRIAL,
    MINING,
    SHUTTLE,
    CORVETTE,
    CAPSULE,
    STRUCTURE,
    DEPLOYABLE,
    STARBASE,
    FIGHTER,
    DRONE,
    OTHER,
)

CATEGORY_SHIP = 6
CATEGORY_DRONE = 18
CATEGORY_DEPLOYABLE = 22
CATEGORY_STARBASE = 23
CATEGORY_SOVEREIGNTY = 40
CATEGORY_ORBITAL = 46
CATEGORY_STRUCTURE = 65
CATEGORY_FIGHTER = 87

GROUP_CLASSES: Mapping[int, str] = {
    # frigates
    25: FRIGATE,  # Frigate
    324: FRIGATE,  # Assault Frigate
    830: FRIGATE,  # Covert Ops
    831: FRIGATE,  # Interceptor
    834: FRIGATE,  # Stealth Bomber
    893: FRIGATE,  # Electronic Attack Ship
    1283: FRIGATE,  # Expedition Frigate
    1527: FRIGATE,  # Logistics Frigate
    1022: FRIGATE,  # Prototype Exploration Ship
    # destroyers
    420: DESTROYER,  # Destroyer
    541: DESTROYER,  # Interdictor
    1305: DESTROYER,  # Tactical Destroyer
    1534: DESTROYER,  # Command Destroyer
    # cruisers
    26: CRUISER,  # Cruiser
    358: CRUISER,  # Heavy Assault Cruiser
    832: CRUISER,  # Logistics
    833: CRUISER,  # Force Recon Ship
    894: CRUISER,  # Heavy Interdiction Cruiser
    906: CRUISER,  # Combat Recon Ship
    963: CRUISER,  # Strategic Cruiser
    1972: CRUISER,  # Flag Cruiser
    # battlecruisers
    419: BATTLECRUISER,  # Combat Battlecruiser
    540: BATTLECRUISER,  # Command Ship
    1201: BATTLECRUISER,  # Attack Battlecruiser
    # battleships
    27: BATTLESHIP,  # Battleship
    381: BATTLESHIP,  # Elite Battleship
    898: BATTLESHIP,  # Black Ops
    900: BATTLESHIP,  # Marauder
    # capitals
    485: CAPITAL,  # Dreadnought
    547: CAPITAL,  # Carrier
    883: CAPITAL,  # Capital Industrial Ship (Rorqual)
    1538: CAPITAL,  # Force Auxiliary
    4594: CAPITAL,  # Lancer Dreadnought
    5120: CAPITAL,  # Command Carrier
    # supercapitals
    30: SUPERCAPITAL,  # Titan
    659: SUPERCAPITAL,  # Supercarrier
    # haulers
    28: INDUSTRIAL,  # Hauler
    380: INDUSTRIAL,  # Deep Space Transport
    513: INDUSTRIAL,  # Freighter
    902: INDUSTRIAL,  # Jump Freighter
    941: INDUSTRIAL,  # Industrial Command Ship
    1202: INDUSTRIAL,  # Blockade Runner
    # mining
    463: MINING,  # Mining Barge
    543: MINING,  # Exhumer
    # the smallest hulls
    31: SHUTTLE,  # Shuttle
    237: CORVETTE,  # Corvette (rookie ships)
    29: CAPSULE,  # Capsule
}
"""Ship class of each ship group; other groups fall back by category."""

CATEGORY_CLASSES: Mapping[int, str] = {
    CATEGORY_STRUCTURE: STRUCTURE,
    CATEGORY_SOVEREIGNTY: STRUCTURE,
    CATEGORY_ORBITAL: STRUCTURE,
    CATEGORY_DEPLOYABLE: DEPLOYABLE,
    CATEGORY_STARBASE: STARBASE,
    CATEGORY_FIGHTER: FIGHTER,
    CATEGORY_DRONE: DRONE,
}
"""Class of a group missing from :data:`GROUP_CLASSES`, by its category."""

# Roles that battle reports count, each a set of ship groups.
FLEET_COMMAND = "fleet_command"
LOGISTICS = "logistics"
INTERDICTOR = "interdictor"
HEAVY_INTERDICTOR = "heavy_interdictor"
CAPITAL_ROLE = "capital"
SUPERCAPITAL_ROLE = "supercapital"

FLEET_COMMAND_GROUPS = frozenset({540, 1534, 1972})
"""Command Ship, Command Destroyer and Flag Cruiser: hulls that run fleet
command bursts. Industrial command hulls (941, 883) boost mining and are
left out."""
LOGISTICS_GROUPS = frozenset({832, 1527, 1538})
"""Logistics cruisers, logistics frigates and force auxiliaries. The T1
repair cruisers (Osprey, Augoror, Exequror, Scythe) share group 26 with
every other cruiser, so a group-based role cannot single them out."""
INTERDICTOR_GROUPS = frozenset({541})
HEAVY_INTERDICTOR_GROUPS = frozenset({894})
CAPITAL_GROUPS = frozenset(
    group for group, ship_class in GROUP_CLASSES.items() if ship_class == CAPITAL
)
SUPERCAPITAL_GROUPS = frozenset(
    group for group, ship_class in GROUP_CLASSES.items() if ship_class == SUPERCAPITAL
)

ROLE_GROUPS: Mapping[str, frozenset[int]] = {
    FLEET_COMMAND: FLEET_COMMAND_GROUPS,
    LOGISTICS: LOGISTICS_GROUPS,
    INTERDICTOR: INTERDICTOR_GROUPS,
    HEAVY_INTERDICTOR: HEAVY_INTERDICTOR_GROUPS,
    CAPITAL_ROLE: CAPITAL_GROUPS,
    SUPERCAPITAL_ROLE: SUPERCAPITAL_GROUPS,
}
"""Ship groups of each fleet role; a group may have several roles."""


def role_label(role: str) -> str:
    """Return a fleet role as words for a screen (``heavy interdictor``)."""
    return role.replace("_", " ")


CAPSULE_GROUP = 29
CORVETTE_GROUP = 237
SHUTTLE_GROUP = 31


def ship_class(group_id: int | None, category_id: int | None = None) -> str:
    """Return the ship class of a type from its group (and category, if known).

    Without ``category_id``, a group missing from :data:`GROUP_CLASSES` is
    ``other``; the SDE importer passes the category so that structures,
    deployables and starbases get their own class.
    """
    if group_id is not None:
        found = GROUP_CLASSES.get(group_id)
        if found is not None:
            return found
    if category_id is not None:
        return CATEGORY_CLASSES.get(category_id, OTHER)
    return OTHER


def roles(group_id: int | None) -> frozenset[str]:
    """Return the fleet roles of a ship group (empty for most groups)."""
    if group_id is None:
        return frozenset()
    return frozenset(role for role, groups in ROLE_GROUPS.items() if group_id in groups)


def is_capsule(group_id: int | None) -> bool:
    return group_id == CAPSULE_GROUP

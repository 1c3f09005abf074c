"""The types, systems and gates the generator draws from.

:func:`builtin_universe` is written by hand: a few dozen well-known ship
types, modules and solar systems with their real CCP ids and groups, and the
real gate links among those systems, so the demo works without the SDE.
:func:`load_universe` reads the same shape from the static data tables once
``evedmv sde import`` has filled them. Prices are rounded ESI
``average_price`` values of 2025-05-13 (``adjusted_price`` where no average
exists); they only feed the generated zkb values.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from evedmv_tui import ship_classes
from evedmv_tui.store.db import Database, NamedSql

log = logging.getLogger(__name__)

# Hull pools the fleets draw from; each is a list of ship type ids.
HULL_POOLS = (
    "rookie",
    "frigate",
    "tackle",
    "bomber",
    "destroyer",
    "interdictor",
    "cruiser",
    "hac",
    "recon",
    "logistics",
    "heavy_interdictor",
    "battlecruiser",
    "command",
    "battleship",
    "carrier",
    "dreadnought",
    "force_auxiliary",
    "supercarrier",
    "titan",
    "hauler",
    "freighter",
    "mining",
    "shuttle",
    "capsule",
    "citadel",
    "engineering",
    "deployable",
    "control_tower",
)

# Ship groups behind each pool when hulls come from the SDE tables.
POOL_GROUPS: Mapping[str, tuple[int, ...]] = {
    "rookie": (237,),
    "frigate": (25, 324),
    "tackle": (831,),
    "bomber": (834,),
    "destroyer": (420, 1305),
    "interdictor": (541,),
    "cruiser": (26,),
    "hac": (358, 963),
    "recon": (833, 906),
    "logistics": (832,),
    "heavy_interdictor": (894,),
    "battlecruiser": (419, 1201),
    "command": (540,),
    "battleship": (27, 900),
    "carrier": (547,),
    "dreadnought": (485,),
    "force_auxiliary": (1538,),
    "supercarrier": (659,),
    "titan": (30,),
    "hauler": (28, 380, 1202),
    "freighter": (513, 902),
    "mining": (463, 543),
    "shuttle": (31,),
    "capsule": (29,),
    "citadel": (1657,),
    "engineering": (1404, 1406),
    "deployable": (1246, 1250),
    "control_tower": (365,),
}

# (type_id, name, group_id, price in ISK, pool)
BUILTIN_SHIPS: tuple[tuple[int, str, int, float, str], ...] = (
    (601, "Ibis", 237, 1_874, "rookie"),
    (606, "Velator", 237, 4_790, "rookie"),
    (596, "Impairor", 237, 3_352, "rookie"),
    (588, "Reaper", 237, 2_757, "rookie"),
    (587, "Rifter", 25, 325_488, "frigate"),
    (603, "Merlin", 25, 235_390, "frigate"),
    (597, "Punisher", 25, 552_167, "frigate"),
    (593, "Tristan", 25, 428_339, "frigate"),
    (608, "Atron", 25, 518_399, "frigate"),
    (32880, "Venture", 25, 412_247, "mining"),
    (11196, "Claw", 831, 21_019_496, "tackle"),
    (11198, "Stiletto", 831, 22_705_086, "tackle"),
    (12034, "Hound", 834, 23_438_206, "bomber"),
    (12038, "Purifier", 834, 28_212_103, "bomber"),
    (16242, "Thrasher", 420, 1_381_407, "destroyer"),
    (16240, "Catalyst", 420, 1_453_675, "destroyer"),
    (16238, "Cormorant", 420, 673_344, "destroyer"),
    (16236, "Coercer", 420, 1_492_651, "destroyer"),
    (35683, "Hecate", 1305, 74_126_739, "destroyer"),
    (34562, "Svipul", 1305, 71_859_409, "destroyer"),
    (22456, "Sabre", 541, 50_541_309, "interdictor"),
    (22452, "Heretic", 541, 56_057_275, "interdictor"),
    (22464, "Flycatcher", 541, 61_288_869, "interdictor"),
    (22460, "Eris", 541, 57_230_352, "interdictor"),
    (621, "Caracal", 26, 15_879_935, "cruiser"),
    (627, "Thorax", 26, 16_806_821, "cruiser"),
    (629, "Rupture", 26, 15_955_663, "cruiser"),
    (2006, "Omen", 26, 14_837_474, "cruiser"),
    (626, "Vexor", 26, 16_485_802, "cruiser"),
    (622, "Stabber", 26, 16_387_795, "cruiser"),
    (12015, "Muninn", 358, 195_629_865, "hac"),
    (11993, "Cerberus", 358, 233_100_990, "hac"),
    (12003, "Zealot", 358, 200_126_222, "hac"),
    (12023, "Deimos", 358, 204_585_407, "hac"),
    (29990, "Loki", 963, 239_622_473, "hac"),
    (29984, "Tengu", 963, 250_845_242, "hac"),
    (11961, "Huginn", 906, 182_148_033, "recon"),
    (11969, "Arazu", 833, 198_220_324, "recon"),
    (11978, "Scimitar", 832, 184_600_295, "logistics"),
    (11985, "Basilisk", 832, 209_645_605, "logistics"),
    (11987, "Guardian", 832, 182_291_091, "logistics"),
    (11989, "Oneiros", 832, 180_748_548, "logistics"),
    (11995, "Onyx", 894, 302_897_937, "heavy_interdictor"),
    (12013, "Broadsword", 894, 263_741_362, "heavy_interdictor"),
    (12017, "Devoter", 894, 275_267_591, "heavy_interdictor"),
    (12021, "Phobos", 894, 269_498_760, "heavy_interdictor"),
    (24702, "Hurricane", 419, 76_450_331, "battlecruiser"),
    (24698, "Drake", 419, 78_488_760, "battlecruiser"),
    (24696, "Harbinger", 419, 74_036_803, "battlecruiser"),
    (16229, "Brutix", 419, 79_637_402, "battlecruiser"),
    (16227, "Ferox", 419, 67_933_940, "battlecruiser"),
    (4310, "Tornado", 1201, 104_795_188, "battlecruiser"),
    (22474, "Damnation", 540, 412_763_636, "command"),
    (22468, "Claymore", 540, 410_686_330, "command"),
    (22446, "Vulture", 540, 405_582_676, "command"),
    (22442, "Eos", 540, 323_755_736, "command"),
    (22470, "Nighthawk", 540, 483_360_916, "command"),
    (641, "Megathron", 27, 240_706_016, "battleship"),
    (638, "Raven", 27, 243_775_178, "battleship"),
    (642, "Apocalypse", 27, 224_094_872, "battleship"),
    (639, "Tempest", 27, 236_525_559, "battleship"),
    (645, "Dominix", 27, 237_642_222, "battleship"),
    (24694, "Maelstrom", 27, 232_260_000, "battleship"),
    (24692, "Abaddon", 27, 245_409_402, "battleship"),
    (17738, "Machariel", 27, 1_004_697_323, "battleship"),
    (28665, "Vargur", 900, 1_215_603_008, "battleship"),
    (23757, "Archon", 547, 5_039_964_286, "carrier"),
    (23915, "Chimera", 547, 3_733_789_474, "carrier"),
    (23911, "Thanatos", 547, 4_141_767_442, "carrier"),
    (24483, "Nidhoggur", 547, 4_136_375_000, "carrier"),
    (19720, "Revelation", 485, 4_002_600_000, "dreadnought"),
    (19726, "Phoenix", 485, 4_572_243_243, "dreadnought"),
    (19724, "Moros", 485, 3_409_772_727, "dreadnought"),
    (19722, "Naglfar", 485, 3_852_473_684, "dreadnought"),
    (37604, "Apostle", 1538, 5_912_583_333, "force_auxiliary"),
    (37605, "Minokawa", 1538, 6_105_588_235, "force_auxiliary"),
    (37606, "Lif", 1538, 6_162_500_000, "force_auxiliary"),
    (23913, "Nyx", 659, 21_331_895_630, "supercarrier"),
    (23919, "Aeon", 659, 13_172_360_786, "supercarrier"),
    (23917, "Wyvern", 659, 26_999_749_592, "supercarrier"),
    (22852, "Hel", 659, 18_893_271_495, "supercarrier"),
    (11567, "Avatar", 30, 64_840_457_151, "titan"),
    (671, "Erebus", 30, 73_105_235_239, "titan"),
    (3764, "Leviathan", 30, 73_144_445_901, "titan"),
    (23773, "Ragnarok", 30, 61_254_516_683, "titan"),
    (648, "Badger", 28, 1_277_837, "hauler"),
    (657, "Iteron Mark V", 28, 3_904_237, "hauler"),
    (1944, "Bestower", 28, 3_567_821, "hauler"),
    (12743, "Viator", 1202, 137_219_547, "hauler"),
    (12753, "Impel", 380, 231_503_065, "hauler"),
    (20185, "Charon", 513, 2_030_446_034, "freighter"),
    (28850, "Ark", 902, 9_057_741_294, "freighter"),
    (17480, "Procurer", 463, 66_132_813, "mining"),
    (22544, "Hulk", 543, 287_995_536, "mining"),
    (22546, "Skiff", 543, 301_991_283, "mining"),
    (672, "Caldari Shuttle", 31, 20_768, "shuttle"),
    (670, "Capsule", 29, 10_000, "capsule"),
    (35832, "Astrahus", 1657, 980_696_192, "citadel"),
    (35833, "Fortizar", 1657, 10_751_851_852, "citadel"),
    (35834, "Keepstar", 1657, 150_000_000_000, "citadel"),
    (35825, "Raitaru", 1404, 621_016_614, "engineering"),
    (35835, "Athanor", 1406, 734_442_427, "engineering"),
    (33474, "Mobile Depot", 1246, 2_084_875, "deployable"),
    (33475, "Mobile Tractor Unit", 1250, 11_467_058, "deployable"),
    (16213, "Caldari Control Tower", 365, 405_109_375, "control_tower"),
)

# Fitted and carried items: (type_id, name, price in ISK)
BUILTIN_ITEMS: Mapping[str, tuple[tuple[int, str, float], ...]] = {
    "weapon_small": (
        (3178, "Light Neutron Blaster II", 1_112_277),
        (3041, "Small Focused Pulse Laser II", 1_292_112),
        (2404, "Light Missile Launcher II", 1_178_586),
        (2889, "200mm AutoCannon II", 943_867),
    ),
    "weapon_medium": (
        (3146, "Heavy Neutron Blaster II", 3_132_223),
        (3520, "Heavy Pulse Laser II", 3_165_354),
        (2410, "Heavy Missile Launcher II", 1_686_849),
        (1877, "Rapid Light Missile Launcher II", 1_257_398),
        (2913, "425mm AutoCannon II", 2_580_052),
        (2969, "720mm Howitzer Artillery II", 2_939_687),
        (3082, "250mm Railgun II", 3_512_981),
    ),
    "weapon_large": (
        (3186, "Neutron Blaster Cannon II", 7_099_304),
        (3057, "Mega Pulse Laser II", 8_557_489),
        (19739, "Cruise Missile Launcher II", 3_494_034),
        (2961, "1400mm Howitzer Artillery II", 8_706_346),
        (3090, "425mm Railgun II", 11_182_298),
    ),
    "charge_small": (
        (222, "Antimatter Charge S", 31),
        (210, "Scourge Light Missile", 17),
    ),
    "charge_medium": (
        (230, "Antimatter Charge M", 157),
        (209, "Scourge Heavy Missile", 70),
        (12777, "Hail M", 236),
        (12773, "Barrage M", 223),
        (12818, "Scorch M", 209_749),
        (12789, "Void M", 177),
        (21896, "Republic Fleet EMP M", 752),
    ),
    "charge_large": (
        (12775, "Barrage L", 630),
        (12820, "Scorch L", 529_276),
        (12791, "Void L", 379),
        (203, "Scourge Cruise Missile", 287),
    ),
    "mid": (
        (448, "Warp Scrambler II", 1_975_656),
        (3244, "Warp Disruptor II", 1_675_886),
        (527, "Stasis Webifier II", 1_305_657),
        (3831, "Medium Shield Extender II", 986_662),
        (3841, "Large Shield Extender II", 1_407_705),
        (2281, "Multispectrum Shield Hardener II", 3_175_464),
        (12076, "50MN Microwarpdrive II", 6_435_433),
        (12058, "10MN Afterburner II", 3_245_706),
        (1952, "Sensor Booster II", 1_273_797),
    ),
    "low": (
        (2048, "Damage Control II", 530_225),
        (519, "Gyrostabilizer II", 1_274_716),
        (2364, "Heat Sink II", 1_390_653),
        (10190, "Magnetic Field Stabilizer II", 1_383_304),
        (22291, "Ballistic Control System II", 1_393_023),
        (20351, "800mm Steel Plates II", 3_663_299),
        (20353, "1600mm Steel Plates II", 6_310_476),
        (3540, "Large Armor Repairer II", 2_782_691),
        (2605, "Nanofiber Internal Structure II", 417_804),
    ),
    "rig": (
        (31790, "Medium Core Defense Field Extender I", 1_125_810),
        (31055, "Medium Trimark Armor Pump I", 2_017_131),
        (25894, "Large Trimark Armor Pump I", 10_210_741),
        (30987, "Small Trimark Armor Pump I", 395_943),
    ),
    "logistics": (
        (26914, "Large Remote Armor Repairer II", 3_166_419),
        (3608, "Large Remote Shield Booster II", 1_884_171),
        (12102, "Large Remote Capacitor Transmitter II", 5_400_444),
    ),
    "command": (
        (43556, "Skirmish Command Burst II", 3_045_915),
        (43555, "Shield Command Burst II", 3_500_633),
        (43552, "Armor Command Burst II", 2_805_697),
    ),
    "interdiction": (
        (22782, "Interdiction Sphere Launcher I", 3_920_539),
        (4248, "Warp Disruption Field Generator II", 16_561_994),
    ),
    "capital": (
        (4292, "Siege Module II", 191_748_654),
        (4294, "Triage Module II", 177_075_507),
        (41466, "Capital Remote Armor Repairer II", 172_675_969),
        (41500, "Capital Armor Repairer II", 748_726_891),
        (21096, "Cynosural Field Generator I", 4_442_478),
    ),
    "drone": (
        (2488, "Warrior II", 413_593),
        (2456, "Hobgoblin II", 429_031),
        (2185, "Hammerhead II", 1_146_722),
        (2446, "Ogre II", 1_880_014),
    ),
    "cargo": (
        (28668, "Nanite Repair Paste", 27_460),
        (11289, "Cap Booster 800", 10_530),
        (16275, "Strontium Clathrates", 3_886),
        (34, "Tritanium", 4),
        (1230, "Veldspar", 10),
        (44992, "PLEX", 6_314_473),
    ),
    "container": (
        (11489, "Giant Secure Container", 372_309),
        (3465, "Large Secure Container", 257_241),
    ),
    "implant": (
        (19540, "High-grade Snake Alpha", 126_313_158),
        (22119, "Mid-grade Amulet Alpha", 47_442_753),
        (2082, "Genolution Core Augmentation CA-1", 141_250_000),
        (16246, "Zainou 'Gnome' Shield Management SM-705", 138_535_744),
    ),
    "structure": (
        (47327, "Standup Point Defense Battery II", 495_425_000),
        (47334, "Standup Focused Warp Disruptor II", 167_673_874),
        (47298, "Standup Multirole Missile Launcher II", 231_188_274),
        (35892, "Standup Market Hub I", 1_156_257_143),
        (35878, "Standup Manufacturing Plant I", 207_298_056),
    ),
}

# Group of each built-in item, for the types table of the built-in universe.
BUILTIN_ITEM_GROUPS: Mapping[int, int] = {
    3178: 74,
    3041: 53,
    2404: 509,
    2889: 55,
    3146: 74,
    3520: 53,
    2410: 510,
    1877: 511,
    2913: 55,
    2969: 55,
    3082: 74,
    3186: 74,
    3057: 53,
    19739: 506,
    2961: 55,
    3090: 74,
    222: 85,
    210: 384,
    230: 85,
    209: 385,
    12777: 372,
    12773: 372,
    12818: 375,
    12789: 377,
    21896: 83,
    12775: 372,
    12820: 375,
    12791: 377,
    203: 386,
    448: 52,
    3244: 52,
    527: 65,
    3831: 38,
    3841: 38,
    2281: 77,
    12076: 46,
    12058: 46,
    1952: 212,
    2048: 60,
    519: 59,
    2364: 205,
    10190: 302,
    22291: 367,
    20351: 329,
    20353: 329,
    3540: 62,
    2605: 763,
    31790: 774,
    31055: 773,
    25894: 773,
    30987: 773,
    26914: 325,
    3608: 41,
    12102: 67,
    43556: 1770,
    43555: 1770,
    43552: 1770,
    22782: 589,
    4248: 899,
    4292: 515,
    4294: 515,
    41466: 325,
    41500: 62,
    21096: 658,
    2488: 100,
    2456: 100,
    2185: 100,
    2446: 100,
    28668: 916,
    11289: 87,
    16275: 423,
    34: 18,
    1230: 462,
    44992: 1875,
    11489: 340,
    3465: 340,
    19540: 300,
    22119: 300,
    2082: 1730,
    16246: 749,
    47327: 1330,
    47334: 1442,
    47298: 1562,
    35892: 1321,
    35878: 1415,
}

# (name, category_id) of every group the built-in types use.
BUILTIN_GROUPS: Mapping[int, tuple[str, int]] = {
    18: ("Mineral", 4),
    25: ("Frigate", 6),
    26: ("Cruiser", 6),
    27: ("Battleship", 6),
    28: ("Hauler", 6),
    29: ("Capsule", 6),
    30: ("Titan", 6),
    31: ("Shuttle", 6),
    38: ("Shield Extender", 7),
    41: ("Remote Shield Booster", 7),
    46: ("Propulsion Module", 7),
    52: ("Warp Scrambler", 7),
    53: ("Energy Weapon", 7),
    55: ("Projectile Weapon", 7),
    59: ("Gyrostabilizer", 7),
    60: ("Damage Control", 7),
    62: ("Armor Repair Unit", 7),
    65: ("Stasis Web", 7),
    67: ("Remote Capacitor Transmitter", 7),
    74: ("Hybrid Weapon", 7),
    77: ("Shield Hardener", 7),
    83: ("Projectile Ammo", 8),
    85: ("Hybrid Charge", 8),
    87: ("Capacitor Booster Charge", 8),
    100: ("Combat Drone", 18),
    205: ("Heat Sink", 7),
    212: ("Sensor Booster", 7),
    237: ("Corvette", 6),
    300: ("Cyberimplant", 20),
    302: ("Magnetic Field Stabilizer", 7),
    325: ("Remote Armor Repairer", 7),
    329: ("Armor Plate", 7),
    340: ("Secure Cargo Container", 2),
    358: ("Heavy Assault Cruiser", 6),
    365: ("Control Tower", 23),
    367: ("Ballistic Control System", 7),
    372: ("Advanced Autocannon Ammo", 8),
    375: ("Advanced Pulse Laser Crystal", 8),
    377: ("Advanced Blaster Charge", 8),
    380: ("Deep Space Transport", 6),
    384: ("Light Missile", 8),
    385: ("Heavy Missile", 8),
    386: ("Cruise Missile", 8),
    419: ("Combat Battlecruiser", 6),
    420: ("Destroyer", 6),
    423: ("Ice Product", 4),
    462: ("Veldspar", 25),
    463: ("Mining Barge", 6),
    485: ("Dreadnought", 6),
    506: ("Missile Launcher Cruise", 7),
    509: ("Missile Launcher Light", 7),
    510: ("Missile Launcher Heavy", 7),
    511: ("Missile Launcher Rapid Light", 7),
    513: ("Freighter", 6),
    515: ("Siege Module", 7),
    540: ("Command Ship", 6),
    541: ("Interdictor", 6),
    543: ("Exhumer", 6),
    547: ("Carrier", 6),
    589: ("Interdiction Sphere Launcher", 7),
    658: ("Cynosural Field Generator", 7),
    659: ("Supercarrier", 6),
    749: ("Cyber Shields", 20),
    763: ("Nanofiber Internal Structure", 7),
    773: ("Rig Armor", 7),
    774: ("Rig Shield", 7),
    831: ("Interceptor", 6),
    832: ("Logistics", 6),
    833: ("Force Recon Ship", 6),
    834: ("Stealth Bomber", 6),
    894: ("Heavy Interdiction Cruiser", 6),
    899: ("Warp Disrupt Field Generator", 7),
    900: ("Marauder", 6),
    902: ("Jump Freighter", 6),
    906: ("Combat Recon Ship", 6),
    916: ("Nanite Repair Paste", 8),
    963: ("Strategic Cruiser", 6),
    1201: ("Attack Battlecruiser", 6),
    1202: ("Blockade Runner", 6),
    1246: ("Mobile Depot", 22),
    1250: ("Mobile Tractor Unit", 22),
    1305: ("Tactical Destroyer", 6),
    1321: ("Structure Citadel Service Module", 66),
    1330: ("Structure Area Denial Module", 66),
    1404: ("Engineering Complex", 65),
    1406: ("Refinery", 65),
    1415: ("Structure Engineering Service Module", 66),
    1442: ("Structure Warp Scrambler", 66),
    1538: ("Force Auxiliary", 6),
    1562: ("Structure Multirole Missile Launcher", 66),
    1657: ("Citadel", 65),
    1730: ("Special Edition Implant", 20),
    1770: ("Command Burst", 7),
    1875: ("PLEX", 5),
}
BUILTIN_CATEGORIES: Mapping[int, str] = {
    2: "Celestial",
    4: "Material",
    5: "Accessories",
    6: "Ship",
    7: "Module",
    8: "Charge",
    18: "Drone",
    20: "Implant",
    22: "Deployable",
    23: "Starbase",
    25: "Asteroid",
    65: "Structure",
    66: "Structure Module",
}

# (solar_system_id, name, constellation_id, region_id, security,
#  security_class, wormhole_class_id)
BUILTIN_SYSTEMS: tuple[tuple[int, str, int, int, float, str | None, int], ...] = (
    (30000142, "Jita", 20000020, 10000002, 0.946, "B", 7),
    (30000144, "Perimeter", 20000020, 10000002, 0.953, "A", 7),
    (30000140, "Maurasi", 20000020, 10000002, 0.913, "B", 7),
    (30000143, "Niyabainen", 20000020, 10000002, 0.964, "A", 7),
    (30000145, "New Caldari", 20000020, 10000002, 1.000, "A", 7),
    (30002768, "Uedama", 20000406, 10000033, 0.505, "C", 7),
    (30002765, "Sivala", 20000405, 10000033, 0.551, "C", 7),
    (30002767, "Kubinen", 20000406, 10000033, 0.416, "C1", 8),
    (30002800, "Haatomo", 20000411, 10000033, 0.609, "C", 7),
    (30002813, "Tama", 20000412, 10000033, 0.283, "C1", 8),
    (30001376, "Nourvukaiken", 20000201, 10000016, 0.817, "B", 7),
    (30045346, "Kedama", 20000782, 10000069, 0.338, None, 8),
    (30002537, "Amamake", 20000372, 10000030, 0.439, "E", 8),
    (30002541, "Dal", 20000372, 10000030, 0.411, "E", 8),
    (30002538, "Vard", 20000372, 10000030, 0.379, "E", 8),
    (30002539, "Siseide", 20000372, 10000030, 0.338, "E", 8),
    (30002542, "Auga", 20000372, 10000030, 0.385, "E", 8),
    (30002510, "Rens", 20000367, 10000030, 0.895, "D", 7),
    (30002526, "Frarn", 20000370, 10000030, 0.839, "D", 7),
    (30002718, "Rancer", 20000398, 10000032, 0.365, "D2", 8),
    (30002719, "Miroitem", 20000398, 10000032, 0.305, "D2", 8),
    (30002691, "Crielere", 20000393, 10000032, 0.398, "D2", 8),
    (30002659, "Dodixie", 20000389, 10000032, 0.868, "B", 7),
    (30002661, "Botane", 20000389, 10000032, 0.875, "B", 7),
    (30002187, "Amarr", 20000322, 10000043, 1.000, "A", 7),
    (30003491, "Ashab", 20000509, 10000043, 0.909, "B", 7),
    (30001161, "HED-GP", 20000169, 10000014, -0.146, "I", 9),
    (30001158, "SV5-8N", 20000169, 10000014, -0.207, "I", 9),
    (30003883, "Keberz", 20000567, 10000049, 0.530, "B1", 7),
    (30001155, "U-QVWD", 20000169, 10000014, -0.071, "I", 9),
    (30001009, "0SHT-A", 20000148, 10000012, -0.160, "I", 9),
    (30001156, "B-3QPD", 20000169, 10000014, -0.076, "I", 9),
    (30001157, "36N-HZ", 20000169, 10000014, -0.062, "I", 9),
    (30004759, "1DQ1-A", 20000696, 10000060, -0.386, "G2", 9),
    (30004735, "T5ZI-S", 20000692, 10000060, -0.143, "G", 9),
    (30004760, "8WA-Z6", 20000696, 10000060, -0.629, "G4", 9),
    (30004762, "N-8YET", 20000696, 10000060, -0.876, "G7", 9),
    (30004765, "MO-GZ5", 20000696, 10000060, -0.713, "G5", 9),
    (30000848, "M-OEE8", 20000124, 10000010, -0.218, "H", 9),
    (30000846, "E-OGL4", 20000124, 10000010, -0.286, "H1", 9),
    (30000847, "J-GAMP", 20000124, 10000010, -0.242, "H", 9),
    (30000849, "V0DF-2", 20000124, 10000010, -0.209, "H", 9),
    (30001984, "EC-P8R", 20000292, 10000023, -0.447, "J2", 9),
    (30001429, "Torrinos", 20000209, 10000016, 0.520, "C", 7),
    (30001985, "EWOK-K", 20000292, 10000023, -0.314, "J1", 9),
    (30001987, "G-M4I8", 20000292, 10000023, -0.298, "J1", 9),
    (31000368, "J105951", 21000022, 11000004, -0.990, None, 2),
    (31000520, "J150859", 21000037, 11000005, -0.990, None, 2),
)

# (constellation_id, name, region_id, faction_id, wormhole_class_id)
BUILTIN_CONSTELLATIONS: tuple[tuple[int, str, int, int | None, int], ...] = (
    (20000020, "Kimotoro", 10000002, 500001, 7),
    (20000124, "1P-VL2", 10000010, None, 9),
    (20000148, "Paradise", 10000012, 500011, 9),
    (20000169, "UX3-N2", 10000014, None, 9),
    (20000201, "Okela", 10000016, 500001, 7),
    (20000209, "Asalola", 10000016, 500001, 7),
    (20000292, "YS-GOP", 10000023, None, 9),
    (20000322, "Throne Worlds", 10000043, 500003, 7),
    (20000367, "Ortner", 10000030, 500002, 7),
    (20000370, "Odengsolf", 10000030, 500002, 7),
    (20000372, "Hed", 10000030, 500002, 7),
    (20000389, "Coriault", 10000032, 500004, 7),
    (20000393, "Lolbrerie", 10000032, 500004, 7),
    (20000398, "Aeman", 10000032, 500004, 7),
    (20000405, "Caldari Border Zone", 10000033, 500001, 7),
    (20000406, "Kantanen", 10000033, 500001, 7),
    (20000411, "Tasen", 10000033, 500001, 7),
    (20000412, "Isoma", 10000033, 500001, 7),
    (20000509, "Parud", 10000043, 500003, 7),
    (20000567, "Youledian", 10000049, 500008, 7),
    (20000692, "SPNZ-Z", 10000060, None, 9),
    (20000696, "O-EIMK", 10000060, None, 9),
    (20000782, "Okakuola", 10000069, 500001, 7),
    (21000022, "B-C00022", 11000004, None, 2),
    (21000037, "B-C00037", 11000005, None, 2),
)

# (region_id, name, faction_id, wormhole_class_id)
BUILTIN_REGIONS: tuple[tuple[int, str, int | None, int], ...] = (
    (10000002, "The Forge", 500001, 7),
    (10000010, "Tribute", None, 9),
    (10000012, "Curse", 500011, 9),
    (10000014, "Catch", None, 9),
    (10000016, "Lonetrek", 500001, 7),
    (10000023, "Pure Blind", None, 9),
    (10000030, "Heimatar", 500002, 7),
    (10000032, "Sinq Laison", 500004, 7),
    (10000033, "The Citadel", 500001, 7),
    (10000043, "Domain", 500003, 7),
    (10000049, "Khanid", 500008, 7),
    (10000060, "Delve", None, 9),
    (10000069, "Black Rise", 500001, 7),
    (11000004, "B-R00004", None, 2),
    (11000005, "B-R00005", None, 2),
)

# Real stargate connections among the systems above, each listed once.
BUILTIN_GATES: tuple[tuple[int, int], ...] = (
    (30000140, 30000142),
    (30000140, 30000144),
    (30000142, 30000143),
    (30000142, 30000144),
    (30000142, 30000145),
    (30000143, 30000144),
    (30000143, 30000145),
    (30000846, 30000848),
    (30000847, 30000848),
    (30000848, 30000849),
    (30001009, 30001155),
    (30001155, 30001156),
    (30001155, 30001157),
    (30001158, 30001161),
    (30001161, 30003883),
    (30001376, 30002813),
    (30001429, 30001984),
    (30001984, 30001985),
    (30001984, 30001987),
    (30001985, 30001987),
    (30002187, 30003491),
    (30002510, 30002526),
    (30002537, 30002538),
    (30002537, 30002539),
    (30002537, 30002541),
    (30002537, 30002542),
    (30002538, 30002539),
    (30002538, 30002541),
    (30002539, 30002541),
    (30002539, 30002542),
    (30002541, 30002542),
    (30002659, 30002661),
    (30002691, 30002718),
    (30002718, 30002719),
    (30002765, 30002767),
    (30002765, 30002768),
    (30002767, 30002768),
    (30002768, 30002800),
    (30002813, 30045346),
    (30004735, 30004759),
    (30004759, 30004760),
    (30004759, 30004762),
    (30004759, 30004765),
    (30004760, 30004765),
)

# Gate camp hubs and highsec gank spots of the built-in map.
BUILTIN_CAMP_HUBS = (30002537, 30002813, 30002718, 30001984, 30001161, 30001155)
BUILTIN_GANK_SYSTEMS = (30002768, 30002765)

ENTITY_CATEGORY = 11
"""The SDE category of NPC ships (``Entity``), unpublished."""
# NPC ship types the generated NPC attackers fly: type id -> (name, group).
NPC_TYPES: Mapping[int, tuple[str, int]] = {
    24145: ("Pith Eliminator", 612),
    23337: ("Guristas Eliminator", 560),
    13582: ("Dread Guristas Despoiler", 800),
    24130: ("Gist Seraphim", 594),
    16892: ("Gist Commander", 594),
    24160: ("Centus Tyrant", 621),
    24169: ("Core Grand Admiral", 630),
    11126: ("CONCORD SWAT Commander", 182),
    11125: ("CONCORD Police Commander", 301),
}
NPC_GROUPS: Mapping[int, str] = {
    612: "Deadspace Guristas Battleship",
    560: "Asteroid Guristas Battleship",
    800: "Asteroid Guristas Commander Frigate",
    594: "Deadspace Angel Cartel Battleship",
    621: "Deadspace Sansha's Nation Battleship",
    630: "Deadspace Serpentis Battleship",
    182: "Police Drone",
    301: "Concord Drone",
}

# (faction_id, corporation_id, NPC ship type ids)
NPC_FORCES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (500010, 1000127, (24145, 23337, 13582)),  # Guristas
    (500011, 1000124, (24130, 16892)),  # Angel Cartel
    (500019, 1000162, (24160,)),  # Sansha's Nation
    (500020, 1000135, (24169,)),  # Serpentis
)
CONCORD = (500006, 1000125, (11126, 11125))


@dataclasses.dataclass(frozen=True, slots=True)
class SolarSystem:
    solar_system_id: int
    region_id: int
    security: float
    wormhole_class_id: int | None

    @property
    def space(self) -> str:
        """``highsec``, ``lowsec``, ``nullsec`` or ``w-space``, as zKillboard labels."""
        if self.solar_system_id >= 31_000_000:
            return "w-space"
        rounded = round(self.security, 1)
        if rounded >= 0.5:
            return "highsec"
        if rounded > 0.0:
            return "lowsec"
        return "nullsec"


@dataclasses.dataclass(frozen=True, slots=True)
class Universe:
    """Everything the generator draws from: hulls, items, systems and gates."""

    hulls: Mapping[str, tuple[int, ...]]
    """Ship type ids of each pool in :data:`HULL_POOLS`."""
    items: Mapping[str, tuple[int, ...]]
    """Item type ids of each slot pool in :data:`BUILTIN_ITEMS`."""
    prices: Mapping[int, float]
    """Unit price of each type, for the generated zkb values."""
    groups: Mapping[int, int]
    """Group id of each hull."""
    systems: tuple[SolarSystem, ...]
    neighbours: Mapping[int, tuple[int, ...]]
    camp_hubs: tuple[int, ...]
    gank_systems: tuple[int, ...]
    source: str
    """``builtin`` or ``database``."""

    by_id: Mapping[int, SolarSystem]

    def system(self, solar_system_id: int) -> SolarSystem:
        return self.by_id[solar_system_id]


def _neighbours(pairs: list[tuple[int, int]]) -> dict[int, tuple[int, ...]]:
    found: dict[int, set[int]] = {}
    for a, b in pairs:
        found.setdefault(a, set()).add(b)
        found.setdefault(b, set()).add(a)
    return {system: tuple(sorted(links)) for system, links in found.items()}


def _builtin_items() -> tuple[dict[str, tuple[int, ...]], dict[int, float]]:
    items = {
        pool: tuple(entry[0] for entry in entries)
        for pool, entries in BUILTIN_ITEMS.items()
    }
    prices = {
        entry[0]: entry[2] for entries in BUILTIN_ITEMS.values() for entry in entries
    }
    return items, prices


def builtin_universe() -> Universe:
    """Return the hand-written universe used when no static data is loaded."""
    hulls: dict[str, list[int]] = {pool: [] for pool in HULL_POOLS}
    for type_id, _name, _group, _price, pool in BUILTIN_SHIPS:
        hulls[pool].append(type_id)
    items, prices = _builtin_items()
    prices.update({ship[0]: ship[3] for ship in BUILTIN_SHIPS})
    systems = tuple(
        SolarSystem(row[0], row[3], row[4], row[6]) for row in BUILTIN_SYSTEMS
    )
    return Universe(
        hulls={pool: tuple(ids) for pool, ids in hulls.items()},
        items=items,
        prices=prices,
        groups={ship[0]: ship[2] for ship in BUILTIN_SHIPS},
        systems=systems,
        neighbours=_neighbours(list(BUILTIN_GATES)),
        camp_hubs=BUILTIN_CAMP_HUBS,
        gank_systems=BUILTIN_GANK_SYSTEMS,
        source="builtin",
        by_id={s.solar_system_id: s for s in systems},
    )


HULLS_SQL = NamedSql(
    "generate.hulls",
    "SELECT t.type_id, t.group_id FROM types t"
    " WHERE t.published AND t.group_id = ANY(%(groups)s)"
    " ORDER BY t.type_id",
)
SYSTEMS_SQL = NamedSql(
    "generate.systems",
    "SELECT solar_system_id, region_id, security, wormhole_class_id"
    " FROM solar_systems"
    " WHERE solar_system_id < 32000000"
    " ORDER BY solar_system_id",
)
JUMPS_SQL = NamedSql(
    "generate.jumps",
    "SELECT from_solar_system_id, to_solar_system_id FROM stargate_jumps ORDER BY 1, 2",
)
PRICES_SQL = NamedSql(
    "generate.prices",
    "SELECT type_id, coalesce(average_price, nullif(adjusted_price, 0))"
    " FROM prices WHERE type_id = ANY(%(types)s)",
)


def load_universe(db: Database) -> Universe | None:
    """Build a universe from the static data tables, or None when they are empty.

    Hulls come from the published types of the groups in :data:`POOL_GROUPS`;
    a pool the tables leave empty keeps its built-in hulls. Items stay the
    built-in ones (real type ids, valid against any SDE). Prices come from
    the ``prices`` table where it has them, else from the built-in table.
    """
    systems_rows = db.fetch_all(SYSTEMS_SQL)
    if not systems_rows:
        return None
    builtin = builtin_universe()
    pool_of_group = {
        group: pool for pool, groups in POOL_GROUPS.items() for group in groups
    }
    rows = db.fetch_all(HULLS_SQL, {"groups": list(pool_of_group)})
    hulls: dict[str, list[int]] = {pool: [] for pool in HULL_POOLS}
    groups: dict[int, int] = dict(builtin.groups)
    for type_id, group_id in rows:
        hulls[pool_of_group[group_id]].append(type_id)
        groups[type_id] = group_id
    merged = {
        pool: tuple(ids) if ids else builtin.hulls[pool] for pool, ids in hulls.items()
    }
    systems = tuple(
        SolarSystem(row[0], row[1], float(row[2]), row[3]) for row in systems_rows
    )
    known = {s.solar_system_id for s in systems}
    jumps = [(a, b) for a, b in db.fetch_all(JUMPS_SQL) if a in known and b in known]
    neighbours = _neighbours(jumps)
    prices = dict(builtin.prices)
    all_types = sorted({t for ids in merged.values() for t in ids} | set(prices))
    for type_id, price in db.fetch_all(PRICES_SQL, {"types": all_types}):
        if price:
            prices[type_id] = float(price)
    by_id = {s.solar_system_id: s for s in systems}
    hubs = tuple(
        system
        for system, links in sorted(neighbours.items())
        if len(links) >= 5 and by_id[system].space in ("lowsec", "nullsec")
    )
    ganks = tuple(
        system
        for system, links in sorted(neighbours.items())
        if len(links) >= 5 and 0.45 <= by_id[system].security < 0.65
    )
    log.info(
        "generator universe from the database: %d systems, %d gates, %d hulls",
        len(systems),
        len(jumps) // 2,
        sum(len(ids) for ids in merged.values()),
    )
    return Universe(
        hulls=merged,
        items=builtin.items,
        prices=prices,
        groups=groups,
        systems=systems,
        neighbours=neighbours,
        camp_hubs=hubs or builtin.camp_hubs,
        gank_systems=ganks or builtin.gank_systems,
        source="database",
        by_id=by_id,
    )


def hull_class(universe: Universe, type_id: int) -> str:
    """Return the ship class of a hull of ``universe``."""
    group = universe.groups.get(type_id)
    known = BUILTIN_GROUPS.get(group) if group is not None else None
    return ship_classes.ship_class(group, known[1] if known else None)


def builtin_static_tables() -> dict[str, list[tuple[object, ...]]]:
    """Return the built-in universe as rows of the static data tables.

    The demo stores these when no SDE is given, so the dashboard can name
    systems, regions and ship types. The rows have the column order of
    :data:`evedmv_tui.sde.TABLES`.
    """
    item_names = {
        entry[0]: entry[1] for entries in BUILTIN_ITEMS.values() for entry in entries
    }
    types: list[tuple[object, ...]] = [
        (type_id, name, group, True, None, None, None, None)
        for type_id, name, group, _price, _pool in BUILTIN_SHIPS
    ]
    types.extend(
        (type_id, item_names[type_id], group, True, None, None, None, None)
        for type_id, group in BUILTIN_ITEM_GROUPS.items()
    )
    # The NPC attackers' ships, so killmails name them as with a real SDE.
    types.extend(
        (type_id, name, group, False, None, None, None, None)
        for type_id, (name, group) in NPC_TYPES.items()
    )
    npc_groups = [
        (g, name, ENTITY_CATEGORY, False, ship_classes.ship_class(g, ENTITY_CATEGORY))
        for g, name in NPC_GROUPS.items()
    ]
    tables: dict[str, list[tuple[object, ...]]] = {
        "regions": list(BUILTIN_REGIONS),
        "constellations": list(BUILTIN_CONSTELLATIONS),
        # No coordinates: the built-in map only needs ids, names and gates.
        "solar_systems": [(*row, None, None, None) for row in BUILTIN_SYSTEMS],
        "stargate_jumps": [pair for a, b in BUILTIN_GATES for pair in ((a, b), (b, a))],
        "categories": [
            *((c, name, True) for c, name in BUILTIN_CATEGORIES.items()),
            (ENTITY_CATEGORY, "Entity", False),
        ],
        "groups": [
            *(
                (g, name, category, True, ship_classes.ship_class(g, category))
                for g, (name, category) in BUILTIN_GROUPS.items()
            ),
            *npc_groups,
        ],
        "types": types,
    }
    return tables

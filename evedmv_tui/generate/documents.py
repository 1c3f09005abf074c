"""Turn a generated :class:`~evedmv_tui.generate.scenarios.Kill` into a document.

A document is the ESI killmail (keys in ESI's alphabetical order) with a
``zkb`` object beside it, as zKillboard's API served them. The zkb values
follow the rules of :mod:`evedmv_tui.valuation` over the universe's prices,
so a killmail valued from the same prices gets the same numbers.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from typing import Any

from evedmv_tui import ship_classes
from evedmv_tui.generate.scenarios import Kill
from evedmv_tui.generate.universe import Universe, hull_class
from evedmv_tui.valuation import BLUEPRINT_COPY_SINGLETON, FITTED_FLAGS, NOMINAL_PRICE

# Hull damage a victim takes, by ship class: (low, high).
DAMAGE: dict[str, tuple[int, int]] = {
    ship_classes.FRIGATE: (1_500, 6_000),
    ship_classes.DESTROYER: (2_500, 9_000),
    ship_classes.CRUISER: (8_000, 40_000),
    ship_classes.BATTLECRUISER: (30_000, 90_000),
    ship_classes.BATTLESHIP: (80_000, 250_000),
    ship_classes.CAPITAL: (800_000, 4_000_000),
    ship_classes.SUPERCAPITAL: (8_000_000, 60_000_000),
    ship_classes.STRUCTURE: (5_000_000, 120_000_000),
    ship_classes.STARBASE: (10_000_000, 80_000_000),
    ship_classes.DEPLOYABLE: (20_000, 200_000),
    ship_classes.INDUSTRIAL: (10_000, 400_000),
    ship_classes.MINING: (8_000, 60_000),
    ship_classes.CAPSULE: (300, 1_200),
}
DEFAULT_DAMAGE = (1_000, 10_000)

# zKillboard-like points by victim class, before the attacker-count discount.
POINTS: dict[str, int] = {
    ship_classes.FRIGATE: 5,
    ship_classes.DESTROYER: 8,
    ship_classes.CRUISER: 12,
    ship_classes.BATTLECRUISER: 16,
    ship_classes.BATTLESHIP: 24,
    ship_classes.CAPITAL: 120,
    ship_classes.SUPERCAPITAL: 600,
    ship_classes.STRUCTURE: 40,
    ship_classes.INDUSTRIAL: 4,
}

# Price of a hull that neither the prices table nor the built-in list has.
CLASS_PRICES: dict[str, float] = {
    ship_classes.FRIGATE: 1_000_000.0,
    ship_classes.DESTROYER: 2_000_000.0,
    ship_classes.CRUISER: 20_000_000.0,
    ship_classes.BATTLECRUISER: 70_000_000.0,
    ship_classes.BATTLESHIP: 250_000_000.0,
    ship_classes.CAPITAL: 3_000_000_000.0,
    ship_classes.SUPERCAPITAL: 30_000_000_000.0,
    ship_classes.INDUSTRIAL: 5_000_000.0,
}

# Slot layout by class: (high, medium, low, rig, weapon size, drones)
LAYOUT: dict[str, tuple[int, int, int, int, str, int]] = {
    ship_classes.FRIGATE: (3, 3, 2, 2, "small", 0),
    ship_classes.CORVETTE: (2, 2, 1, 0, "small", 0),
    ship_classes.DESTROYER: (6, 2, 3, 2, "small", 0),
    ship_classes.CRUISER: (5, 4, 4, 3, "medium", 3),
    ship_classes.BATTLECRUISER: (6, 4, 5, 3, "medium", 3),
    ship_classes.BATTLESHIP: (7, 5, 6, 3, "large", 5),
    ship_classes.CAPITAL: (4, 5, 6, 3, "large", 0),
    ship_classes.SUPERCAPITAL: (4, 6, 7, 3, "large", 0),
    ship_classes.INDUSTRIAL: (1, 3, 4, 3, "small", 0),
    ship_classes.MINING: (2, 4, 3, 3, "small", 2),
}

CARGO_FLAG = 5
DRONE_BAY_FLAG = 87
IMPLANT_FLAG = 89
LOW_SLOT = 11
MID_SLOT = 19
HIGH_SLOT = 27
RIG_SLOT = 92
SERVICE_SLOT = 164
STRUCTURE_FUEL_FLAG = 172
CONTAINER_CHANCE = 0.05
CONTAINER_CLASSES = frozenset(LAYOUT)
"""Classes whose cargo can hold a container: ships with a slot layout."""
FIT_VARIANTS = 3
"""Fits per hull; the pilots of one hull type fly one of these."""

# (flag, type_id, lowest quantity, highest quantity, unit price, fitted)
FitEntry = tuple[int, int, int, int, float, bool]
PLAYER_CORPORATION_MIN = 2_000_000
"""Corporation ids below this are NPC corporations, as zKillboard counts them."""


@functools.lru_cache(maxsize=4096)
def _minute_prefix(minute: int) -> str:
    moment = dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:")


def format_time(epoch: float) -> str:
    """Return ``epoch`` as an ESI time string (whole seconds, ``Z``)."""
    seconds = int(epoch)
    return f"{_minute_prefix(seconds // 60)}{seconds % 60:02d}Z"


class DocumentBuilder:
    """Build killmail documents for one universe, drawing from one RNG."""

    def __init__(self, rng: random.Random, universe: Universe) -> None:
        self.rng = rng
        self.universe = universe
        self.items = universe.items
        self._class: dict[int, str] = {}
        self._weapon: dict[int, int] = {}
        self._templates: dict[tuple[int, int], tuple[FitEntry, ...]] = {}
        self._structure_hulls = frozenset(
            type_id
            for pool in ("citadel", "engineering")
            for type_id in universe.hulls[pool]
        )

    def ship_class(self, type_id: int) -> str:
        found = self._class.get(type_id)
        if found is None:
            found = hull_class(self.universe, type_id)
            self._class[type_id] = found
        return found

    def price(self, type_id: int) -> float:
        found = self.universe.prices.get(type_id)
        if found is not None:
            return found
        return CLASS_PRICES.get(self.ship_class(type_id), 0.0)

    def weapon(self, ship_type_id: int | None) -> int | None:
        if ship_type_id is None:
            return None
        found = self._weapon.get(ship_type_id)
        if found is None:
            layout = LAYOUT.get(self.ship_class(ship_type_id))
            if layout is None:
                found = ship_type_id
            else:
                pool = self.items["weapon_" + layout[4]]
                found = pool[ship_type_id % len(pool)]
            self._weapon[ship_type_id] = found
        return found

    def _template(self, ship_type_id: int, variant: int) -> tuple[FitEntry, ...]:
        """Return fit number ``variant`` of a hull, drawn once and cached.

        Each hull has :data:`FIT_VARIANTS` fits, drawn from an RNG of their
        own, so a hull keeps its fits however the kill stream runs. A kill
        then only draws quantities and which stacks drop.
        """
        key = (ship_type_id, variant)
        found = self._templates.get(key)
        if found is None:
            rng = random.Random(ship_type_id * FIT_VARIANTS + variant)
            found = tuple(
                (flag, type_id, low, high, self._unit(type_id), flag in FITTED_FLAGS)
                for flag, type_id, low, high in self._draw_fit(rng, ship_type_id)
            )
            self._templates[key] = found
        return found

    def _unit(self, type_id: int) -> float:
        return self.universe.prices.get(type_id, 0.0)

    def _draw_fit(
        self, rng: random.Random, ship_type_id: int
    ) -> list[tuple[int, int, int, int]]:
        """Return (flag, type_id, lowest, highest quantity) for one fit."""
        items = self.items
        victim_class = self.ship_class(ship_type_id)
        entries: list[tuple[int, int, int, int]] = []
        if victim_class == ship_classes.CAPSULE:
            for slot in range(rng.choice((0, 0, 1, 3, 6))):
                implant = items["implant"][slot % len(items["implant"])]
                entries.append((IMPLANT_FLAG, implant, 1, 1))
            return entries
        if victim_class == ship_classes.STRUCTURE:
            for slot in range(rng.randint(1, 3)):
                module = rng.choice(items["structure"])
                entries.append((SERVICE_SLOT + slot, module, 1, 1))
            entries.append((STRUCTURE_FUEL_FLAG, items["cargo"][2], 1000, 50_000))
            return entries

        layout = LAYOUT.get(victim_class)
        if layout is None:
            return entries
        high, mid, low, rigs, size, drones = layout
        weapon = self.weapon(ship_type_id) or items["weapon_small"][0]
        charge_pool = items["charge_" + size]
        charge = charge_pool[weapon % len(charge_pool)]
        group = self.universe.groups.get(ship_type_id)
        role_modules: list[int] = []
        if group in ship_classes.LOGISTICS_GROUPS:
            role_modules = list(items["logistics"])
        elif group in ship_classes.FLEET_COMMAND_GROUPS:
            role_modules = list(items["command"][:2])
        elif group in ship_classes.INTERDICTOR_GROUPS:
            role_modules = [items["interdiction"][0]]
        elif victim_class in (ship_classes.CAPITAL, ship_classes.SUPERCAPITAL):
            role_modules = list(items["capital"][:2])

        for slot in range(high):
            flag = HIGH_SLOT + slot
            if slot < len(role_modules):
                entries.append((flag, role_modules[slot], 1, 1))
                continue
            entries.append((flag, weapon, 1, 1))
            entries.append((flag, charge, 20, 120))

        for slot in range(mid):
            module = rng.choice(items["mid"])
            if slot == 0 and group in ship_classes.HEAVY_INTERDICTOR_GROUPS:
                module = items["interdiction"][1]
            entries.append((MID_SLOT + slot, module, 1, 1))
        for slot in range(low):
            entries.append((LOW_SLOT + slot, rng.choice(items["low"]), 1, 1))
        rig = rng.choice(items["rig"])
        for slot in range(rigs):
            entries.append((RIG_SLOT + slot, rig, 1, 1))

        if drones:
            entries.append((DRONE_BAY_FLAG, rng.choice(items["drone"]), drones, drones))
        entries.append((CARGO_FLAG, charge, 200, 4000))
        if rng.random() < 0.5:
            entries.append((CARGO_FLAG, items["cargo"][0], 5, 200))
        if victim_class in (ship_classes.INDUSTRIAL, ship_classes.MINING):
            ore = items["cargo"][3 + rng.randrange(2)]
            entries.append((CARGO_FLAG, ore, 1000, 500_000))
        return entries

    def _items(
        self, ship_type_id: int
    ) -> tuple[list[dict[str, Any]], float, float, float]:
        """Draw the victim's items; return them with (fitted, dropped, destroyed).

        Each stack drops whole or is destroyed whole, except one in ten that
        splits between the two. The sums follow :mod:`evedmv_tui.valuation`.
        """
        random_ = self.rng.random
        template = self._template(ship_type_id, int(random_() * FIT_VARIANTS))
        stacks: list[dict[str, Any]] = []
        fitted = dropped = destroyed = 0.0
        for flag, type_id, low, high, unit, in_fit in template:
            quantity = low if low == high else low + int(random_() * (high - low + 1))
            item: dict[str, Any] = {"flag": flag, "item_type_id": type_id}
            draw = random_()
            if quantity > 1 and draw < 0.1:
                left = 1 + int(random_() * (quantity - 1))
                item["quantity_destroyed"] = quantity - left
                item["quantity_dropped"] = left
                destroyed += unit * (quantity - left)
                dropped += unit * left
            elif draw < 0.55:
                item["quantity_destroyed"] = quantity
                destroyed += unit * quantity
            else:
                item["quantity_dropped"] = quantity
                dropped += unit * quantity
            item["singleton"] = 0
            if in_fit:
                fitted += unit * quantity
            stacks.append(item)
        if self.ship_class(ship_type_id) in CONTAINER_CLASSES and (
            random_() < CONTAINER_CHANCE
        ):
            container, container_dropped, container_destroyed = self._container()
            stacks.append(container)
            dropped += container_dropped
            destroyed += container_destroyed
        return stacks, fitted, dropped, destroyed

    def _container(self) -> tuple[dict[str, Any], float, float]:
        """Return a secure container in cargo with nested items, and the
        dropped and destroyed value of it and its contents."""
        rng = self.rng
        items = self.items
        dropped = destroyed = 0.0
        contents: list[tuple[int, int, int]] = [
            (rng.choice(items["cargo"]), rng.randint(1, 500), 0)
            for _ in range(rng.randint(2, 5))
        ]
        if rng.random() < 0.3:
            contents.append((rng.choice(items["low"]), 1, BLUEPRINT_COPY_SINGLETON))

        nested: list[dict[str, Any]] = []
        for type_id, quantity, singleton in contents:
            unit = NOMINAL_PRICE if singleton else self._unit(type_id)
            item: dict[str, Any] = {"flag": 0, "item_type_id": type_id}
            if rng.random() < 0.5:
                item["quantity_destroyed"] = quantity
                destroyed += unit * quantity
            else:
                item["quantity_dropped"] = quantity
                dropped += unit * quantity
            item["singleton"] = singleton
            nested.append(item)

        container_type = rng.choice(items["container"])
        container: dict[str, Any] = {"flag": CARGO_FLAG, "item_type_id": container_type}
        if rng.random() < 0.5:
            container["quantity_destroyed"] = 1
            destroyed += self._unit(container_type)
        else:
            container["quantity_dropped"] = 1
            dropped += self._unit(container_type)
        container["singleton"] = 1
        container["items"] = nested
        return container, dropped, destroyed

    def build(self, kill: Kill, killmail_id: int) -> dict[str, Any]:
        """Return the document of ``kill`` under ``killmail_id``."""
        rng = self.rng
        victim_class = self.ship_class(kill.ship_type_id)
        low, high = DAMAGE.get(victim_class, DEFAULT_DAMAGE)
        random_ = rng.random
        damage_taken = low + int(random_() * (high - low + 1))

        count = len(kill.attackers)
        shares = [random_() + 0.05 for _ in range(count)]
        if count > 3:
            for index in range(count):
                if random_() < 0.1:
                    shares[index] = 0.0  # ewar and logistics pilots on the mail
        scale = damage_taken / (sum(shares) or 1.0)
        damages = [int(share * scale) for share in shares]
        if sum(damages) == 0:
            damages[0] = damage_taken

        # The final blow goes to an attacker with odds by damage dealt.
        pick = random_() * (sum(damages) + count)
        final = count - 1
        for index, damage in enumerate(damages):
            pick -= damage + 1
            if pick < 0:
                final = index
                break

        order = sorted(range(count), key=damages.__getitem__, reverse=True)
        attackers: list[dict[str, Any]] = []
        players = 0
        npc_only = True
        structure_attacker = False
        final_corporation: int | None = None
        for index in order:
            character, corporation, alliance, faction, ship, security = kill.attackers[
                index
            ]
            entry: dict[str, Any] = {}
            if alliance is not None:
                entry["alliance_id"] = alliance
            if character is not None:
                entry["character_id"] = character
                players += 1
                npc_only = False
            if corporation is not None:
                entry["corporation_id"] = corporation
                if corporation >= PLAYER_CORPORATION_MIN:
                    npc_only = False
            entry["damage_done"] = damages[index]
            if faction is not None:
                entry["faction_id"] = faction
            entry["final_blow"] = index == final
            if index == final:
                final_corporation = corporation
            entry["security_status"] = security
            if ship is not None:
                entry["ship_type_id"] = ship
                if ship in self._structure_hulls:
                    structure_attacker = True
            if character is not None:
                weapon = self.weapon(ship)
                if weapon is not None:
                    entry["weapon_type_id"] = weapon
            attackers.append(entry)

        stacks, fitted, dropped, destroyed = self._items(kill.ship_type_id)
        victim: dict[str, Any] = {}
        if kill.alliance_id is not None:
            victim["alliance_id"] = kill.alliance_id
        if kill.character_id is not None:
            victim["character_id"] = kill.character_id
        victim["corporation_id"] = kill.corporation_id
        victim["damage_taken"] = damage_taken
        victim["items"] = stacks
        # Whole metres: real positions carry fractions, but nothing reads them.
        victim["position"] = {
            "x": float(int(random_() * 8e12 - 4e12)),
            "y": float(int(random_() * 8e11 - 4e11)),
            "z": float(int(random_() * 8e12 - 4e12)),
        }
        victim["ship_type_id"] = kill.ship_type_id

        document: dict[str, Any] = {
            "attackers": attackers,
            "killmail_id": killmail_id,
            "killmail_time": format_time(kill.time),
        }
        if kill.moon_id is not None:
            document["moon_id"] = kill.moon_id
        document["solar_system_id"] = kill.solar_system_id
        document["victim"] = victim
        if kill.war_id is not None:
            document["war_id"] = kill.war_id

        hull = self.price(kill.ship_type_id)
        total = round(hull + dropped + destroyed, 2)
        fitted = round(hull + fitted, 2)
        dropped = round(dropped, 2)
        destroyed = round(hull + destroyed, 2)

        solo = (
            players == 1
            and not structure_attacker
            and victim_class
            not in (ship_classes.CAPSULE, ship_classes.SHUTTLE, ship_classes.CORVETTE)
            and victim_class
            not in (
                ship_classes.STRUCTURE,
                ship_classes.DEPLOYABLE,
                ship_classes.STARBASE,
            )
        )
        awox = (
            not npc_only
            and final_corporation is not None
            and final_corporation == kill.corporation_id
            and final_corporation >= PLAYER_CORPORATION_MIN
        )

        document["zkb"] = self._zkb(
            kill,
            victim_class,
            count,
            npc_only,
            solo,
            awox,
            total,
            fitted,
            dropped,
            destroyed,
        )
        return document

    def _zkb(
        self,
        kill: Kill,
        victim_class: str,
        attacker_count: int,
        npc: bool,
        solo: bool,
        awox: bool,
        total: float,
        fitted: float,
        dropped: float,
        destroyed: float,
    ) -> dict[str, Any]:
        if npc:
            points = 1
        else:
            base = POINTS.get(victim_class, 1)
            points = max(1, round(base * 2 / (1 + attacker_count**0.5)))

        labels = ["npc" if npc else "pvp"]
        if solo:
            labels.append("solo")
        if awox:
            labels.append("awox")
        if kill.label:
            labels.append(kill.label)
        labels.append("loc:" + self.universe.system(kill.solar_system_id).space)
        labels.append(_count_label(attacker_count))
        for limit, label in (
            (1e9, "1b+"),
            (5e9, "5b+"),
            (1e10, "10b+"),
            (1e11, "100b+"),
        ):
            if total > limit:
                labels.append(label)
        if victim_class in (ship_classes.CAPITAL, ship_classes.SUPERCAPITAL):
            labels.append("capital")

        zkb: dict[str, Any] = {}
        if kill.location_id is not None:
            zkb["locationID"] = kill.location_id
        zkb["hash"] = f"{self.rng.getrandbits(160):040x}"
        zkb["fittedValue"] = fitted
        zkb["droppedValue"] = dropped
        zkb["destroyedValue"] = destroyed
        zkb["totalValue"] = total
        zkb["points"] = points
        zkb["npc"] = npc
        zkb["solo"] = solo
        zkb["awox"] = awox
        zkb["labels"] = labels
        return zkb


def _count_label(count: int) -> str:
    for limit in (1000, 100, 50, 25, 10, 5, 2):
        if count >= limit:
            return f"#:{limit}+"
    return "#:1"

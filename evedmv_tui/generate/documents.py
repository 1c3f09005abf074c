"""Turn a generated :class:`~evedmv_tui.generate.scenarios.Kill` into a document.

A document is the ESI killmail (keys in ESI's alphabetical order) with a
``zkb`` object beside it, as zKillboard's API served them. The zkb values
follow the rules of :mod:`evedmv_tui.valuation` over the universe's prices,
so a killmail valued from the same prices gets the same numbers.
"""

from __future__ import annotations

import datetime as dt
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
CONTAINER_CHANCE = 0.05
PLAYER_CORPORATION_MIN = 2_000_000
"""Corporation ids below this are NPC corporations, as zKillboard counts them."""


def format_time(epoch: float) -> str:
    """Return ``epoch`` as an ESI time string (whole seconds, ``Z``)."""
    moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class DocumentBuilder:
    """Build killmail documents for one universe, drawing from one RNG."""

    def __init__(self, rng: random.Random, universe: Universe) -> None:
        self.rng = rng
        self.universe = universe
        self.items = universe.items
        self._class: dict[int, str] = {}
        self._weapon: dict[int, int] = {}

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

    def _stack(self, flag: int, type_id: int, quantity: int) -> dict[str, Any]:
        """Return one item row; each stack drops whole or is destroyed whole,
        except one in ten that splits between the two."""
        rng = self.rng
        item: dict[str, Any] = {"flag": flag, "item_type_id": type_id}
        draw = rng.random()
        if quantity > 1 and draw < 0.1:
            dropped = rng.randint(1, quantity - 1)
            item["quantity_destroyed"] = quantity - dropped
            item["quantity_dropped"] = dropped
        elif draw < 0.55:
            item["quantity_destroyed"] = quantity
        else:
            item["quantity_dropped"] = quantity
        item["singleton"] = 0
        return item

    def _fit(self, ship_type_id: int, victim_class: str) -> list[dict[str, Any]]:
        rng = self.rng
        items = self.items
        stacks: list[dict[str, Any]] = []
        if victim_class == ship_classes.CAPSULE:
            for slot in range(rng.choice((0, 0, 1, 3, 6))):
                stacks.append(self._stack(IMPLANT_FLAG, items["implant"][slot % 4], 1))
            return stacks
        if victim_class == ship_classes.STRUCTURE:
            for slot in range(rng.randint(1, 3)):
                module = rng.choice(items["structure"])
                stacks.append(self._stack(SERVICE_SLOT + slot, module, 1))
            stacks.append(self._stack(172, items["cargo"][2], rng.randint(1000, 50000)))
            return stacks
        layout = LAYOUT.get(victim_class)
        if layout is None:
            return stacks
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
                stacks.append(self._stack(flag, role_modules[slot], 1))
                continue
            stacks.append(self._stack(flag, weapon, 1))
            stacks.append(self._stack(flag, charge, rng.randint(20, 120)))
        mids = items["mid"]
        for slot in range(mid):
            module = mids[rng.randrange(len(mids))]
            if slot == 0 and group in ship_classes.HEAVY_INTERDICTOR_GROUPS:
                module = items["interdiction"][1]
            stacks.append(self._stack(MID_SLOT + slot, module, 1))
        lows = items["low"]
        for slot in range(low):
            stacks.append(
                self._stack(LOW_SLOT + slot, lows[rng.randrange(len(lows))], 1)
            )
        rig = items["rig"][rng.randrange(len(items["rig"]))]
        for slot in range(rigs):
            stacks.append(self._stack(RIG_SLOT + slot, rig, 1))
        if drones:
            drone = items["drone"][rng.randrange(len(items["drone"]))]
            stacks.append(self._stack(DRONE_BAY_FLAG, drone, drones))
        stacks.append(self._stack(CARGO_FLAG, charge, rng.randint(200, 4000)))
        if rng.random() < 0.5:
            stacks.append(
                self._stack(CARGO_FLAG, items["cargo"][0], rng.randint(5, 200))
            )
        if victim_class in (ship_classes.INDUSTRIAL, ship_classes.MINING):
            ore = items["cargo"][3 + rng.randrange(2)]
            stacks.append(self._stack(CARGO_FLAG, ore, rng.randint(1000, 500_000)))
        if rng.random() < CONTAINER_CHANCE:
            stacks.append(self._container())
        return stacks

    def _container(self) -> dict[str, Any]:
        """Return a secure container in cargo with its own nested items."""
        rng = self.rng
        items = self.items
        container = self._stack(CARGO_FLAG, rng.choice(items["container"]), 1)
        container["singleton"] = 1
        nested = [
            self._stack(0, rng.choice(items["cargo"]), rng.randint(1, 500))
            for _ in range(rng.randint(2, 5))
        ]
        if rng.random() < 0.3:
            blueprint = self._stack(0, rng.choice(items["low"]), 1)
            blueprint["singleton"] = BLUEPRINT_COPY_SINGLETON
            nested.append(blueprint)
        container["items"] = nested
        return container

    def _values(
        self, ship_type_id: int, stacks: list[dict[str, Any]]
    ) -> tuple[float, float, float, float]:
        """Return (total, fitted, dropped, destroyed) like :mod:`valuation`."""
        hull = self.price(ship_type_id)
        fitted = dropped = destroyed = 0.0
        pending = [(stack, True) for stack in stacks]
        while pending:
            stack, top = pending.pop()
            if stack["singleton"] == BLUEPRINT_COPY_SINGLETON:
                unit = NOMINAL_PRICE
            else:
                unit = self.universe.prices.get(stack["item_type_id"], 0.0)
            lost = stack.get("quantity_destroyed", 0)
            left = stack.get("quantity_dropped", 0)
            dropped += unit * left
            destroyed += unit * lost
            if top and stack["flag"] in FITTED_FLAGS:
                fitted += unit * (lost + left)
            for child in stack.get("items", ()):
                pending.append((child, False))
        return (
            round(hull + dropped + destroyed, 2),
            round(hull + fitted, 2),
            round(dropped, 2),
            round(hull + destroyed, 2),
        )

    def build(self, kill: Kill, killmail_id: int) -> dict[str, Any]:
        """Return the document of ``kill`` under ``killmail_id``."""
        rng = self.rng
        victim_class = self.ship_class(kill.ship_type_id)
        low, high = DAMAGE.get(victim_class, DEFAULT_DAMAGE)
        damage_taken = rng.randint(low, high)
        count = len(kill.attackers)
        shares = [rng.random() + 0.05 for _ in range(count)]
        if count > 3:
            for index in range(count):
                if rng.random() < 0.1:
                    shares[index] = 0.0  # ewar and logistics pilots on the mail
        scale = damage_taken / (sum(shares) or 1.0)
        damages = [int(share * scale) for share in shares]
        if sum(damages) == 0:
            damages[0] = damage_taken
        final = rng.choices(range(count), weights=[d + 1 for d in damages])[0]
        order = sorted(range(count), key=lambda i: -damages[i])
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
                if self.ship_class(ship) == ship_classes.STRUCTURE:
                    structure_attacker = True
            if character is not None:
                weapon = self.weapon(ship)
                if weapon is not None:
                    entry["weapon_type_id"] = weapon
            attackers.append(entry)
        stacks = self._fit(kill.ship_type_id, victim_class)
        victim: dict[str, Any] = {}
        if kill.alliance_id is not None:
            victim["alliance_id"] = kill.alliance_id
        if kill.character_id is not None:
            victim["character_id"] = kill.character_id
        victim["corporation_id"] = kill.corporation_id
        victim["damage_taken"] = damage_taken
        victim["items"] = stacks
        victim["position"] = {
            "x": round(rng.uniform(-4e12, 4e12), 2),
            "y": round(rng.uniform(-4e11, 4e11), 2),
            "z": round(rng.uniform(-4e12, 4e12), 2),
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
        total, fitted, dropped, destroyed = self._values(kill.ship_type_id, stacks)
        solo = (
            players == 1
            and not structure_attacker
            and victim_class
            not in (ship_classes.CAPSULE, ship_classes.SHUTTLE, ship_classes.CORVETTE)
            and self.universe.groups.get(kill.ship_type_id) is not None
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

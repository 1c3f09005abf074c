"""One killmail with its victim, attackers and item tree, for the killmail screen.

:func:`load_killmail` looks the id up in ``killmail_index`` first, so the
queries on the partitioned ``killmails``, ``attackers`` and ``items`` tables
name the killmail's time and touch one partition each. Entity names come
from the local ``names`` table; :func:`missing_name_ids` lists the ids a
caller may resolve through :class:`evedmv_tui.names.NameResolver`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from evedmv_tui.store.db import Database, load_sql

_PACKAGE = "evedmv_tui.queries"


@dataclasses.dataclass(frozen=True, slots=True)
class IndexRow:
    killmail_id: int
    state: str
    killmail_time: dt.datetime | None
    last_error: str | None
    attempts: int
    next_try_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class KillmailHeader:
    """The killmail row with its system, victim names and ship type."""

    killmail_id: int
    killmail_time: dt.datetime
    killmail_hash: str | None
    solar_system_id: int
    solar_system_name: str | None
    region_name: str | None
    security: float | None
    victim_character_id: int | None
    victim_corporation_id: int | None
    victim_alliance_id: int | None
    victim_faction_id: int | None
    victim_character_name: str | None
    victim_corporation_name: str | None
    victim_alliance_name: str | None
    victim_faction_name: str | None
    victim_ship_type_id: int
    victim_ship_name: str | None
    victim_ship_group: str | None
    victim_damage_taken: int
    attacker_count: int
    total_value: float | None
    fitted_value: float | None
    dropped_value: float | None
    destroyed_value: float | None
    value_source: str | None
    """``zkb`` (zKillboard's values) or ``computed`` (from ``prices``)."""
    points: int | None
    npc: bool | None
    solo: bool | None
    awox: bool | None
    hull_price: float | None
    """Unit price of the victim's ship from ``prices``, or None."""


@dataclasses.dataclass(frozen=True, slots=True)
class AttackerRow:
    """One attacker with local names for its entities and types."""

    attacker_index: int
    character_id: int | None
    corporation_id: int | None
    alliance_id: int | None
    faction_id: int | None
    character_name: str | None
    corporation_name: str | None
    alliance_name: str | None
    faction_name: str | None
    ship_type_id: int | None
    ship_name: str | None
    weapon_type_id: int | None
    weapon_name: str | None
    damage_done: int
    final_blow: bool
    security_status: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class ItemRow:
    """One item row; nested items point at their container by ``parent_index``."""

    item_index: int
    parent_index: int | None
    item_type_id: int
    type_name: str | None
    flag: int
    singleton: int
    quantity_destroyed: int
    quantity_dropped: int
    unit_price: float | None
    """ISK per unit, or None when ``prices`` has no price for the type."""

    @property
    def dropped_value(self) -> float:
        return (self.unit_price or 0.0) * self.quantity_dropped

    @property
    def destroyed_value(self) -> float:
        return (self.unit_price or 0.0) * self.quantity_destroyed


@dataclasses.dataclass(frozen=True, slots=True)
class ValueSum:
    """ISK of the rows that have a price, and how many rows have none.

    Only rows with a quantity of the kind summed (dropped or destroyed)
    count, so a sum over rows that all lack a price is unknown, and a sum
    that leaves some out is a lower bound.
    """

    isk: float = 0.0
    priced: int = 0
    unpriced: int = 0

    def __add__(self, other: ValueSum) -> ValueSum:
        return ValueSum(
            self.isk + other.isk,
            self.priced + other.priced,
            self.unpriced + other.unpriced,
        )

    @classmethod
    def of_price(cls, price: float | None, quantity: int) -> ValueSum:
        """Return the value of ``quantity`` units at ``price`` (None: unknown)."""
        if not quantity:
            return cls()
        if price is None:
            return cls(unpriced=1)
        return cls(price * quantity, priced=1)


def value_sums(rows: Iterable[ItemRow]) -> tuple[ValueSum, ValueSum]:
    """Return the dropped and the destroyed value of ``rows``."""
    dropped = destroyed = ValueSum()
    for row in rows:
        dropped += ValueSum.of_price(row.unit_price, row.quantity_dropped)
        destroyed += ValueSum.of_price(row.unit_price, row.quantity_destroyed)
    return dropped, destroyed


@dataclasses.dataclass(frozen=True, slots=True)
class ItemNode:
    """An item and the items inside it, with values summed over the subtree."""

    item: ItemRow
    children: tuple[ItemNode, ...]

    @property
    def dropped_value(self) -> float:
        return self.item.dropped_value + sum(c.dropped_value for c in self.children)

    @property
    def destroyed_value(self) -> float:
        return self.item.destroyed_value + sum(c.destroyed_value for c in self.children)

    @property
    def unpriced(self) -> int:
        """Rows in this subtree that have no price."""
        own = 1 if self.item.unit_price is None else 0
        return own + sum(c.unpriced for c in self.children)

    def rows(self) -> Iterator[ItemRow]:
        """Yield this item and every item inside it, at any depth."""
        yield self.item
        for child in self.children:
            yield from child.rows()


@dataclasses.dataclass(frozen=True, slots=True)
class SlotGroup:
    """Top-level items that share a slot kind (high slots, cargo, ...)."""

    title: str
    nodes: tuple[ItemNode, ...]

    @property
    def dropped_value(self) -> float:
        return sum(n.dropped_value for n in self.nodes)

    @property
    def destroyed_value(self) -> float:
        return sum(n.destroyed_value for n in self.nodes)

    def rows(self) -> Iterator[ItemRow]:
        """Yield every item of the group, containers' contents included."""
        for node in self.nodes:
            yield from node.rows()


@dataclasses.dataclass(frozen=True, slots=True)
class KillmailDetail:
    """Everything the killmail screen shows."""

    header: KillmailHeader
    attackers: tuple[AttackerRow, ...]
    items: tuple[ItemRow, ...]

    @property
    def final_blow(self) -> AttackerRow | None:
        return next((a for a in self.attackers if a.final_blow), None)

    @property
    def items_dropped_value(self) -> float:
        return sum(i.dropped_value for i in self.items)

    @property
    def items_destroyed_value(self) -> float:
        return sum(i.destroyed_value for i in self.items)

    def item_groups(self) -> list[SlotGroup]:
        """Return the item tree, top-level items grouped by slot kind."""
        return group_by_slot(build_item_tree(self.items))


LookupState = Literal["stored", "pending", "invalid", "missing"]


@dataclasses.dataclass(frozen=True, slots=True)
class KillmailLookup:
    """The result of looking a killmail up: its detail, or why there is none."""

    killmail_id: int
    state: LookupState
    detail: KillmailDetail | None = None
    last_error: str | None = None
    """For ``pending`` and ``invalid``: the last fetch error, if any."""
    attempts: int = 0
    """For ``pending``: the fetches of its body that failed."""
    next_try_at: dt.datetime | None = None
    """For ``pending``: the time before which no import requests its body again."""


def load_killmail(db: Database, killmail_id: int) -> KillmailLookup:
    """Load one killmail, or report that it is missing, pending or invalid."""
    params: dict[str, object] = {"killmail_id": killmail_id}
    index = db.fetch_one(load_sql(_PACKAGE, "killmail_index"), params, row=IndexRow)
    if index is not None and index.state != "stored":
        state: LookupState = "invalid" if index.state == "invalid" else "pending"
        return KillmailLookup(
            killmail_id,
            state,
            last_error=index.last_error,
            attempts=index.attempts,
            next_try_at=index.next_try_at,
        )
    params["killmail_time"] = index.killmail_time if index is not None else None
    header = db.fetch_one(
        load_sql(_PACKAGE, "killmail_header"), params, row=KillmailHeader
    )
    if header is None:
        return KillmailLookup(killmail_id, "missing")
    params["killmail_time"] = header.killmail_time
    attackers = db.fetch_all(
        load_sql(_PACKAGE, "killmail_attackers"), params, row=AttackerRow
    )
    items = db.fetch_all(load_sql(_PACKAGE, "killmail_items"), params, row=ItemRow)
    detail = KillmailDetail(header, tuple(attackers), tuple(items))
    return KillmailLookup(killmail_id, "stored", detail)


def build_item_tree(items: Iterable[ItemRow]) -> list[ItemNode]:
    """Nest items under their container by ``parent_index``, in document order.

    An item whose ``parent_index`` names no row of this killmail is kept at
    the top level, so a damaged record loses its nesting but no item.
    """
    rows = list(items)
    by_index = {row.item_index: row for row in rows}
    children: dict[int, list[ItemRow]] = {}
    roots: list[ItemRow] = []
    for row in rows:
        parent = row.parent_index
        if parent is not None and parent in by_index and parent != row.item_index:
            children.setdefault(parent, []).append(row)
        else:
            roots.append(row)

    def build(row: ItemRow, seen: frozenset[int]) -> ItemNode:
        # ``seen`` breaks parent cycles that a corrupt record could contain.
        inner = tuple(
            build(child, seen | {child.item_index})
            for child in children.get(row.item_index, ())
            if child.item_index not in seen
        )
        return ItemNode(row, inner)

    return [build(row, frozenset({row.item_index})) for row in roots]


# Inventory flag names from the SDE's invFlags table, grouped the way the
# game's fitting window lists them. Flags not listed here show as "Flag N".
_SLOT_RANGES: tuple[tuple[range, str], ...] = (
    (range(27, 35), "High slots"),
    (range(19, 27), "Mid slots"),
    (range(11, 19), "Low slots"),
    (range(92, 100), "Rig slots"),
    (range(125, 133), "Subsystems"),
    (range(164, 172), "Service slots"),
    (range(87, 88), "Drone bay"),
    (range(158, 159), "Fighter bay"),
    (range(159, 164), "Fighter tubes"),
    (range(89, 90), "Implants"),
    (range(88, 89), "Boosters"),
    (range(5, 6), "Cargo"),
    (range(155, 156), "Fleet hangar"),
    (range(90, 91), "Ship hangar"),
    (range(133, 134), "Fuel bay"),
    (range(172, 173), "Structure fuel"),
    (range(134, 135), "Ore hold"),
    (range(143, 144), "Ammo hold"),
    (range(179, 180), "Frigate escape bay"),
    (range(4, 5), "Hangar"),
    (range(0, 1), "Unfitted"),
)
_SLOT_ORDER = {title: order for order, (_, title) in enumerate(_SLOT_RANGES)}


def slot_title(flag: int) -> str:
    """Return the slot kind of an inventory flag, such as ``High slots``."""
    for flags, title in _SLOT_RANGES:
        if flag in flags:
            return title
    return f"Flag {flag}"


def group_by_slot(nodes: Iterable[ItemNode]) -> list[SlotGroup]:
    """Group top-level item nodes by slot kind, in fitting-window order."""
    groups: dict[str, list[ItemNode]] = {}
    for node in nodes:
        groups.setdefault(slot_title(node.item.flag), []).append(node)
    ordered = sorted(groups, key=lambda t: (_SLOT_ORDER.get(t, len(_SLOT_ORDER)), t))
    return [SlotGroup(title, tuple(groups[title])) for title in ordered]


def entity_ids(detail: KillmailDetail) -> set[int]:
    """Return every character, corporation, alliance and faction id shown."""
    header = detail.header
    ids = {
        header.victim_character_id,
        header.victim_corporation_id,
        header.victim_alliance_id,
        header.victim_faction_id,
    }
    for attacker in detail.attackers:
        ids.update(
            (
                attacker.character_id,
                attacker.corporation_id,
                attacker.alliance_id,
                attacker.faction_id,
            )
        )
    return {i for i in ids if i is not None}


def missing_name_ids(detail: KillmailDetail) -> set[int]:
    """Return the entity ids whose name the local ``names`` table lacks."""
    header = detail.header
    pairs = [
        (header.victim_character_id, header.victim_character_name),
        (header.victim_corporation_id, header.victim_corporation_name),
        (header.victim_alliance_id, header.victim_alliance_name),
        (header.victim_faction_id, header.victim_faction_name),
    ]
    for a in detail.attackers:
        pairs += [
            (a.character_id, a.character_name),
            (a.corporation_id, a.corporation_name),
            (a.alliance_id, a.alliance_name),
            (a.faction_id, a.faction_name),
        ]
    return {entity_id for entity_id, name in pairs if entity_id and name is None}


def with_names(detail: KillmailDetail, names: Mapping[int, str]) -> KillmailDetail:
    """Return ``detail`` with missing entity names filled in from ``names``."""

    def pick(entity_id: int | None, current: str | None) -> str | None:
        if current is not None or entity_id is None:
            return current
        return names.get(entity_id)

    h = detail.header
    header = dataclasses.replace(
        h,
        victim_character_name=pick(h.victim_character_id, h.victim_character_name),
        victim_corporation_name=pick(
            h.victim_corporation_id, h.victim_corporation_name
        ),
        victim_alliance_name=pick(h.victim_alliance_id, h.victim_alliance_name),
        victim_faction_name=pick(h.victim_faction_id, h.victim_faction_name),
    )
    attackers = tuple(
        dataclasses.replace(
            a,
            character_name=pick(a.character_id, a.character_name),
            corporation_name=pick(a.corporation_id, a.corporation_name),
            alliance_name=pick(a.alliance_id, a.alliance_name),
            faction_name=pick(a.faction_id, a.faction_name),
        )
        for a in detail.attackers
    )
    return dataclasses.replace(detail, header=header, attackers=attackers)

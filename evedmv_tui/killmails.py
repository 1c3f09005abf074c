"""Typed killmail records: the ESI body, its parts, and the zKillboard block.

The structs follow ESI ``GET /killmails/{killmail_id}/{killmail_hash}/`` and
the ``zkb`` object that zKillboard, RedisQ and R2Z2 add. Decoding with
:func:`decode_killmail` validates types and ranges, and a failure names the
JSON path of the bad field (``$.attackers[3].damage_done``).

Optional fields reflect real data: structures, deployables and NPCs have no
``character_id``; NPC attackers may carry only ``faction_id`` or only an NPC
corporation, and may have no ship; old killmails have no ``position``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import msgspec

# PostgreSQL bigint range. Character ids pass 2^31 and structure ids pass 10^12.
Id = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
PositiveId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
# Item flags and the singleton marker are small integers in ESI.
SmallInt = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
# ESI gives damage_done and damage_taken as int32, so a larger value is
# corrupt input that would swamp every damage sum it enters.
Damage = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
MAX_ISK = 1e15
"""Largest accepted zKillboard ISK value: a thousand trillion ISK. The most
valuable real killmails are worth trillions (an estimate), so a larger value
is corrupt input that would swamp every sum it enters. The importer checks
it itself, so that its reason names the field."""
Isk = Annotated[float, msgspec.Meta(ge=0)]

HASH_PATTERN = re.compile(r"[0-9a-f]{40}")

# The body structs are created with gc=False: a decoded killmail is a tree
# without reference cycles, so the cyclic garbage collector need not track
# its parts. With gc=False, decoding the 17,047 killmails of one EVE Ref day
# archive took 5 to 15 % less CPU in repeated measurements. Code that builds
# these structs by hand must not make a cycle through them, because the
# cycle would never be freed.


class Position(msgspec.Struct, frozen=True, gc=False):
    """Victim position in metres, relative to the system's star."""

    x: float
    y: float
    z: float


class Item(msgspec.Struct, frozen=True, gc=False):
    """A fitted or carried item; containers and ships nest their contents."""

    item_type_id: PositiveId
    flag: SmallInt
    singleton: SmallInt = 0
    quantity_destroyed: Count = 0
    quantity_dropped: Count = 0
    items: list[Item] = []


class Victim(msgspec.Struct, frozen=True, gc=False):
    """The destroyed ship or structure and its owner."""

    ship_type_id: PositiveId
    damage_taken: Damage
    character_id: Id | None = None
    corporation_id: Id | None = None
    alliance_id: Id | None = None
    faction_id: Id | None = None
    position: Position | None = None
    items: list[Item] = []


class Attacker(msgspec.Struct, frozen=True, gc=False):
    """One attacker; NPCs and structures lack some or all of the entity ids."""

    damage_done: Damage
    final_blow: bool
    character_id: Id | None = None
    corporation_id: Id | None = None
    alliance_id: Id | None = None
    faction_id: Id | None = None
    ship_type_id: Id | None = None
    weapon_type_id: Id | None = None
    security_status: float | None = None


class Killmail(msgspec.Struct, frozen=True, gc=False):
    """An ESI killmail body.

    ``killmail_hash`` is not part of ESI's body, but EVE Ref archives and
    some corpora add it next to the ESI fields.
    """

    killmail_id: PositiveId
    killmail_time: dt.datetime
    solar_system_id: PositiveId
    victim: Victim
    attackers: Annotated[list[Attacker], msgspec.Meta(min_length=1)]
    moon_id: Id | None = None
    war_id: Id | None = None
    killmail_hash: str | None = None


class Zkb(
    msgspec.Struct,
    frozen=True,
    rename={
        "location_id": "locationID",
        "fitted_value": "fittedValue",
        "dropped_value": "droppedValue",
        "destroyed_value": "destroyedValue",
        "total_value": "totalValue",
    },
):
    """zKillboard's metadata for a killmail; every field may be missing."""

    hash: str | None = None
    location_id: Id | None = None
    fitted_value: Isk | None = None
    dropped_value: Isk | None = None
    destroyed_value: Isk | None = None
    total_value: Isk | None = None
    points: Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)] | None = None
    npc: bool | None = None
    solo: bool | None = None
    awox: bool | None = None
    labels: list[str] | None = None


ZKB_VALUE_KEYS = tuple(
    (field.name, field.encode_name)
    for field in msgspec.structs.fields(Zkb)
    if field.name.endswith("_value")
)
"""The ISK fields of :class:`Zkb` and their JSON keys, ``totalValue`` among them."""


_killmail_decoder = msgspec.json.Decoder(Killmail)
_zkb_decoder = msgspec.json.Decoder(Zkb)


def decode_killmail(body: bytes) -> Killmail:
    """Decode and validate one ESI body; raise ``msgspec.ValidationError``."""
    killmail = _killmail_decoder.decode(body)
    if killmail.killmail_time.tzinfo is None:
        # ESI always sends UTC with a "Z"; a time without a zone is read as UTC.
        killmail = msgspec.structs.replace(
            killmail, killmail_time=killmail.killmail_time.replace(tzinfo=dt.UTC)
        )
    return killmail


def decode_zkb(body: bytes) -> Zkb:
    """Decode and validate one ``zkb`` object; raise ``msgspec.ValidationError``."""
    return _zkb_decoder.decode(body)


def normalize_hash(value: object) -> str:
    """Return ``value`` stripped of surrounding whitespace if it is a valid hash.

    Raise ``ValueError`` unless the result is 40 lowercase hexadecimal digits.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    stripped = value.strip()
    if not HASH_PATTERN.fullmatch(stripped):
        raise ValueError(f"{stripped[:60]!r} is not 40 lowercase hexadecimal digits")
    return stripped


def flatten_items(items: list[Item]) -> list[tuple[int | None, Item]]:
    """Return every item depth-first, each with the index of its container.

    The index is the position in the returned list, so ``None`` marks an item
    at the top level of the victim's ship.
    """
    flat: list[tuple[int | None, Item]] = []
    stack: list[tuple[int | None, list[Item], int]] = [(None, items, 0)]
    while stack:
        parent, level, start = stack.pop()
        for position in range(start, len(level)):
            item = level[position]
            flat.append((parent, item))
            if item.items:
                stack.append((parent, level, position + 1))
                stack.append((len(flat) - 1, item.items, 0))
                break
    return flat

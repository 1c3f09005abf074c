"""Records shared by clustering, side assignment and metrics."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

NPC_CORPORATIONS = range(1_000_000, 2_000_000)
"""NPC corporations; their members are not one group."""
NPC_CHARACTERS = range(3_000_000, 4_000_000)


def is_player_character(character_id: int | None) -> bool:
    return character_id is not None and character_id not in NPC_CHARACTERS


def top_player_damage(
    character_ids: Sequence[int | None], damage: Sequence[int]
) -> int:
    """Return the largest damage a player attacker did on a kill, 0 for none.

    The top attacker is nearly always a player, so that case costs one
    ``max`` and one lookup. Only a kill that an NPC or a structure topped is
    scanned.
    """
    if not damage:
        return 0
    top = max(damage)
    if is_player_character(character_ids[damage.index(top)]):
        return top
    return max(
        (
            done
            for character_id, done in zip(character_ids, damage, strict=True)
            if is_player_character(character_id)
        ),
        default=0,
    )


def group_of(
    alliance_id: int | None, corporation_id: int | None, character_id: int | None
) -> int | None:
    """Return the id of the unit that sides are built from.

    The unit is the alliance, else the player corporation, else the character
    (members of NPC corporations do not act together). EVE entity ids are
    unique across characters, corporations and alliances, so one id names the
    unit. None means an NPC or an unowned object.
    """
    if alliance_id:
        return alliance_id
    if corporation_id and corporation_id not in NPC_CORPORATIONS:
        return corporation_id
    if is_player_character(character_id):
        return character_id
    return None


def unit_kind(
    alliance_id: int | None, corporation_id: int | None, character_id: int | None
) -> str:
    """Return ``alliance``, ``corporation`` or ``character`` for :func:`group_of`."""
    if alliance_id:
        return "alliance"
    if corporation_id and corporation_id not in NPC_CORPORATIONS:
        return "corporation"
    return "character"


@dataclasses.dataclass(frozen=True, slots=True)
class Kill:
    """One killmail with its attackers, as battle detection reads it.

    Attacker fields are parallel tuples, one entry per attacker in killmail
    order, because a large battle has tens of thousands of attackers.
    """

    killmail_id: int
    killmail_time: dt.datetime
    solar_system_id: int
    victim_character_id: int | None
    victim_corporation_id: int | None
    victim_alliance_id: int | None
    victim_ship_type_id: int
    total_value: float
    dropped_value: float
    attacker_character_ids: Sequence[int | None]
    attacker_corporation_ids: Sequence[int | None]
    attacker_alliance_ids: Sequence[int | None]
    attacker_ship_type_ids: Sequence[int | None]
    attacker_damage: Sequence[int]
    attacker_final_blows: Sequence[bool]

    @property
    def timestamp(self) -> float:
        return self.killmail_time.timestamp()

    @property
    def victim_group(self) -> int | None:
        return group_of(
            self.victim_alliance_id,
            self.victim_corporation_id,
            self.victim_character_id,
        )

    def significant_attackers(self, negligible_share: float) -> list[int]:
        """Return indexes of player attackers whose damage is not negligible.

        Negligible is less than ``negligible_share`` of the top player
        attacker's damage on this kill. Comparing with the top attacker rather
        than the total keeps every pilot of a 200-strong fleet that each did
        0.5 %, and leaving NPCs out keeps the pilots whose kill a structure or
        a sentry gun did most of the damage on. When the players record no
        damage at all, the final blow counts.
        """
        top = top_player_damage(self.attacker_character_ids, self.attacker_damage)
        found = []
        for index, character_id in enumerate(self.attacker_character_ids):
            if not is_player_character(character_id):
                continue
            if top > 0:
                damage = self.attacker_damage[index]
                if damage > 0 and damage >= negligible_share * top:
                    found.append(index)
            elif self.attacker_final_blows[index]:
                found.append(index)
        return found

    def attacker_group(self, index: int) -> int | None:
        return group_of(
            self.attacker_alliance_ids[index],
            self.attacker_corporation_ids[index],
            self.attacker_character_ids[index],
        )

    def is_player_kill(self) -> bool:
        """Return whether a player died to at least one player.

        Kills of NPCs and unowned objects and kills by NPCs alone are not
        part of any battle.
        """
        if self.victim_group is None:
            return False
        return any(is_player_character(c) for c in self.attacker_character_ids)

    @property
    def final_blow_character_id(self) -> int | None:
        for character_id, final in zip(
            self.attacker_character_ids, self.attacker_final_blows, strict=True
        ):
            if final:
                return character_id
        return None

    def pilots(self) -> set[int]:
        found = {
            c
            for c in self.attacker_character_ids
            if c is not None and is_player_character(c)
        }
        victim = self.victim_character_id
        if victim is not None and is_player_character(victim):
            found.add(victim)
        return found


def systems_by_kills(kills: Iterable[Kill]) -> tuple[int, ...]:
    """Return the systems of ``kills``, the one with the most kills first.

    Ties go to the lower id. Lists name a battle by its first system, so it
    is where most of the fighting was, not the system with the lowest id.
    """
    counts = collections.Counter(k.solar_system_id for k in kills)
    return tuple(sorted(counts, key=lambda system: (-counts[system], system)))


@dataclasses.dataclass(frozen=True, slots=True)
class Cluster:
    """A detected battle before it is stored: its kills in time order."""

    kills: tuple[Kill, ...]

    @property
    def killmail_ids(self) -> frozenset[int]:
        return frozenset(k.killmail_id for k in self.kills)

    @property
    def solar_system_ids(self) -> tuple[int, ...]:
        return systems_by_kills(self.kills)

    @property
    def start(self) -> dt.datetime:
        return self.kills[0].killmail_time

    @property
    def end(self) -> dt.datetime:
        return self.kills[-1].killmail_time

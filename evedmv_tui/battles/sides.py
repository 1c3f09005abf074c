"""Side assignment from who shot whom; pure functions, no database.

Sides are built from units: an alliance, else a player corporation, else a
character (members of NPC corporations do not act together). Between two
units there are two kinds of weight, both in ISK of the kills involved:

- hostility: the value of a kill, times the attacker unit's share of the
  kill's damage, from each unit with a non-negligible share to the victim's
  unit, counted both ways;
- fellowship: for two attacker units on the same kill, the kill's value
  times the smaller of their damage shares. An attacker below the
  negligible share, even with no damage, counts as having that share, so it
  earns fellowship and joins those it flew with.

The negligible share is relative to the top player attacker of a kill.

NPC attackers and structures without a pilot carry no weight. Units are
placed one by one, the most involved first, each next to the unit already
placed that it has the strongest relation with. A unit joins the side where
fellowship minus hostility, plus a small "enemy of my enemy" bonus, is
highest and positive, else starts a new side, so a third party that fought
both sides stays apart. Local moves then repeat until no unit gains by
moving. Everything is ordered by value and then by id, so the same kills
always give the same sides. A unit without any contact keeps a side of its
own, which the side count leaves out.

Where two or more sides attacked, a side whose units never attacked anyone
in the battle and only lost ships (a pilot caught on its own, a structure)
took no part in their fight: it is a group of victims, numbered after every
side that attacked, and the side count leaves it out too.

User overrides are applied afterwards, in the order they were made, and
only then are the sides numbered from 1 by ISK destroyed.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
from collections.abc import Hashable, Iterable, Mapping, Sequence, Set
from typing import TypeVar

from evedmv_tui.battles.model import (
    NPC_CHARACTERS,
    NPC_CORPORATIONS,
    Kill,
    group_of,
    is_player_character,
    top_player_damage,
    unit_kind,
)
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.widgets import text

_Key = TypeVar("_Key", bound=Hashable)

ENEMY_OF_ENEMY = 0.1
"""Share of a common enemy's hostility that draws two units together."""
_MAX_PASSES = 20
FELLOW_PAIRWISE = 12
"""Attackers of a kill, by damage, whose fellowship is counted pairwise."""
NO_CONTACT = "no player contact"
"""Reason of an entity with neither hostility nor fellowship."""
VICTIM_ONLY = "only lost ships"
"""Start of the reason of an entity that attacked no one in the battle."""


@dataclasses.dataclass(frozen=True, slots=True)
class Override:
    """A user's move of one entity to the side of an anchor, or to a new side."""

    entity_kind: str
    entity_id: int
    anchor_kind: str | None
    anchor_id: int | None
    new_side: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class EntitySide:
    """One alliance, corporation or character on a side, and why it is there."""

    entity_kind: str
    entity_id: int
    parent_id: int | None
    side_no: int
    weight_for: float
    """ISK evidence for this side: fellowship with it, hostility to the others."""
    weight_against: float
    """ISK evidence against: hostility to its own side, fellowship with others."""
    reason: str
    overridden: bool

    @property
    def confidence(self) -> float:
        """Share of the evidence that is for the side.

        Without evidence, a user's move and a corporation that stays with its
        alliance are certain (1.0), and a unit without player contact, which
        nothing placed, is not (0.0).
        """
        total = self.weight_for + self.weight_against
        if total > 0:
            return self.weight_for / total
        return 1.0 if self.overridden or self.parent_id is not None else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class SideAssignment:
    """Sides numbered from 1 by ISK destroyed, and the entities on them."""

    unit_sides: Mapping[int, int]
    corporation_sides: Mapping[int, int]
    """Corporations moved away from their alliance's side."""
    character_sides: Mapping[int, int]
    """Characters moved away from their corporation's side."""
    entities: tuple[EntitySide, ...]
    side_count: int
    confidence: float
    victim_sides: frozenset[int] = frozenset()
    """Sides whose members attacked no one and only lost ships; not counted."""

    def side_of(
        self,
        alliance_id: int | None,
        corporation_id: int | None,
        character_id: int | None,
    ) -> int | None:
        """Return the side of a participant, or None for NPCs."""
        if character_id is not None and character_id in self.character_sides:
            return self.character_sides[character_id]
        if corporation_id is not None and corporation_id in self.corporation_sides:
            return self.corporation_sides[corporation_id]
        unit = group_of(alliance_id, corporation_id, character_id)
        return None if unit is None else self.unit_sides.get(unit)


class _Weights:
    """Hostility and fellowship between actors (corporations or characters)."""

    def __init__(self) -> None:
        self.hostility: dict[tuple[int, int], float] = collections.defaultdict(float)
        self.fellowship: dict[tuple[int, int], float] = collections.defaultdict(float)
        # ISK of the kills of one actor's ships by another, by (attacker,
        # victim), so kills within one side can be left out after moves.
        self.destroyed: dict[tuple[int, int], float] = collections.defaultdict(float)
        # Actors seen as a player attacker on any kill, with or without damage.
        self.attackers: set[int] = set()


def _actor(corporation_id: int | None, character_id: int | None) -> int | None:
    """Return the corporation, or the character for NPC-corporation members."""
    if corporation_id and corporation_id not in NPC_CORPORATIONS:
        return corporation_id
    if is_player_character(character_id):
        return character_id
    return None


@dataclasses.dataclass(slots=True)
class _Participants:
    unit_of_actor: dict[int, int] = dataclasses.field(default_factory=dict)
    unit_kinds: dict[int, str] = dataclasses.field(default_factory=dict)
    actor_kinds: dict[int, str] = dataclasses.field(default_factory=dict)
    corporation_of_character: dict[int, int | None] = dataclasses.field(
        default_factory=dict
    )
    conflicting: bool = False
    """Flag set when one actor, unit or character is noted with two values."""

    def note(
        self,
        alliance_id: int | None,
        corporation_id: int | None,
        character_id: int | None,
    ) -> int | None:
        """Record a participant and return its actor. A later note overwrites."""
        actor = _actor(corporation_id, character_id)
        unit = group_of(alliance_id, corporation_id, character_id)
        if actor is None or unit is None:
            return None
        kind = unit_kind(alliance_id, corporation_id, character_id)
        actor_kind = "corporation" if corporation_id == actor else "character"
        if (
            self.unit_of_actor.get(actor, unit) != unit
            or self.unit_kinds.get(unit, kind) != kind
            or self.actor_kinds.get(actor, actor_kind) != actor_kind
        ):
            self.conflicting = True
        self.unit_of_actor[actor] = unit
        self.unit_kinds[unit] = kind
        self.actor_kinds[actor] = actor_kind
        if is_player_character(character_id):
            assert character_id is not None
            corporations = self.corporation_of_character
            if corporations.get(character_id, corporation_id) != corporation_id:
                self.conflicting = True
            corporations[character_id] = corporation_id
        return actor


def kill_weight(kill: Kill) -> float:
    """Return the ISK a kill weighs; unvalued kills weigh 1 ISK."""
    return kill.total_value if kill.total_value > 0 else 1.0


def _collect(
    kills: Sequence[Kill], params: BattleParameters
) -> tuple[_Weights, _Participants]:
    weights, people = _scan(kills, params, skip_same_unit=True)
    if people.conflicting:
        # An id was noted with two values, as when a corporation leaves its
        # alliance during the battle. Units are then known only after the
        # last kill, so scan again and keep fellowship within units too.
        weights, _ = _scan(kills, params, skip_same_unit=False)
        people = _replay_notes(kills)
    return weights, people


def _scan(
    kills: Sequence[Kill], params: BattleParameters, *, skip_same_unit: bool
) -> tuple[_Weights, _Participants]:
    """Sum hostility and fellowship between actors over the kills.

    Fellowship within a unit is never read, so ``skip_same_unit`` leaves it
    out, which is exact only when no id is noted with two values.
    """
    weights = _Weights()
    people = _Participants()
    # Each distinct (alliance, corporation, character) is noted once, when
    # first seen. That gives the same records as noting every participant in
    # order unless an id gets two values, which _collect handles.
    actor_of: dict[tuple[int | None, int | None, int | None], int | None] = {}
    note = people.note
    unit_of_actor = people.unit_of_actor
    hostility = weights.hostility
    destroyed = weights.destroyed
    fellowship = weights.fellowship
    attackers = weights.attackers
    negligible = params.negligible_damage_share
    npc_characters = NPC_CHARACTERS
    for kill in kills:
        key = (
            kill.victim_alliance_id,
            kill.victim_corporation_id,
            kill.victim_character_id,
        )
        if key in actor_of:
            victim = actor_of[key]
        else:
            victim = actor_of[key] = note(*key)
        value = kill_weight(kill)
        damages = kill.attacker_damage
        total_damage = sum(damages) or 1
        # An attacker is significant as in Kill.significant_attackers.
        top = top_player_damage(kill.attacker_character_ids, damages)
        threshold = negligible * top
        shares: dict[int, float] = {}
        significant: set[int] = set()
        for character_id, corporation_id, alliance_id, damage, final_blow in zip(
            kill.attacker_character_ids,
            kill.attacker_corporation_ids,
            kill.attacker_alliance_ids,
            damages,
            kill.attacker_final_blows,
            strict=True,
        ):
            if character_id is None or character_id in npc_characters:
                continue
            key = (alliance_id, corporation_id, character_id)
            actor = actor_of.get(key)
            if actor is None:
                actor = actor_of[key] = note(*key)
                assert actor is not None
            attackers.add(actor)
            share = damage / total_damage
            if (damage > 0 and damage >= threshold) if top > 0 else final_blow:
                significant.add(actor)
                if share < 1e-9:
                    share = 1e-9
            shares[actor] = shares.get(actor, 0.0) + share
        if victim is not None:
            for actor in significant:
                if actor != victim:
                    weight = value * shares[actor]
                    pair = (actor, victim) if actor < victim else (victim, actor)
                    hostility[pair] += weight
                    destroyed[(actor, victim)] += weight
        if len(shares) < 2 or not significant:
            continue
        # The largest damage dealers are fellows pairwise, and every other
        # attacker is a fellow of the largest one. This bounds the pairs of a
        # kill with hundreds of attackers.
        # Ranked by share, largest first, ties by id.
        ranked = sorted(sorted(shares), key=shares.__getitem__, reverse=True)
        if len(significant) == len(shares):
            core = ranked[:FELLOW_PAIRWISE]
        else:
            core = [actor for actor in ranked if actor in significant]
            del core[FELLOW_PAIRWISE:]
        # The core is ranked, so a pair's smaller share is the later actor's.
        # When units are not skipped, each actor is its own unit here.
        fellows = [
            (b, value * shares[b], unit_of_actor[b] if skip_same_unit else b)
            for b in core
        ]
        for (a, _, unit_a), (b, weight, unit_b) in itertools.combinations(fellows, 2):
            if unit_a != unit_b:
                fellowship[(a, b) if a < b else (b, a)] += weight
        if len(ranked) == len(core):
            continue
        top_actor, _, top_unit = fellows[0]
        top_share = shares[top_actor]
        # An attacker below the negligible share, such as a tackler or an
        # interdictor that did no damage, counts as having that share here.
        # With its own share, 0 for no damage, it would earn no fellowship
        # and start a side of its own.
        floor = max(threshold / total_damage, 1e-9)
        in_core = set(core)
        for other in ranked:
            if other in in_core:
                continue
            if (unit_of_actor[other] if skip_same_unit else other) != top_unit:
                share = max(shares[other], floor)
                weight = value * (share if share < top_share else top_share)
                pair = (top_actor, other) if top_actor < other else (other, top_actor)
                fellowship[pair] += weight
    return weights, people


def _replay_notes(kills: Iterable[Kill]) -> _Participants:
    """Note every participant in order, so the last note of each id wins."""
    people = _Participants()
    for kill in kills:
        people.note(
            kill.victim_alliance_id,
            kill.victim_corporation_id,
            kill.victim_character_id,
        )
        for index, character_id in enumerate(kill.attacker_character_ids):
            if is_player_character(character_id):
                people.note(
                    kill.attacker_alliance_ids[index],
                    kill.attacker_corporation_ids[index],
                    character_id,
                )
    return people


def _unit_weights(
    weights: _Weights, people: _Participants
) -> tuple[dict[int, dict[int, float]], dict[int, dict[int, float]]]:
    hostility: dict[int, dict[int, float]] = collections.defaultdict(dict)
    fellowship: dict[int, dict[int, float]] = collections.defaultdict(dict)
    for source, target in (
        (weights.hostility, hostility),
        (weights.fellowship, fellowship),
    ):
        for (a, b), weight in source.items():
            unit_a, unit_b = people.unit_of_actor[a], people.unit_of_actor[b]
            if unit_a == unit_b:
                continue
            target[unit_a][unit_b] = target[unit_a].get(unit_b, 0.0) + weight
            target[unit_b][unit_a] = target[unit_b].get(unit_a, 0.0) + weight
    return hostility, fellowship


class _Placement:
    """Units on sides, with per-unit and per-side sums kept up to date."""

    def __init__(
        self,
        hostility: Mapping[int, Mapping[int, float]],
        fellowship: Mapping[int, Mapping[int, float]],
    ) -> None:
        self.hostility = hostility
        self.fellowship = fellowship
        self.side_of: dict[int, int] = {}
        self.members: dict[int, set[int]] = collections.defaultdict(set)
        # For each unit, its fellowship and hostility with each side.
        self.fellow_side: dict[int, dict[int, float]] = collections.defaultdict(
            lambda: collections.defaultdict(float)
        )
        self.hostile_side: dict[int, dict[int, float]] = collections.defaultdict(
            lambda: collections.defaultdict(float)
        )
        # Hostility between sides, both directions stored.
        self.side_hostility: dict[int, dict[int, float]] = collections.defaultdict(
            lambda: collections.defaultdict(float)
        )

    def _shift(self, unit: int, side: int, sign: float) -> None:
        for other, weight in self.fellowship.get(unit, {}).items():
            self.fellow_side[other][side] += sign * weight
        for other, weight in self.hostility.get(unit, {}).items():
            self.hostile_side[other][side] += sign * weight
            other_side = self.side_of.get(other)
            if other_side is not None:
                self.side_hostility[side][other_side] += sign * weight
                self.side_hostility[other_side][side] += sign * weight

    def put(self, unit: int, side: int) -> None:
        current = self.side_of.pop(unit, None)
        if current is not None:
            self.members[current].discard(unit)
            self._shift(unit, current, -1.0)
        self._shift(unit, side, 1.0)
        self.side_of[unit] = side
        self.members[side].add(unit)

    def score(self, unit: int, side: int) -> float:
        """Return fellowship minus hostility with ``side``, plus the bonus."""
        if not self.members[side] - {unit}:
            return float("-inf")
        score = self.fellow_side[unit][side] - self.hostile_side[unit][side]
        own = self.side_of.get(unit)
        for other, hostile in self.hostile_side[unit].items():
            if other == side or hostile <= 0 or not self.members[other] - {unit}:
                continue
            theirs = self.side_hostility[side][other]
            if own == side:
                theirs -= hostile
            score += ENEMY_OF_ENEMY * min(hostile, theirs)
        return score

    def best_side(self, unit: int) -> tuple[int | None, float]:
        best: tuple[int | None, float] = (None, 0.0)
        for side in sorted(self.members):
            value = self.score(unit, side)
            if value > best[1] + 1e-9:
                best = (side, value)
        return best


def _place(
    units: Sequence[int],
    hostility: Mapping[int, Mapping[int, float]],
    fellowship: Mapping[int, Mapping[int, float]],
) -> dict[int, int]:
    """Place units on sides (numbered in creation order from 0)."""
    involvement = {
        u: sum(hostility.get(u, {}).values()) + sum(fellowship.get(u, {}).values())
        for u in units
    }
    order = sorted(units, key=lambda u: (-involvement[u], u))
    placement = _Placement(hostility, fellowship)
    pull = dict.fromkeys(units, 0.0)
    next_side = 0
    remaining = set(units)
    while remaining:
        # The next unit is the one most related to those already placed.
        unit = max(remaining, key=lambda u: (pull[u], involvement[u], -u))
        remaining.discard(unit)
        side, _ = placement.best_side(unit)
        if side is None:
            side = next_side
            next_side += 1
        placement.put(unit, side)
        pull.pop(unit)
        for relation in (hostility, fellowship):
            for other, weight in relation.get(unit, {}).items():
                if other in pull:
                    pull[other] += weight
    for _ in range(_MAX_PASSES):
        moved = False
        for unit in order:
            current = placement.side_of[unit]
            current_score = placement.score(unit, current)
            if current_score == float("-inf"):
                current_score = 0.0
            target, value = placement.best_side(unit)
            crowded = len(placement.members[current]) > 1
            if target is None and current_score < -1e-9 and crowded:
                target = next_side
                next_side += 1
                value = 0.0
            if (
                target is not None
                and target != current
                and value > current_score + 1e-9
            ):
                placement.put(unit, target)
                moved = True
        if not moved:
            break
    return dict(placement.side_of)


def assign_sides(
    kills: Sequence[Kill],
    params: BattleParameters,
    overrides: Sequence[Override] = (),
) -> SideAssignment:
    """Assign the participants of a battle's kills to sides."""
    weights, people = _collect(kills, params)
    hostility, fellowship = _unit_weights(weights, people)
    units = sorted(set(people.unit_of_actor.values()))
    unit_sides = _place(units, hostility, fellowship)

    corporation_sides: dict[int, int] = {}
    character_sides: dict[int, int] = {}
    overridden = _apply_overrides(
        overrides, people, unit_sides, corporation_sides, character_sides
    )
    _follow_moved_actors(
        weights, people, unit_sides, corporation_sides, character_sides
    )
    side_of_actor = _actor_sides(people, unit_sides, corporation_sides, character_sides)
    victim_sides = _victim_sides(weights, side_of_actor, overridden)
    number = _number_sides(
        weights,
        people,
        side_of_actor,
        (unit_sides, corporation_sides, character_sides),
        victim_sides,
    )
    # The count does not depend on the numbers, so it reads the sides as
    # placed, with the same actor map.
    side_count = _count_sides_in_contact(
        weights,
        side_of_actor,
        (unit_sides, corporation_sides, character_sides),
        overridden,
        victim_sides,
    )
    _renumber(unit_sides, number)
    _renumber(corporation_sides, number)
    _renumber(character_sides, number)
    _renumber(overridden, number)
    victim_sides = {number[side] for side in victim_sides}
    entities, unit_entities = _describe(
        weights,
        people,
        unit_sides,
        corporation_sides,
        character_sides,
        overridden,
    )
    total_for = sum(e.weight_for for e in unit_entities)
    total_against = sum(e.weight_against for e in unit_entities)
    confidence = (
        total_for / (total_for + total_against) if total_for + total_against else 1.0
    )
    return SideAssignment(
        unit_sides,
        corporation_sides,
        character_sides,
        tuple(entities),
        side_count,
        confidence,
        frozenset(victim_sides),
    )


def _actor_sides(
    people: _Participants,
    unit_sides: Mapping[int, int],
    corporation_sides: Mapping[int, int],
    character_sides: Mapping[int, int],
) -> dict[int, int]:
    """Return the side of every actor, after the moves of corporations."""
    side_of_actor: dict[int, int] = {}
    for actor, unit in people.unit_of_actor.items():
        if actor in corporation_sides:
            side_of_actor[actor] = corporation_sides[actor]
        elif actor in character_sides:
            side_of_actor[actor] = character_sides[actor]
        else:
            side_of_actor[actor] = unit_sides[unit]
    return side_of_actor


def _follow_moved_actors(
    weights: _Weights,
    people: _Participants,
    unit_sides: dict[int, int],
    corporation_sides: Mapping[int, int],
    character_sides: Mapping[int, int],
) -> None:
    """Put a unit whose actors all moved away on the side of its top actor.

    Without this, an alliance whose corporations were all moved, or a
    character of an NPC corporation moved on its own, would keep a side
    with no pilots on it.
    """
    side_of_actor = _actor_sides(people, unit_sides, corporation_sides, character_sides)
    destroyed: dict[int, float] = collections.defaultdict(float)
    for (attacker, _), weight in weights.destroyed.items():
        destroyed[attacker] += weight
    actors_of_unit: dict[int, list[int]] = collections.defaultdict(list)
    for actor, unit in people.unit_of_actor.items():
        actors_of_unit[unit].append(actor)
    for unit, actors in actors_of_unit.items():
        if any(side_of_actor[actor] == unit_sides[unit] for actor in actors):
            continue
        top = max(actors, key=lambda actor: (destroyed[actor], -actor))
        unit_sides[unit] = side_of_actor[top]


def _victim_sides(
    weights: _Weights,
    side_of_actor: Mapping[int, int],
    overridden: Mapping[tuple[str, int], int],
) -> set[int]:
    """Return the sides none of whose actors attacked anyone in the battle.

    Where at least two other sides attacked, such a side only lost ships
    beside their fight, so it is a group of victims rather than a third
    party. With one attacking side the victims are its opponent, as in a
    gank, and stay a side of the fight. A side that a user's move made or
    added to is never a group of victims.
    """
    every_side = set(side_of_actor.values())
    attacking = {side_of_actor[actor] for actor in weights.attackers}
    if len(attacking) < 2:
        return set()
    return every_side - attacking - set(overridden.values())


def _number_sides(
    weights: _Weights,
    people: _Participants,
    side_of_actor: Mapping[int, int],
    entity_sides: Sequence[Mapping[int, int]],
    victim_sides: Set[int],
) -> dict[int, int]:
    """Map the sides, as placed and moved, to numbers from 1 without gaps.

    Sides are ranked by ISK destroyed (kills of ships on other sides only),
    then by involvement (hostility with other units), largest first, ties
    by the smallest id on the side. Sides in ``victim_sides`` come after
    all others. The ranking runs after the user's moves, so a move that
    empties a side or makes a new one leaves the numbers in the documented
    order. ``entity_sides`` are the sides of units, corporations and
    characters.
    """
    destroyed: dict[int, float] = collections.defaultdict(float)
    size: dict[int, float] = collections.defaultdict(float)
    for (attacker, victim), weight in weights.destroyed.items():
        side = side_of_actor[attacker]
        if side != side_of_actor[victim]:
            destroyed[side] += weight
    unit_of_actor = people.unit_of_actor
    for (a, b), weight in weights.hostility.items():
        if unit_of_actor[a] != unit_of_actor[b]:
            size[side_of_actor[a]] += weight
            size[side_of_actor[b]] += weight
    first_id: dict[int, int] = {}
    for sides in entity_sides:
        for entity_id, side in sides.items():
            first_id[side] = min(first_id.get(side, entity_id), entity_id)
    ranked = sorted(
        first_id,
        key=lambda s: (s in victim_sides, -destroyed[s], -size[s], first_id[s]),
    )
    return {side: index + 1 for index, side in enumerate(ranked)}


def _count_sides_in_contact(
    weights: _Weights,
    side_of_actor: Mapping[int, int],
    entity_sides: Sequence[Mapping[int, int]],
    overridden: Mapping[tuple[str, int], int],
    victim_sides: Set[int],
) -> int:
    """Count the sides with player contact or a user's move on them.

    An entity without any hostility or fellowship, such as a pilot killed by
    NPCs alone, keeps a side of its own in the report. That side took no part
    in the fight between players, so the count leaves it out, as it leaves
    out the ``victim_sides``.
    """
    every_side = {side for sides in entity_sides for side in sides.values()}
    sides = set(overridden.values())
    # Most battles give every side contact within the first pairs, and a
    # large battle has hundreds of thousands of them: stop once all are in.
    for relation in (weights.hostility, weights.fellowship):
        if sides >= every_side:
            break
        for (a, b), weight in relation.items():
            if weight > 0:
                sides.add(side_of_actor[a])
                sides.add(side_of_actor[b])
                if len(sides) >= len(every_side) and sides >= every_side:
                    break
    sides -= victim_sides
    return len(sides) if sides else len(every_side)


def _renumber(sides: dict[_Key, int], number: Mapping[int, int]) -> None:
    for key, side in sides.items():
        sides[key] = number[side]


def _apply_overrides(
    overrides: Sequence[Override],
    people: _Participants,
    unit_sides: dict[int, int],
    corporation_sides: dict[int, int],
    character_sides: dict[int, int],
) -> dict[tuple[str, int], int]:
    alliance_of_corporation = {
        actor: unit
        for actor, unit in people.unit_of_actor.items()
        if people.actor_kinds[actor] == "corporation"
    }

    def current_side(kind: str, entity_id: int) -> int | None:
        if kind == "character":
            if entity_id in character_sides:
                return character_sides[entity_id]
            corporation = people.corporation_of_character.get(entity_id)
            if corporation is not None and corporation in corporation_sides:
                return corporation_sides[corporation]
            actor = _actor(corporation, entity_id)
            unit = people.unit_of_actor.get(actor) if actor is not None else None
            return None if unit is None else unit_sides.get(unit)
        if kind == "corporation":
            if entity_id in corporation_sides:
                return corporation_sides[entity_id]
            unit = alliance_of_corporation.get(entity_id)
            return None if unit is None else unit_sides.get(unit)
        return unit_sides.get(entity_id)

    applied: dict[tuple[str, int], int] = {}
    new_sides: dict[int, int] = {}
    for override in overrides:
        side_now = current_side(override.entity_kind, override.entity_id)
        if side_now is None:
            continue
        if override.anchor_id is not None and override.anchor_kind is not None:
            target = current_side(override.anchor_kind, override.anchor_id)
            if target is None:
                continue
        else:
            assert override.new_side is not None
            if override.new_side not in new_sides:
                used = (
                    set(unit_sides.values())
                    | set(corporation_sides.values())
                    | set(character_sides.values())
                )
                new_sides[override.new_side] = max(used, default=0) + 1
            target = new_sides[override.new_side]
        if target == side_now:
            # The entity is on that side already, for example after the
            # user moved it back, so it is not marked as moved.
            continue
        # A character of an NPC corporation is a unit of its own, so its
        # move is a unit's move and gives it a single row.
        if (
            override.entity_kind == "character"
            and people.unit_of_actor.get(override.entity_id) != override.entity_id
        ):
            character_sides[override.entity_id] = target
        elif (
            override.entity_kind == "corporation"
            and alliance_of_corporation.get(override.entity_id) != override.entity_id
        ):
            corporation_sides[override.entity_id] = target
        else:
            unit_sides[override.entity_id] = target
        applied[(override.entity_kind, override.entity_id)] = target
    return applied


def _describe(
    weights: _Weights,
    people: _Participants,
    unit_sides: Mapping[int, int],
    corporation_sides: Mapping[int, int],
    character_sides: Mapping[int, int],
    overridden: Mapping[tuple[str, int], int],
) -> tuple[list[EntitySide], list[EntitySide]]:
    """Return every entity's row, and the rows of the units alone."""
    unit_of_actor = people.unit_of_actor
    side_of_actor = _actor_sides(people, unit_sides, corporation_sides, character_sides)

    # Evidence per actor toward each side: hostility and fellowship by side.
    hostile_by_side: dict[int, dict[int, float]] = {a: {} for a in unit_of_actor}
    fellow_by_side: dict[int, dict[int, float]] = {a: {} for a in unit_of_actor}
    for (a, b), weight in weights.hostility.items():
        by_side, side = hostile_by_side[a], side_of_actor[b]
        by_side[side] = by_side.get(side, 0.0) + weight
        by_side, side = hostile_by_side[b], side_of_actor[a]
        by_side[side] = by_side.get(side, 0.0) + weight
    for (a, b), weight in weights.fellowship.items():
        if unit_of_actor[a] == unit_of_actor[b]:
            continue
        by_side, side = fellow_by_side[a], side_of_actor[b]
        by_side[side] = by_side.get(side, 0.0) + weight
        by_side, side = fellow_by_side[b], side_of_actor[a]
        by_side[side] = by_side.get(side, 0.0) + weight

    def evidence(actors: Sequence[int], side: int) -> tuple[float, float, str]:
        if len(actors) == 1:
            hostile = dict(hostile_by_side[actors[0]])
            fellow = dict(fellow_by_side[actors[0]])
        else:
            hostile, fellow = {}, {}
            for actor in actors:
                for s, w in hostile_by_side[actor].items():
                    hostile[s] = hostile.get(s, 0.0) + w
                for s, w in fellow_by_side[actor].items():
                    fellow[s] = fellow.get(s, 0.0) + w
        attacked = not weights.attackers.isdisjoint(actors)
        return _evidence(hostile, fellow, side, attacked=attacked)

    actors_of_unit: dict[int, list[int]] = collections.defaultdict(list)
    for actor, unit in unit_of_actor.items():
        actors_of_unit[unit].append(actor)
    found: list[EntitySide] = []
    units: list[EntitySide] = []
    for unit in sorted(actors_of_unit):
        side = unit_sides[unit]
        kind = people.unit_kinds[unit]
        actors = [a for a in actors_of_unit[unit] if side_of_actor[a] == side] or (
            actors_of_unit[unit]
        )
        weight_for, weight_against, reason = evidence(actors, side)
        is_override = (kind, unit) in overridden
        if is_override:
            reason = f"moved to side {side} by the user; {reason}"
        row = EntitySide(
            kind, unit, None, side, weight_for, weight_against, reason, is_override
        )
        found.append(row)
        units.append(row)
        if kind != "alliance":
            continue
        for actor in sorted(actors_of_unit[unit]):
            if people.actor_kinds[actor] != "corporation":
                continue
            corporation_side = corporation_sides.get(actor, side)
            weight_for, weight_against, reason = evidence([actor], corporation_side)
            if reason == NO_CONTACT and actor not in corporation_sides:
                reason = f"{NO_CONTACT} of its own, so it stays with its alliance"
            is_override = ("corporation", actor) in overridden
            if is_override:
                reason = f"moved to side {corporation_side} by the user; {reason}"
            found.append(
                EntitySide(
                    "corporation",
                    actor,
                    unit,
                    corporation_side,
                    weight_for,
                    weight_against,
                    reason,
                    is_override,
                )
            )
    for character, side in sorted(character_sides.items()):
        corporation = people.corporation_of_character.get(character)
        found.append(
            EntitySide(
                "character",
                character,
                corporation,
                side,
                0.0,
                0.0,
                f"moved to side {side} by the user",
                True,
            )
        )
    return found, units


def _evidence(
    hostile: dict[int, float],
    fellow: dict[int, float],
    side: int,
    *,
    attacked: bool = True,
) -> tuple[float, float, str]:
    """Return the weights for and against ``side`` and the reason text.

    ``hostile`` and ``fellow`` map sides to ISK. Both get ``side`` added with
    0 ISK when it is missing, at the end, before the reason ranks the sides.
    An entity that never ``attacked`` only had its ships shot, so its reason
    names who shot them rather than sides it fought.
    """
    if not attacked and any(w > 0 for w in hostile.values()):
        return _victim_evidence(hostile, fellow, side)
    fellow.setdefault(side, 0.0)
    weight_for = fellow[side] + sum(w for s, w in hostile.items() if s != side)
    hostile.setdefault(side, 0.0)
    weight_against = hostile[side] + sum(w for s, w in fellow.items() if s != side)
    candidates = []
    for _, s in sorted([(-w, s) for s, w in hostile.items()])[:2]:
        if s != side:
            candidates.append((f"fought side {s}", hostile[s]))
    candidates.append((f"flew with side {side}", fellow[side]))
    candidates.append(("fought own side", hostile[side]))
    if len(fellow) > 1:
        _, s = min([(-w, s) for s, w in fellow.items()])
        if s != side:
            candidates.append((f"flew with side {s}", fellow[s]))
    # An unvalued kill weighs 1 ISK split among its attackers, so a weight
    # can be above 0 and still show as "0", which reads as no evidence.
    amounts = [(label, format_isk(weight)) for label, weight in candidates]
    parts = [f"{label} ({amount})" for label, amount in amounts if amount != "0"]
    hostile_contact = any(w > 0 for w in hostile.values())
    if not hostile_contact and any(w > 0 for w in fellow.values()):
        # Placed by fellowship alone, as a tackler that did no damage is.
        if not parts:
            _, s = min((-w, s) for s, w in fellow.items())
            parts.append(f"flew with side {s} (under 1 ISK)")
        parts.append("no hostile contact")
        reason = "; ".join(parts)
    elif parts:
        reason = "; ".join(parts)
    elif hostile_contact:
        reason = "only contact worth under 1 ISK"
    else:
        reason = NO_CONTACT
    return weight_for, weight_against, reason


def _victim_evidence(
    hostile: dict[int, float], fellow: dict[int, float], side: int
) -> tuple[float, float, str]:
    """Return the weights and reason of an entity that only lost ships."""
    weight_for = fellow.get(side, 0.0) + sum(w for s, w in hostile.items() if s != side)
    weight_against = hostile.get(side, 0.0) + sum(
        w for s, w in fellow.items() if s != side
    )
    parts = [VICTIM_ONLY]
    for _, s in sorted((-w, s) for s, w in hostile.items() if w > 0):
        shooter = "own side" if s == side else f"side {s}"
        weight = hostile[s]
        amount = format_isk(weight)
        if amount == "0":
            amount = "under 1 ISK"
        parts.append(f"shot by {shooter} ({amount})")
    return weight_for, weight_against, "; ".join(parts)


def format_isk(value: float) -> str:
    """Format ISK with one digit after the point, as battle texts show it (``1.2b``)."""
    return text.format_isk(value, decimals=1)

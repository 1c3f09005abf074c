"""Clustering of kills into battles; pure functions, no database.

The steps, with the parameters of :class:`BattleParameters`:

1. :func:`candidate_windows`: per system, segments of ``segment_minutes``
   with at least ``segment_min_kills`` player kills, joined while less than
   ``quiet_minutes`` apart, widened by ``quiet_minutes`` on both sides. Only
   kills inside a window are read in detail.
2. :func:`engagements`: inside a window, two groups (alliance, else player
   corporation, else character) are linked when one killed at least
   ``link_min_kills`` distinct pilots of the other; linked groups form one
   engagement. A kill belongs to the engagement of its victim, or, when the
   victim is linked to nobody, to that of its main attacker group. Unrelated
   kills at a trade hub or a gate camp therefore do not glue into one battle.
3. :func:`active_runs`: the activity rule from step 1 applied again to the
   kills of one engagement, plus kills chained at most ``edge_minutes``
   apart before and after, and at least ``hour_min_kills`` kills within
   some 60 minutes.
4. :func:`merge_pieces`: pieces in systems at most ``merge_max_jumps``
   stargate jumps apart, overlapping in time (``merge_gap_minutes`` slack)
   and sharing ``merge_min_shared_pilots`` pilots (and
   ``merge_min_shared_fraction`` of the smaller one) become one battle.
   Wormhole systems have no gates, so they never merge with another system.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from evedmv_tui.battles.model import (
    NPC_CHARACTERS,
    NPC_CORPORATIONS,
    Cluster,
    Kill,
    top_player_damage,
)
from evedmv_tui.battles.parameters import BattleParameters


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """A time range of one system that may hold a battle."""

    solar_system_id: int
    start: dt.datetime
    end: dt.datetime


def candidate_windows(
    segment_counts: Iterable[tuple[int, int, int]], params: BattleParameters
) -> list[Window]:
    """Return windows from ``(system, segment number, kills)`` of active segments.

    Segment number ``n`` covers ``n * segment_minutes`` minutes from the Unix
    epoch. Rows with fewer than ``segment_min_kills`` kills are skipped.
    """
    by_system: dict[int, list[int]] = collections.defaultdict(list)
    for system, segment, kills in segment_counts:
        if kills >= params.segment_min_kills:
            by_system[system].append(segment)
    seconds = params.segment_minutes * 60
    quiet = params.quiet_minutes * 60
    windows = []
    for system in sorted(by_system):
        segments = sorted(by_system[system])
        spans: list[list[float]] = []
        for segment in segments:
            low = float(segment * seconds - quiet)
            high = float((segment + 1) * seconds + quiet)
            if spans and low <= spans[-1][1]:
                spans[-1][1] = high
            else:
                spans.append([low, high])
        for low, high in spans:
            windows.append(
                Window(
                    system,
                    dt.datetime.fromtimestamp(low, dt.UTC),
                    dt.datetime.fromtimestamp(high, dt.UTC),
                )
            )
    return windows


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        parent = self.parent.setdefault(item, item)
        if parent != item:
            root = self.find(parent)
            self.parent[item] = root
            return root
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            # The smaller id becomes the root, so the result is deterministic.
            low, high = sorted((root_a, root_b))
            self.parent[high] = low


def engagements(kills: Sequence[Kill], params: BattleParameters) -> list[list[Kill]]:
    """Split the player kills of one system window into engagements.

    Returns the engagements in order of their first kill, each in time order.
    """
    # One pass per kill does what Kill.is_player_kill, significant_attackers
    # and attacker_group do, without a method call per attacker: this loop
    # is most of the time spent on pieces.
    share = params.negligible_damage_share
    npc_characters = NPC_CHARACTERS
    npc_corporations = NPC_CORPORATIONS
    player_kills: list[tuple[Kill, int]] = []
    victims_by_pair: dict[tuple[int, int], set[int]] = collections.defaultdict(set)
    main_attacker: dict[int, int | None] = {}
    for kill in kills:
        victim = kill.victim_group
        if victim is None:
            continue
        characters = kill.attacker_character_ids
        if not any(c is not None and c not in npc_characters for c in characters):
            continue
        player_kills.append((kill, victim))
        damage = kill.attacker_damage
        top = top_player_damage(characters, damage)
        threshold = share * top
        final_blows = kill.attacker_final_blows
        alliances = kill.attacker_alliance_ids
        corporations = kill.attacker_corporation_ids
        pilot = kill.victim_character_id or kill.killmail_id
        damage_by_group: dict[int, int] = {}
        for character, done, final_blow, alliance, corporation in zip(
            characters, damage, final_blows, alliances, corporations, strict=True
        ):
            if character is None or character in npc_characters:
                continue
            if top > 0:
                if done <= 0 or done < threshold:
                    continue
            elif not final_blow:
                continue
            # group_of, which never returns None for a player character.
            if alliance:
                group = alliance
            elif corporation and corporation not in npc_corporations:
                group = corporation
            else:
                group = character
            if group == victim:
                continue
            damage_by_group[group] = damage_by_group.get(group, 0) + done + 1
            pair = (group, victim) if group < victim else (victim, group)
            victims_by_pair[pair].add(pilot)
        if len(damage_by_group) > 1:
            main_attacker[kill.killmail_id] = min(
                damage_by_group, key=lambda g: (-damage_by_group[g], g)
            )
        else:
            main_attacker[kill.killmail_id] = next(iter(damage_by_group), None)
    groups = _UnionFind()
    linked: set[int] = set()
    for (a, b), pilots in sorted(victims_by_pair.items()):
        if len(pilots) >= params.link_min_kills:
            groups.union(a, b)
            linked.update((a, b))
    members: dict[int, list[Kill]] = collections.defaultdict(list)
    for kill, victim in player_kills:
        attacker = main_attacker[kill.killmail_id]
        if victim in linked or attacker is None or attacker not in linked:
            members[groups.find(victim)].append(kill)
        else:
            members[groups.find(attacker)].append(kill)
    found = [sorted(group, key=_kill_order) for group in members.values()]
    found.sort(key=lambda group: _kill_order(group[0]))
    return found


_kill_order: Callable[[Kill], tuple[dt.datetime, int]] = operator.attrgetter(
    "killmail_time", "killmail_id"
)
"""Sort key of kills in time order, by time and then by id."""


def active_runs(kills: Sequence[Kill], params: BattleParameters) -> list[list[Kill]]:
    """Return the runs of activity in the time-ordered ``kills`` of one engagement."""
    if not kills:
        return []
    seconds = params.segment_minutes * 60
    times = [k.timestamp for k in kills]
    counts = collections.Counter(int(t // seconds) for t in times)
    active = sorted(s for s, n in counts.items() if n >= params.segment_min_kills)
    if not active:
        return []
    quiet_segments = params.quiet_minutes * 60 / seconds
    cores: list[list[int]] = []
    for segment in active:
        if cores and segment - cores[-1][1] - 1 < quiet_segments:
            cores[-1][1] = segment
        else:
            cores.append([segment, segment])
    # Index ranges [first, last] of each core's kills.
    spans = []
    for first_segment, last_segment in cores:
        first = bisect.bisect_left(times, first_segment * seconds)
        last = bisect.bisect_left(times, (last_segment + 1) * seconds) - 1
        spans.append([first, last])
    _extend_edges(times, spans, params.edge_minutes * 60.0)
    runs = []
    for first, last in spans:
        run = list(kills[first : last + 1])
        if _max_kills_in_hour(times[first : last + 1]) >= params.hour_min_kills:
            runs.append(run)
    return runs


def _extend_edges(times: Sequence[float], spans: list[list[int]], edge: float) -> None:
    """Widen each ``[first, last]`` span over kills chained at most ``edge`` apart.

    When the kills between two spans are chained all the way, they are split
    at the widest gap between them.
    """
    cores = [tuple(span) for span in spans]
    for number, (first, last) in enumerate(cores):
        floor = cores[number - 1][1] + 1 if number else 0
        ceiling = (
            cores[number + 1][0] - 1 if number + 1 < len(cores) else len(times) - 1
        )
        low = first
        while low > floor and times[low] - times[low - 1] <= edge:
            low -= 1
        high = last
        while high < ceiling and times[high + 1] - times[high] <= edge:
            high += 1
        spans[number] = [low, high]
    for number in range(len(spans) - 1):
        left, right = spans[number], spans[number + 1]
        if left[1] + 1 >= right[0] and left[1] >= cores[number + 1][0] - 1:
            # Chained through: cut the region between the cores at its widest gap.
            region = range(cores[number][1], cores[number + 1][0])
            cut = max(region, key=lambda i: (times[i + 1] - times[i], -i))
            left[1] = cut
            right[0] = cut + 1


def _max_kills_in_hour(times: Sequence[float]) -> int:
    best = 0
    start = 0
    for end, time in enumerate(times):
        while time - times[start] > 3600:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclasses.dataclass(slots=True)
class Piece:
    """One engagement's run in one system, before systems are merged."""

    solar_system_id: int
    kills: list[Kill]
    pilots: set[int]

    @property
    def start(self) -> float:
        return self.kills[0].timestamp

    @property
    def end(self) -> float:
        return self.kills[-1].timestamp


def pieces_of_window(kills: Sequence[Kill], params: BattleParameters) -> list[Piece]:
    """Return the battle pieces among the kills of one system window."""
    found = []
    for engagement in engagements(kills, params):
        for run in active_runs(engagement, params):
            # The union of Kill.pilots of the run, with each id checked once.
            seen: set[int | None] = set()
            for kill in run:
                seen.update(kill.attacker_character_ids)
                seen.add(kill.victim_character_id)
            pilots = {c for c in seen if c is not None and c not in NPC_CHARACTERS}
            found.append(Piece(run[0].solar_system_id, run, pilots))
    return found


def split_by_window(
    kills: Sequence[Kill], windows: Sequence[Window]
) -> list[list[Kill]]:
    """Group kills by the window of their system that contains them.

    ``kills`` are in time order and the windows of one system do not overlap,
    as :func:`candidate_windows` makes them. One pass over the kills moves a
    cursor through each system's windows sorted by start, so the cost is
    linear in kills plus windows. Kills outside every window are dropped.
    Returns the non-empty groups ordered by system, then window start, each
    in the order of ``kills``.
    """
    by_system: dict[int, list[Window]] = collections.defaultdict(list)
    for window in windows:
        by_system[window.solar_system_id].append(window)
    for listed in by_system.values():
        listed.sort(key=lambda w: w.start)
    cursor: dict[int, int] = dict.fromkeys(by_system, 0)
    groups: dict[tuple[int, dt.datetime], list[Kill]] = {}
    for kill in kills:
        system = kill.solar_system_id
        system_windows = by_system.get(system)
        if system_windows is None:
            continue
        index = cursor[system]
        time = kill.killmail_time
        while index < len(system_windows) and system_windows[index].end < time:
            index += 1
        cursor[system] = index
        if index == len(system_windows) or system_windows[index].start > time:
            continue
        key = (system, system_windows[index].start)
        group = groups.get(key)
        if group is None:
            groups[key] = [kill]
        else:
            group.append(kill)
    return [groups[key] for key in sorted(groups)]


class PieceOutline(Protocol):
    """The system, time span and pilots of a piece, as merging reads them."""

    @property
    def solar_system_id(self) -> int: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    @property
    def pilots(self) -> set[int]: ...


def merge_order(piece: PieceOutline) -> tuple[float, int, float]:
    """Return the sort key that :func:`merge_pieces` orders pieces by."""
    return piece.start, piece.solar_system_id, piece.end


def pieces_link(
    first: PieceOutline,
    second: PieceOutline,
    params: BattleParameters,
    neighbours: Mapping[int, frozenset[int]],
) -> bool:
    """Return whether :func:`merge_pieces` joins two pieces directly.

    ``first`` must not sort after ``second`` by :func:`merge_order`.
    """
    if second.start > first.end + params.merge_gap_minutes * 60.0:
        return False
    if second.solar_system_id == first.solar_system_id:
        return False
    if second.solar_system_id not in neighbours.get(first.solar_system_id, frozenset()):
        return False
    shared = len(first.pilots & second.pilots)
    smaller = min(len(first.pilots), len(second.pilots))
    return (
        shared >= params.merge_min_shared_pilots
        and shared >= params.merge_min_shared_fraction * smaller
    )


def merge_pieces(
    pieces: Sequence[Piece],
    params: BattleParameters,
    neighbours: Mapping[int, frozenset[int]],
) -> list[Cluster]:
    """Merge pieces that are near in space and time and share pilots.

    ``neighbours`` maps a system to the systems at most ``merge_max_jumps``
    jumps away; a system missing from it (wormhole space) merges with none.
    """
    ordered = sorted(pieces, key=merge_order)
    slack = params.merge_gap_minutes * 60.0
    merged = _UnionFind()
    for index in range(len(ordered)):
        merged.find(index)
    for index, piece in enumerate(ordered):
        for other_index in range(index + 1, len(ordered)):
            other = ordered[other_index]
            if other.start > piece.end + slack:
                break
            if pieces_link(piece, other, params, neighbours):
                merged.union(index, other_index)
    groups: dict[int, list[Kill]] = collections.defaultdict(list)
    for index, piece in enumerate(ordered):
        groups[merged.find(index)].extend(piece.kills)
    clusters = [Cluster(tuple(sorted(g, key=_kill_order))) for g in groups.values()]
    clusters.sort(key=lambda c: (c.start, c.kills[0].killmail_id))
    return clusters


def neighbourhoods(
    jumps: Iterable[tuple[int, int]], systems: Iterable[int], max_jumps: int
) -> dict[int, frozenset[int]]:
    """Return the systems within ``max_jumps`` stargate jumps of each of ``systems``."""
    graph: dict[int, list[int]] = collections.defaultdict(list)
    for source, target in jumps:
        graph[source].append(target)
    found = {}
    for system in systems:
        if system not in graph:
            continue
        seen = {system}
        frontier = [system]
        for _ in range(max_jumps):
            frontier = [n for s in frontier for n in graph[s] if n not in seen]
            seen.update(frontier)
        found[system] = frozenset(seen - {system})
    return found

"""Static data that battle detection reads, kept in memory between batches.

Every import batch needs the stargate graph, the region of each system and
the group of each ship type. Those tables change only when static data is
imported, and migration 0103 gives them a token that every write replaces.
:func:`static_data` compares the stored token with the one of the copy in
memory and reads the tables again only when they differ.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from evedmv_tui import ship_classes
from evedmv_tui.battles.metrics import ShipType
from evedmv_tui.store.db import Database, load_sql

_PACKAGE = "evedmv_tui.battles"


class JumpGraph:
    """The stargate jumps as adjacency lists, with neighbourhoods memoized."""

    def __init__(self, jumps: Iterable[tuple[int, int]]) -> None:
        self.jumps: tuple[tuple[int, int], ...] = tuple(jumps)
        forward: dict[int, list[int]] = collections.defaultdict(list)
        both_ways: dict[int, list[int]] = collections.defaultdict(list)
        for source, target in self.jumps:
            forward[source].append(target)
            both_ways[source].append(target)
            both_ways[target].append(source)
        self._graphs = {False: dict(forward), True: dict(both_ways)}
        self._memo: dict[tuple[bool, int, int], frozenset[int]] = {}

    def neighbourhoods(
        self, systems: Iterable[int], max_jumps: int, *, both_ways: bool = False
    ) -> dict[int, frozenset[int]]:
        """Return the systems within ``max_jumps`` jumps of each of ``systems``.

        The non-empty entries are those of
        :func:`~evedmv_tui.battles.cluster.neighbourhoods` over :attr:`jumps`,
        or over the jumps and their reverses with ``both_ways``. A system
        without an outgoing jump is left out, where that function sometimes
        maps it to an empty set; callers treat both alike.
        """
        graph = self._graphs[both_ways]
        found: dict[int, frozenset[int]] = {}
        for system in systems:
            if system not in graph:
                continue
            key = (both_ways, max_jumps, system)
            near = self._memo.get(key)
            if near is None:
                seen = {system}
                frontier = [system]
                for _ in range(max_jumps):
                    frontier = [
                        n for s in frontier for n in graph.get(s, ()) if n not in seen
                    ]
                    seen.update(frontier)
                near = frozenset(seen - {system})
                self._memo[key] = near
            found[system] = near
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class StaticData:
    """The static data of one token: jumps, system regions and ship types."""

    token: uuid.UUID | None
    jumps: JumpGraph
    regions: Mapping[int, int]
    """Region of each solar system."""
    ship_types: Mapping[int, ShipType]
    """Group, class and roles of each type."""

    def regions_of(self, system_ids: Iterable[int]) -> dict[int, int]:
        """Return the region of each of ``system_ids`` that :attr:`regions` has."""
        known = self.regions
        return {s: known[s] for s in set(system_ids) if s in known}


_lock = threading.Lock()
_cached: StaticData | None = None


def static_token(db: Database, conn: psycopg.Connection[Any]) -> uuid.UUID | None:
    """Return the current static data token."""
    token: uuid.UUID | None = db.fetch_value(
        load_sql(_PACKAGE, "static_token"), conn=conn
    )
    return token


def static_data(
    db: Database,
    conn: psycopg.Connection[Any],
    token: uuid.UUID | None = None,
) -> StaticData:
    """Return the static data of the database, reading it only when it changed.

    ``token`` is the stored token when the caller has already read it with
    :func:`static_token` in this transaction.
    """
    global _cached
    if token is None:
        token = static_token(db, conn)
    cached = _cached
    if token is not None and cached is not None and cached.token == token:
        return cached
    # One statement reads the token with the tables, so both come from one
    # snapshot even when a static data import commits in between.
    (row,) = db.fetch_all(load_sql(_PACKAGE, "static_data"), conn=conn, binary=True)
    loaded = _build(*row)
    if loaded.token is not None:
        with _lock:
            _cached = loaded
    return loaded


def _build(
    token: uuid.UUID | None,
    jump_sources: Sequence[int] | None,
    jump_targets: Sequence[int] | None,
    system_ids: Sequence[int] | None,
    region_ids: Sequence[int] | None,
    type_ids: Sequence[int] | None,
    group_ids: Sequence[int] | None,
    category_ids: Sequence[int | None] | None,
) -> StaticData:
    jumps = zip(jump_sources or (), jump_targets or (), strict=True)
    regions = dict(zip(system_ids or (), region_ids or (), strict=True))
    ship_types = {
        type_id: ShipType(
            group_id,
            ship_classes.ship_class(group_id, category_id),
            ship_classes.roles(group_id),
        )
        for type_id, group_id, category_id in zip(
            type_ids or (), group_ids or (), category_ids or (), strict=True
        )
    }
    return StaticData(token, JumpGraph(jumps), regions, ship_types)

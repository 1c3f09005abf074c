"""The stored rows of detected battles, built in this process or in a pool.

Side assignment and metrics are pure functions of a battle's kills, so the
rows of many battles can be built in worker processes. The workers are
forked after the battles are found: they inherit the clusters and pieces
instead of receiving them pickled. Only the battle rows and the other
tables' binary COPY data come back.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import gc
import json
import multiprocessing
import os
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from evedmv_tui.battles import copydata
from evedmv_tui.battles.cluster import Piece
from evedmv_tui.battles.metrics import ShipType, build_metrics
from evedmv_tui.battles.model import Cluster
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.sides import Override, SideAssignment, assign_sides

POOL_MIN_KILLS = 20_000
"""Kills to rewrite below which rows are built in this process, because
starting the workers costs more than they save."""
CHUNK_KILLS = 5_000
"""Kills per chunk of battles that a worker builds and returns at once."""

Row = tuple[Any, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class RowContext:
    """Inputs of a battle's rows other than its kills."""

    params: BattleParameters
    ship_types: Mapping[int, ShipType]
    regions: Mapping[int, int]
    """Region of each solar system."""
    piece_of: Mapping[int, Piece]
    """Piece of each killmail of the clusters."""


@dataclasses.dataclass(frozen=True, slots=True)
class Task:
    """One battle to write: its cluster's index, id, overrides and flag."""

    index: int
    battle_id: int
    overrides: Sequence[Override]
    changed: bool
    """Whether a closed battle gained or lost kills."""


@dataclasses.dataclass(slots=True)
class BattleRows:
    """Rows for ``battles``, ``battle_killmails``, ``battle_sides``,
    ``battle_entities`` and ``battle_pieces``."""

    battles: list[Row] = dataclasses.field(default_factory=list)
    members: list[Row] = dataclasses.field(default_factory=list)
    sides: list[Row] = dataclasses.field(default_factory=list)
    entities: list[Row] = dataclasses.field(default_factory=list)
    pieces: list[Row] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class EncodedRows:
    """Rows for ``battles``, and the other tables' rows as binary COPY data."""

    battles: list[Row]
    copies: tuple[copydata.CopyData, ...]
    """Members, sides, entities and pieces, in the order they are written."""


def encode_rows(rows: BattleRows) -> EncodedRows:
    """Format the member, side, entity and piece rows as binary COPY data."""
    return EncodedRows(
        rows.battles,
        (
            copydata.encode(copydata.MEMBERS, rows.members),
            copydata.encode(copydata.SIDES, rows.sides),
            copydata.encode(copydata.ENTITIES, rows.entities),
            copydata.encode(copydata.PIECES, rows.pieces),
        ),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class StoredRows:
    """Stored rows of some battles, each keyed by its table's primary key.

    The rows have the columns of :class:`BattleRows`, so a stored row that
    equals its new version needs no write.
    """

    members: dict[Any, Row]
    sides: dict[Any, Row]
    entities: dict[Any, Row]
    pieces: dict[Any, Row]


@dataclasses.dataclass(frozen=True, slots=True)
class RowChanges:
    """Keys of the stored rows to delete and the new rows to insert."""

    members: list[Any]
    sides: list[Any]
    entities: list[Any]
    pieces: list[Any]
    inserts: BattleRows


def member_key(row: Row) -> Any:
    return row[0]


def side_key(row: Row) -> Any:
    return row[0], row[1]


def entity_key(row: Row) -> Any:
    return row[0], row[1], row[2]


def piece_key(row: Row) -> Any:
    return row[0]


def row_changes(
    stored: StoredRows, battle_ids: set[int], rows: BattleRows
) -> RowChanges:
    """Compare the new ``rows`` with the stored rows of ``battle_ids``.

    ``battle_ids`` are the stored battles whose rows the new rows replace.
    Their stored rows without an equal new row under the same key are
    deleted. Every new row without an equal stored row is inserted, so the
    tables end as if the battles were written in full.
    """
    inserts = BattleRows(battles=rows.battles)
    members = _changes(
        stored.members, battle_ids, rows.members, member_key, 2, inserts.members
    )
    sides = _changes(stored.sides, battle_ids, rows.sides, side_key, 0, inserts.sides)
    entities = _changes(
        stored.entities,
        battle_ids,
        rows.entities,
        entity_key,
        0,
        inserts.entities,
        _ENTITY_REAL_COLUMNS,
    )
    pieces = _changes(
        stored.pieces, battle_ids, rows.pieces, piece_key, 1, inserts.pieces
    )
    return RowChanges(members, sides, entities, pieces, inserts)


_ENTITY_REAL_COLUMNS = (7,)
"""Columns of entity rows stored as ``real``: ``confidence``."""


def _changes(
    stored: Mapping[Any, Row],
    battle_ids: set[int],
    new_rows: Sequence[Row],
    key_of: Callable[[Row], Any],
    battle_column: int,
    inserts: list[Row],
    real_columns: Sequence[int] = (),
) -> list[Any]:
    """Append the rows of ``new_rows`` to write to ``inserts``.

    Returns the keys of the stored rows of ``battle_ids`` to delete.
    """
    kept: set[Any] = set()
    for row in new_rows:
        key = key_of(row)
        old = stored.get(key)
        if (
            old is not None
            and old[battle_column] in battle_ids
            and _same(old, row, real_columns)
        ):
            kept.add(key)
        else:
            inserts.append(row)
    return [
        key
        for key, row in stored.items()
        if row[battle_column] in battle_ids and key not in kept
    ]


def _same(stored: Row, row: Row, real_columns: Sequence[int]) -> bool:
    """Return whether writing ``row`` would store the values of ``stored``."""
    if not real_columns:
        return stored == row
    for column, (old, new) in enumerate(zip(stored, row, strict=True)):
        if column in real_columns and old is not None and new is not None:
            # psycopg reads a real as the double of its shortest decimal text,
            # so both sides are compared in single precision.
            old, new = _as_real(old), _as_real(new)
            if old is None or new is None:
                return False
        if old != new:
            return False
    return True


def _as_real(value: float) -> float | None:
    """Return ``value`` rounded to single precision as the server stores it.

    The server parses the decimal text of the double (``repr``), not the
    double. The two round the same way except when the double lies exactly
    halfway between two single-precision values, so None marks that case
    as unknown.
    """
    rounded = float(struct.unpack("f", struct.pack("f", value))[0])
    if rounded == value:
        return rounded
    step = abs(rounded - value)
    (other,) = struct.unpack(
        "f", struct.pack("f", value + step if rounded < value else value - step)
    )
    if other != rounded and abs(other - value) == step:
        return None
    return rounded


def pool_size(workers: int | None) -> int:
    """Return the worker processes to use: ``workers``, or one per core for None."""
    if workers is None:
        return os.cpu_count() or 1
    return max(workers, 1)


def build_battle_rows(
    context: RowContext, clusters: Sequence[Cluster], tasks: Sequence[Task]
) -> BattleRows:
    """Build the rows of ``tasks`` in this process."""
    rows = BattleRows()
    for task in tasks:
        _add_battle(context, clusters[task.index], task, rows)
    return rows


def build_rows(
    context: RowContext,
    clusters: Sequence[Cluster],
    tasks: Sequence[Task],
    workers: int,
    write: Callable[[EncodedRows], None],
) -> None:
    """Build and encode the rows of ``tasks`` and pass them to ``write``.

    With more than one worker and at least :data:`POOL_MIN_KILLS` kills, the
    rows are built and encoded in chunks by a pool of ``workers`` forked
    processes, and ``write`` gets each chunk in order as it is ready, so
    writing overlaps building. Otherwise ``write`` gets every row at once.
    The rows are the same either way, only split differently.
    """
    kills = sum(len(clusters[task.index].kills) for task in tasks)
    if (
        workers <= 1
        or kills < POOL_MIN_KILLS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        write(encode_rows(build_battle_rows(context, clusters, tasks)))
        return
    global _shared
    _shared = (context, clusters, tasks)
    # Objects that exist at the fork are never collected in the workers, so
    # their collector does not copy the inherited pages or finalize a
    # database connection that the parent still uses.
    # NOTE: the caller may run other threads, such as the connection pool's.
    # Forked workers get only this thread, and they run side assignment and
    # metrics, which take no lock that another thread could hold at the fork.
    gc.freeze()
    try:
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            for rows in pool.map(_build_chunk, _chunks(clusters, tasks)):
                write(rows)
    finally:
        gc.unfreeze()
        _shared = None


_shared: tuple[RowContext, Sequence[Cluster], Sequence[Task]] | None = None
"""The input of the pool's workers, set before they are forked."""


def _chunks(
    clusters: Sequence[Cluster], tasks: Sequence[Task]
) -> Iterator[tuple[int, int]]:
    """Yield ranges of ``tasks`` of about :data:`CHUNK_KILLS` kills each."""
    start = 0
    kills = 0
    for number, task in enumerate(tasks):
        kills += len(clusters[task.index].kills)
        if kills >= CHUNK_KILLS:
            yield start, number + 1
            start = number + 1
            kills = 0
    if start < len(tasks):
        yield start, len(tasks)


def _build_chunk(bounds: tuple[int, int]) -> EncodedRows:
    assert _shared is not None, "workers must be forked after _shared is set"
    context, clusters, tasks = _shared
    start, end = bounds
    return encode_rows(build_battle_rows(context, clusters, tasks[start:end]))


def _add_battle(
    context: RowContext, cluster: Cluster, task: Task, rows: BattleRows
) -> None:
    params = context.params
    battle_id = task.battle_id
    sides = assign_sides(cluster.kills, params, task.overrides)
    metrics = build_metrics(cluster.kills, sides, context.ship_types, params)
    rows.battles.append(
        _battle_row(battle_id, cluster, metrics, sides, context.regions, task.changed)
    )
    piece_of = context.piece_of
    for kill in cluster.kills:
        rows.members.append(
            (
                kill.killmail_id,
                kill.killmail_time,
                battle_id,
                sides.side_of(
                    kill.victim_alliance_id,
                    kill.victim_corporation_id,
                    kill.victim_character_id,
                ),
                kill.solar_system_id,
                kill.victim_character_id,
                kill.victim_corporation_id,
                kill.victim_alliance_id,
                kill.victim_ship_type_id,
                kill.total_value,
                kill.final_blow_character_id,
                len(kill.attacker_damage),
                piece_of[kill.killmail_id].kills[0].killmail_id,
            )
        )
    rows.pieces.extend(_piece_rows(battle_id, cluster, piece_of))
    rows.sides.extend(_side_rows(battle_id, metrics))
    rows.entities.extend(_entity_rows(battle_id, sides))


def _battle_row(
    battle_id: int,
    cluster: Cluster,
    metrics: Mapping[str, Any],
    sides: SideAssignment,
    regions: Mapping[int, int],
    changed: bool,
) -> Row:
    systems = list(cluster.solar_system_ids)
    return (
        battle_id,
        cluster.start,
        cluster.end,
        json.dumps(systems),
        json.dumps(sorted({regions[s] for s in systems if s in regions})),
        len(cluster.kills),
        metrics["pilots"],
        metrics["isk_destroyed"],
        sides.side_count,
        metrics["kind"],
        sides.confidence,
        changed,
        json.dumps(metrics),
    )


def _side_rows(battle_id: int, metrics: Mapping[str, Any]) -> list[Row]:
    return [
        (
            battle_id,
            side["side"],
            side["pilots"],
            side["ships_lost"],
            side["isk_lost"],
            side["isk_destroyed"],
            side["efficiency"],
            side["third_party"],
        )
        for side in metrics["sides"]
    ]


def _piece_rows(
    battle_id: int, cluster: Cluster, piece_of: Mapping[int, Piece]
) -> list[Row]:
    found: dict[int, Piece] = {}
    for kill in cluster.kills:
        piece = piece_of[kill.killmail_id]
        found.setdefault(piece.kills[0].killmail_id, piece)
    return [
        (
            piece_id,
            battle_id,
            piece.solar_system_id,
            piece.kills[0].killmail_time,
            piece.kills[-1].killmail_time,
            sorted(piece.pilots),
        )
        for piece_id, piece in found.items()
    ]


def _entity_rows(battle_id: int, sides: SideAssignment) -> list[Row]:
    return [
        (
            battle_id,
            e.entity_kind,
            e.entity_id,
            e.parent_id,
            e.side_no,
            e.weight_for,
            e.weight_against,
            e.confidence,
            e.reason,
            e.overridden,
        )
        for e in sides.entities
    ]

"""The pieces that incremental detection reclusters after new kills arrive.

Full detection builds pieces per system window and merges them across
systems (:mod:`evedmv_tui.battles.cluster`). New kills can only change the
windows of their own systems that contain them, because windows depend on
one system's kill counts alone and only grow when kills are added. So
:func:`plan_batch` rebuilds the pieces of those windows from their kills and
takes every other piece, with its pilots, from ``battle_pieces``, including
the pieces of windows near the new kills that gained none:

* the stored battles that held a piece of a rebuilt window may split, so all
  their other pieces join the merge;
* a stored battle with a piece that links directly to a rebuilt piece
  (:func:`~evedmv_tui.battles.cluster.pieces_link`) may join it, so all its
  pieces join the merge too.

No other stored battle can change: its pieces are the same and no longer
link to anything they did not link to before. Merging the rebuilt and the
joined pieces therefore gives the same battles as a full detection.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import psycopg
from psycopg.rows import BaseRowFactory, RowMaker, args_row, tuple_row

from evedmv_tui.battles.cluster import (
    Piece,
    PieceOutline,
    Window,
    candidate_windows,
    merge_order,
    pieces_link,
    pieces_of_window,
    split_by_window,
)
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.battles.rows import (
    StoredRows,
    entity_key,
    piece_key,
    side_key,
)
from evedmv_tui.battles.static import JumpGraph
from evedmv_tui.store.db import Database, NamedSql, Params, load_sql

_PACKAGE = "evedmv_tui.battles"

T = TypeVar("T")

_NO_ROWS = StoredRows({}, {}, {}, {})


@dataclasses.dataclass(frozen=True, slots=True)
class StoredPiece:
    """A piece of a stored battle, as stored in ``battle_pieces``."""

    piece_id: int
    battle_id: int
    solar_system_id: int
    start_time: dt.datetime
    end_time: dt.datetime
    pilots: set[int]

    @property
    def start(self) -> float:
        return self.start_time.timestamp()

    @property
    def end(self) -> float:
        return self.end_time.timestamp()


class StoredMember(NamedTuple):
    """A member of a stored battle, with the battle's end and every stored column.

    A named tuple, because a batch reads a thousand or more of them and a
    tuple is built several times faster than a frozen dataclass.
    """

    battle_id: int
    end_time: dt.datetime
    killmail_id: int
    killmail_time: dt.datetime
    piece_id: int | None
    side_no: int | None
    solar_system_id: int
    victim_character_id: int | None
    victim_corporation_id: int | None
    victim_alliance_id: int | None
    victim_ship_type_id: int
    total_value: float
    final_blow_character_id: int | None
    attacker_count: int

    def row(self) -> tuple[Any, ...]:
        """Return the member's row in the columns of ``copydata.MEMBERS``."""
        return (
            self.killmail_id,
            self.killmail_time,
            self.battle_id,
            self.side_no,
            self.solar_system_id,
            self.victim_character_id,
            self.victim_corporation_id,
            self.victim_alliance_id,
            self.victim_ship_type_id,
            self.total_value,
            self.final_blow_character_id,
            self.attacker_count,
            self.piece_id,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class BatchPlan:
    """Pieces to merge after new kills and the stored battles they replace."""

    pieces: list[Piece]
    """The rebuilt pieces, then the other pieces of ``battle_ids``."""
    battle_ids: list[int]
    kills_read: int
    """Kills read in detail: those of the rebuilt windows and the other pieces."""
    members: list[StoredMember]
    """Every member of ``battle_ids``."""
    override_rows: list[tuple[Any, ...]]
    """The rows of ``overrides_load.sql`` for ``battle_ids``."""
    stored_rows: StoredRows
    """The members, sides, entities and pieces of ``battle_ids``."""


def plan_batch(
    db: Database,
    conn: psycopg.Connection[Any],
    touched: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    jumps: JumpGraph,
    params: BattleParameters,
) -> BatchPlan:
    """Return the pieces to merge after the killmails ``touched`` changed.

    Only kills of ``touched`` between ``start`` and ``end`` count. The
    windows that contain one of them are rebuilt from their kills and
    replace every stored piece inside them. The stored battles that held
    such a piece, or that link to a rebuilt piece, join with their other
    pieces. A window that contains none of them has the same kills as at
    the last detection, so its stored pieces are still right.
    """
    points = _touched_points(db, conn, touched, start, end)
    ranges = {system: (times[0], times[-1]) for system, times in points.items()}
    windows = [
        w
        for w in affected_windows(db, conn, ranges, params)
        if _contains_any(w, points[w.solar_system_id])
    ]
    if not windows:
        return BatchPlan([], [], 0, [], [], _NO_ROWS)
    # TODO: a window that gains a few kills is read and clustered again in
    # full, such as 492 kills over 12 hours for 22 new ones in the 1M
    # benchmark database, which is most of a batch's reading.
    kills, stored = _read_windows(db, conn, windows, jumps, params)
    rebuilt = pieces_of_windows(kills, windows, params)
    removed = _inside_windows(stored, windows)
    removed_ids = {p.piece_id for p in removed}
    battle_ids = {p.battle_id for p in removed}
    candidates = [p for p in stored if p.piece_id not in removed_ids]
    battle_ids |= _linked_battles(rebuilt, candidates, jumps, params)
    if not battle_ids:
        return BatchPlan(rebuilt, [], len(kills), [], [], _NO_ROWS)
    ordered_ids = sorted(battle_ids)
    others, members, override_rows, stored_rows = _read_battles(
        db, conn, ordered_ids, removed_ids
    )
    kills_read = len(kills) + sum(len(p.kills) for p in others)
    return BatchPlan(
        [*rebuilt, *others],
        ordered_ids,
        kills_read,
        members,
        override_rows,
        stored_rows,
    )


def pieces_of_windows(
    kills: Sequence[Kill], windows: Sequence[Window], params: BattleParameters
) -> list[Piece]:
    """Return the pieces of each window, ordered by system, then window start."""
    pieces: list[Piece] = []
    for window_kills in split_by_window(kills, windows):
        pieces.extend(pieces_of_window(window_kills, params))
    return pieces


def _touched_points(
    db: Database,
    conn: psycopg.Connection[Any],
    killmail_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
) -> dict[int, list[dt.datetime]]:
    """Return the sorted kill times of each system among ``killmail_ids``."""
    rows = db.fetch_all(
        load_sql(_PACKAGE, "touched_kills"),
        {"ids": sorted(killmail_ids), "start": start, "end": end},
        conn=conn,
    )
    found: dict[int, list[dt.datetime]] = collections.defaultdict(list)
    for system, time in rows:
        found[system].append(time)
    for times in found.values():
        times.sort()
    return dict(found)


def _contains_any(window: Window, times: Sequence[dt.datetime]) -> bool:
    """Return whether one of the sorted ``times`` lies in ``window``."""
    index = bisect.bisect_left(times, window.start)
    return index < len(times) and times[index] <= window.end


def affected_windows(
    db: Database,
    conn: psycopg.Connection[Any],
    ranges: Mapping[int, tuple[dt.datetime, dt.datetime]],
    params: BattleParameters,
) -> list[Window]:
    """Return the whole windows of each system that overlap its time range.

    Segment counts are read for the ranges widened by a pad. A window that
    reaches within merging distance of the pad's edge might continue beyond
    it, so its system is read again with a pad four times as wide.
    """
    if not ranges:
        return []
    start = min(low for low, _ in ranges.values())
    end = max(high for _, high in ranges.values())
    # NOTE: this relies on windows only growing. An updated killmail that
    # becomes an NPC kill can shrink a window, and stored pieces of the old
    # window outside the new one are then kept until a full detection.
    segment = dt.timedelta(minutes=params.segment_minutes)
    quiet = dt.timedelta(minutes=params.quiet_minutes)
    # An active segment beyond this distance from a window cannot join it.
    reach = quiet + 2 * segment
    pad = dt.timedelta(seconds=params.margin_seconds) + reach
    found: list[Window] = []
    pending = sorted(ranges)
    while pending:
        low, high = start - pad, end + pad
        rows = db.fetch_all(
            load_sql(_PACKAGE, "segment_counts"),
            {
                "segment_seconds": params.segment_minutes * 60,
                "min_kills": params.segment_min_kills,
                "start": low,
                "end": high,
                "systems": pending,
            },
            conn=conn,
        )
        windows = [
            w
            for w in candidate_windows(rows, params)
            if w.end >= ranges[w.solar_system_id][0]
            and w.start <= ranges[w.solar_system_id][1]
        ]
        unfinished = {
            w.solar_system_id
            for w in windows
            if w.start - reach < low or w.end + reach > high
        }
        found.extend(w for w in windows if w.solar_system_id not in unfinished)
        pending = sorted(unfinished)
        pad *= 4
    found.sort(key=lambda w: (w.solar_system_id, w.start))
    return found


def _read_windows(
    db: Database,
    conn: psycopg.Connection[Any],
    windows: Sequence[Window],
    jumps: JumpGraph,
    params: BattleParameters,
) -> tuple[list[Kill], list[StoredPiece]]:
    """Read the kills of ``windows`` and the stored pieces that may meet theirs.

    The stored pieces are those inside the windows and those in a system
    within ``merge_max_jumps`` jumps either way that overlap a window give or
    take ``merge_gap_minutes``. Any stored piece that links to a piece of a
    window is among them, because a piece lies inside its window. Both
    queries go to the server in one round trip.
    """
    slack = dt.timedelta(minutes=params.merge_gap_minutes)
    near = jumps.neighbourhoods(
        {w.solar_system_id for w in windows}, params.merge_max_jumps, both_ways=True
    )
    ranges: dict[int, tuple[dt.datetime, dt.datetime]] = {}

    def widen(system: int, low: dt.datetime, high: dt.datetime) -> None:
        if system in ranges:
            low = min(low, ranges[system][0])
            high = max(high, ranges[system][1])
        ranges[system] = (low, high)

    for window in windows:
        widen(window.solar_system_id, window.start, window.end)
        for system in near.get(window.solar_system_id, frozenset()):
            widen(system, window.start - slack, window.end + slack)
    systems = sorted(ranges)
    kill_rows, piece_rows = fetch_together(
        db,
        conn,
        [
            window_kills_read(windows),
            Read(
                load_sql(_PACKAGE, "pieces_overlapping"),
                {
                    "systems": systems,
                    "starts": [ranges[s][0] for s in systems],
                    "ends": [ranges[s][1] for s in systems],
                },
            ),
        ],
    )
    unique = {row[0]: row for row in piece_rows}
    return kill_rows, [_stored_piece(row) for row in unique.values()]


def _inside_windows(
    stored: Iterable[StoredPiece], windows: Sequence[Window]
) -> list[StoredPiece]:
    """Return the stored pieces that overlap a window of their system."""
    by_system: dict[int, list[Window]] = collections.defaultdict(list)
    for window in windows:
        by_system[window.solar_system_id].append(window)
    return [
        piece
        for piece in stored
        if any(
            piece.end_time >= w.start and piece.start_time <= w.end
            for w in by_system.get(piece.solar_system_id, ())
        )
    ]


def _stored_piece(row: Sequence[Any]) -> StoredPiece:
    piece_id, battle_id, system, start_time, end_time, pilots = row
    return StoredPiece(piece_id, battle_id, system, start_time, end_time, set(pilots))


def _linked_battles(
    rebuilt: Sequence[Piece],
    candidates: Sequence[StoredPiece],
    jumps: JumpGraph,
    params: BattleParameters,
) -> set[int]:
    """Return the battles of ``candidates`` with a piece that links to a rebuilt one."""
    if not rebuilt or not candidates:
        return set()
    near = jumps.neighbourhoods(
        {p.solar_system_id for p in rebuilt} | {p.solar_system_id for p in candidates},
        params.merge_max_jumps,
    )
    linked: set[int] = set()
    for candidate in candidates:
        if candidate.battle_id in linked:
            continue
        for piece in rebuilt:
            pair: list[PieceOutline] = [piece, candidate]
            first, second = sorted(pair, key=merge_order)
            if pieces_link(first, second, params, near):
                linked.add(candidate.battle_id)
                break
    return linked


def _read_battles(
    db: Database,
    conn: psycopg.Connection[Any],
    battle_ids: Sequence[int],
    removed_ids: set[int],
) -> tuple[list[Piece], list[StoredMember], list[tuple[Any, ...]], StoredRows]:
    """Read the stored battles that join the merge, in one round trip.

    Returns the pieces of ``battle_ids`` outside ``removed_ids`` with their
    kills, every member of the battles, their side overrides, and their
    stored rows.
    """
    piece_rows, members, kills, override_rows, side_rows, entity_rows = fetch_together(
        db,
        conn,
        [
            Read(load_sql(_PACKAGE, "pieces_of_battles"), (list(battle_ids),)),
            Read(
                load_sql(_PACKAGE, "members_of_battles"),
                {"ids": list(battle_ids)},
                row=StoredMember,
                binary=True,
            ),
            Read(
                kill_rows_sql("kills_of_battles"),
                {"battles": list(battle_ids), "pieces": sorted(removed_ids)},
                row=Kill,
                binary=True,
            ),
            Read(load_sql(_PACKAGE, "overrides_load"), (list(battle_ids),)),
            Read(load_sql(_PACKAGE, "sides_stored"), (list(battle_ids),), binary=True),
            Read(
                load_sql(_PACKAGE, "entities_stored"),
                (list(battle_ids),),
                binary=True,
            ),
        ],
    )
    stored_rows = StoredRows(
        {m.killmail_id: m.row() for m in members},
        {side_key(row): row for row in side_rows},
        {entity_key(row): row for row in entity_rows},
        {piece_key(row): row for row in piece_rows},
    )
    stored = {
        row[0]: _stored_piece(row) for row in piece_rows if row[0] not in removed_ids
    }
    piece_of = {
        m.killmail_id: m.piece_id
        for m in members
        if m.piece_id is not None and m.piece_id in stored
    }
    by_piece: dict[int, list[Kill]] = collections.defaultdict(list)
    for kill in kills:
        piece_id = piece_of.get(kill.killmail_id)
        if piece_id is not None:
            by_piece[piece_id].append(kill)
    pieces = [
        Piece(stored[piece_id].solar_system_id, piece_kills, stored[piece_id].pilots)
        for piece_id, piece_kills in by_piece.items()
    ]
    return pieces, members, override_rows, stored_rows


def record_row(cls: type[T]) -> BaseRowFactory[T]:
    """Return a row factory that passes each row's values to ``cls`` by position.

    The columns must have the names of the fields of ``cls``, a dataclass or
    a named tuple, in their order, or the factory raises TypeError. Building
    a :class:`Kill` by position took 4.3 µs against 7.9 µs with the keywords
    that psycopg's ``class_row`` passes (timeit, Python 3.11), which counts
    for the 700,000 kills of a full detection.
    """
    names: tuple[str, ...] = getattr(cls, "_fields", ())
    if not names:
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        names = tuple(field.name for field in fields)
    make_row = args_row(cls)

    def factory(cursor: Any) -> RowMaker[T]:
        description = cursor.description
        found = tuple(column.name for column in description or ())
        if description is not None and found != names:
            raise TypeError(f"columns {found} do not match the fields of {cls}")
        return make_row(cursor)

    return factory


@dataclasses.dataclass(frozen=True, slots=True)
class Read:
    """One query of :func:`fetch_together`."""

    query: NamedSql
    params: Params = None
    row: type[Any] | None = None
    """Record type of the rows; None gives tuples."""
    binary: bool = False


@functools.cache
def kill_rows_sql(name: str) -> NamedSql:
    """Return kill_rows.sql around the kills that ``<name>.sql`` chooses.

    The two reads of kills with their attackers differ only in which kills
    they choose, so the attacker arrays are written once.
    """
    outer = load_sql(_PACKAGE, "kill_rows").text
    inner = load_sql(_PACKAGE, name)
    return NamedSql(inner.name, outer.replace("{kills}", inner.text.rstrip()))


def window_kills_read(windows: Sequence[Window]) -> Read:
    """Return the read of every kill in ``windows``, with its attackers."""
    return Read(
        kill_rows_sql("window_kills"),
        {
            "systems": [w.solar_system_id for w in windows],
            "starts": [w.start for w in windows],
            "ends": [w.end for w in windows],
        },
        row=Kill,
        # Binary results cut client decoding: 0.9 s to 0.2 s for 48,751
        # kills of the bench/battles.py database.
        binary=True,
    )


def fetch_together(
    db: Database, conn: psycopg.Connection[Any], reads: Sequence[Read]
) -> list[list[Any]]:
    """Run ``reads`` in one pipeline and return the rows of each.

    The statements are sent together and the server returns every result in
    one round trip. Telemetry records them as one statement, because the
    server does not time them apart.
    """
    name = "+".join(read.query.name for read in reads)
    text = ";\n".join(read.query.text for read in reads)
    cursors: list[psycopg.Cursor[Any]] = []
    try:
        with db.timed(name, text) as box:
            with conn.pipeline():
                for read in reads:
                    factory = (
                        record_row(read.row) if read.row is not None else tuple_row
                    )
                    cursor = conn.cursor(row_factory=factory)
                    cursors.append(cursor)
                    cursor.execute(read.query.text, read.params, binary=read.binary)
            found = [cursor.fetchall() for cursor in cursors]
            box[0] = sum(len(rows) for rows in found)
    finally:
        for cursor in cursors:
            cursor.close()
    return found

"""The pieces that incremental detection reclusters after new kills arrive.

Full detection builds pieces per system window and merges them across
systems (:mod:`evedmv_tui.battles.cluster`). New kills can only change the
windows of their own systems that contain them, because windows depend on
one system's kill counts alone and only grow when kills are added. So
:func:`plan_batch` rebuilds the pieces of those windows from their kills and
takes every other piece, with its pilots, from ``battle_pieces``:

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

import collections
import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from evedmv_tui.battles.cluster import (
    Piece,
    PieceOutline,
    Window,
    candidate_windows,
    merge_order,
    neighbourhoods,
    pieces_link,
)
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import BattleParameters
from evedmv_tui.store.db import Database, load_sql

_PACKAGE = "evedmv_tui.battles"


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


@dataclasses.dataclass(frozen=True, slots=True)
class BatchPlan:
    """Pieces to merge after new kills and the stored battles they replace."""

    pieces: list[Piece]
    """The rebuilt pieces, then the other pieces of ``battle_ids``."""
    battle_ids: list[int]
    kills_read: int
    """Kills of the other pieces read in detail."""


@dataclasses.dataclass(frozen=True, slots=True)
class _MemberPiece:
    killmail_id: int
    killmail_time: dt.datetime
    piece_id: int


def plan_batch(
    db: Database,
    conn: psycopg.Connection[Any],
    windows: Sequence[Window],
    rebuilt: Sequence[Piece],
    jumps: Sequence[tuple[int, int]],
    params: BattleParameters,
) -> BatchPlan:
    """Return ``rebuilt`` plus the stored pieces that may merge with them.

    ``rebuilt`` are the new pieces of ``windows``, which come from
    :func:`affected_windows`. Every stored piece inside those windows is
    replaced by ``rebuilt``.
    """
    removed = _stored_pieces_overlapping(
        db, conn, [(w.solar_system_id, w.start, w.end) for w in windows]
    )
    removed_ids = {p.piece_id for p in removed}
    battle_ids = {p.battle_id for p in removed}
    battle_ids |= _linked_battles(db, conn, rebuilt, removed_ids, jumps, params)
    if not battle_ids:
        return BatchPlan(list(rebuilt), [], 0)
    others, kills_read = _other_pieces(db, conn, sorted(battle_ids), removed_ids)
    return BatchPlan([*rebuilt, *others], sorted(battle_ids), kills_read)


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


def touched_ranges(
    db: Database,
    conn: psycopg.Connection[Any],
    killmail_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
) -> dict[int, tuple[dt.datetime, dt.datetime]]:
    """Return each system's time range of the killmails found in ``start``..``end``."""
    rows = db.fetch_all(
        load_sql(_PACKAGE, "touched_ranges"),
        {"ids": sorted(killmail_ids), "start": start, "end": end},
        conn=conn,
    )
    return {system: (low, high) for system, low, high in rows}


def _stored_pieces_overlapping(
    db: Database,
    conn: psycopg.Connection[Any],
    ranges: Iterable[tuple[int, dt.datetime, dt.datetime]],
) -> list[StoredPiece]:
    listed = list(ranges)
    if not listed:
        return []
    rows = db.fetch_all(
        load_sql(_PACKAGE, "pieces_overlapping"),
        {
            "systems": [r[0] for r in listed],
            "starts": [r[1] for r in listed],
            "ends": [r[2] for r in listed],
        },
        conn=conn,
    )
    unique = {row[0]: row for row in rows}
    return [_stored_piece(row) for row in unique.values()]


def _stored_piece(row: Sequence[Any]) -> StoredPiece:
    piece_id, battle_id, system, start_time, end_time, pilots = row
    return StoredPiece(piece_id, battle_id, system, start_time, end_time, set(pilots))


def _linked_battles(
    db: Database,
    conn: psycopg.Connection[Any],
    rebuilt: Sequence[Piece],
    removed_ids: set[int],
    jumps: Sequence[tuple[int, int]],
    params: BattleParameters,
) -> set[int]:
    """Return the stored battles with a piece that links to a rebuilt piece."""
    if not rebuilt:
        return set()
    # Candidates are searched both ways along each jump, a superset of what
    # merging checks; pieces_link then applies the exact rule.
    both_ways = [*jumps, *((b, a) for a, b in jumps)]
    systems = {p.solar_system_id for p in rebuilt}
    near_any = neighbourhoods(both_ways, systems, params.merge_max_jumps)

    slack = dt.timedelta(minutes=params.merge_gap_minutes)
    ranges: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for piece in rebuilt:
        low = piece.kills[0].killmail_time - slack
        high = piece.kills[-1].killmail_time + slack
        for system in near_any.get(piece.solar_system_id, frozenset()):
            if system in ranges:
                low = min(low, ranges[system][0])
                high = max(high, ranges[system][1])
            ranges[system] = (low, high)

    candidates = [
        p
        for p in _stored_pieces_overlapping(
            db, conn, ((s, low, high) for s, (low, high) in ranges.items())
        )
        if p.piece_id not in removed_ids
    ]
    if not candidates:
        return set()
    near = neighbourhoods(
        jumps,
        systems | {p.solar_system_id for p in candidates},
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


def _other_pieces(
    db: Database,
    conn: psycopg.Connection[Any],
    battle_ids: Sequence[int],
    removed_ids: set[int],
) -> tuple[list[Piece], int]:
    """Return the pieces of ``battle_ids`` outside rebuilt windows, with kills."""
    stored = {
        row[0]: _stored_piece(row)
        for row in db.fetch_all(
            load_sql(_PACKAGE, "pieces_of_battles"), (list(battle_ids),), conn=conn
        )
        if row[0] not in removed_ids
    }
    members = [
        m
        for m in db.fetch_all(
            load_sql(_PACKAGE, "member_pieces"),
            (list(battle_ids),),
            row=_MemberPiece,
            conn=conn,
        )
        if m.piece_id in stored
    ]
    if not members:
        return [], 0
    kills = db.fetch_all(
        load_sql(_PACKAGE, "kills_by_id"),
        {
            "ids": [m.killmail_id for m in members],
            "times": [m.killmail_time for m in members],
        },
        row=Kill,
        conn=conn,
        binary=True,
    )
    piece_of = {m.killmail_id: m.piece_id for m in members}
    by_piece: dict[int, list[Kill]] = collections.defaultdict(list)
    for kill in kills:
        by_piece[piece_of[kill.killmail_id]].append(kill)
    pieces = [
        Piece(stored[piece_id].solar_system_id, piece_kills, stored[piece_id].pilots)
        for piece_id, piece_kills in by_piece.items()
    ]
    return pieces, len(kills)

"""Battle detection over the stored killmails: full rebuild and incremental.

:func:`detect_all` clusters every killmail. :func:`on_batch` is the
post-import hook that reclusters only the systems and time around a batch's
kills, so an open battle grows and a straggler updates a closed battle and
marks it ``changed``. Both run the same steps (:mod:`evedmv_tui.battles.cluster`,
then sides and metrics) and the same reconciliation: each new cluster keeps
the id of the stored battle it shares the most kills with, so user overrides
survive, and a stored battle that no longer exists hands its overrides to the
battle that took most of its kills. When no battle took any of its kills,
its overrides are kept aside with the killmails they applied to, and the
first later battle that takes more than half of those killmails adopts them.

Everything runs in one transaction under an advisory lock, so two importers
finishing batches at once do not interleave their updates.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import datetime as dt
import gc
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from evedmv_tui import ship_classes
from evedmv_tui.battles.cluster import (
    Piece,
    Window,
    candidate_windows,
    merge_pieces,
)
from evedmv_tui.battles.copydata import CopyData
from evedmv_tui.battles.incremental import (
    BatchPlan,
    Read,
    StoredMember,
    fetch_together,
    pieces_of_windows,
    plan_batch,
    window_kills_read,
)
from evedmv_tui.battles.metrics import ShipType
from evedmv_tui.battles.model import Cluster, Kill
from evedmv_tui.battles.parameters import (
    BattleParameters,
    load_parameters,
    stored_parameters,
)
from evedmv_tui.battles.rows import (
    EncodedRows,
    RowChanges,
    RowContext,
    Task,
    build_battle_rows,
    build_rows,
    encode_rows,
    pool_size,
    row_changes,
)
from evedmv_tui.battles.sides import Override
from evedmv_tui.battles.static import JumpGraph, StaticData, static_data
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.writer import copy_statement
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import operation

log = logging.getLogger(__name__)

_PACKAGE = "evedmv_tui.battles"
_LOCK_KEY = 7_305_000_100
_WINDOWS_PER_READ = 1_000
"""Windows whose kills one statement of a full detection reads."""


@dataclasses.dataclass(frozen=True, slots=True)
class DetectionSummary:
    """Counts of battles and kills from one detection run."""

    battles: int
    """Battles found in the scope."""
    created: int
    updated: int
    deleted: int
    changed_closed: int
    """Closed battles that new kills changed (marked ``changed``)."""
    kills_read: int
    seconds: float
    overrides_kept_aside: int = 0
    """Overrides of removed battles that no battle took kills of, kept with
    those kills until a later battle takes most of them."""
    overrides_adopted: int = 0
    """Overrides kept aside by an earlier detection that a battle took over."""
    overrides_dropped: int = 0
    """Overrides lost because the battle that took them over already has an
    override for the same entity."""


@dataclasses.dataclass(frozen=True, slots=True)
class _StoreCounts:
    created: int
    updated: int
    deleted: int
    changed_closed: int
    kept_aside: int
    adopted: int
    dropped: int


@dataclasses.dataclass(frozen=True, slots=True)
class _StoredBattle:
    battle_id: int
    start_time: dt.datetime
    end_time: dt.datetime
    solar_system_ids: list[int]


@dataclasses.dataclass(frozen=True, slots=True)
class _Member:
    battle_id: int
    end_time: dt.datetime
    killmail_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class _OverrideRow:
    battle_id: int
    entity_kind: str
    entity_id: int
    anchor_kind: str | None
    anchor_id: int | None
    new_side: int | None


_Range = tuple[dt.datetime, dt.datetime]


@dataclasses.dataclass(frozen=True, slots=True)
class _Scope:
    """Systems and time range to recluster; None means everything."""

    systems: tuple[int, ...] | None
    start: dt.datetime | None
    end: dt.datetime | None
    touched: frozenset[int] | None = None
    """Killmails that changed; battles holding none of them and keeping the
    same kills are left as stored. None rewrites every battle in scope."""
    ranges: Mapping[int, _Range] | None = None
    """Time range of each system, within ``start``..``end``; None gives every
    system the whole range."""

    def range_of(self, system: int) -> _Range:
        assert self.start is not None and self.end is not None
        if self.ranges is None:
            return self.start, self.end
        return self.ranges[system]


def detect_all(
    db: Database,
    params: BattleParameters | None = None,
    *,
    workers: int | None = None,
    conn: psycopg.Connection[Any] | None = None,
) -> DetectionSummary:
    """Recluster every stored killmail and replace the stored battles.

    Side assignment, metrics and rows of the battles are built in a pool of
    ``workers`` processes, or one per core when ``workers`` is None. With 1,
    and for small inputs, they are built in this process.

    With ``conn``, detection runs in the transaction that the caller opened
    on it, so an error undoes the caller's changes as well.
    """
    with operation("battles.detect"):
        summary = _detect(
            db, params, _Scope(None, None, None), pool_size(workers), conn=conn
        )
        db.execute(
            "UPDATE static_data_version SET battles_outdated = false"
            " WHERE battles_outdated",
            conn=conn,
        )
        return summary


def detect_range(
    db: Database,
    systems: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    params: BattleParameters | None = None,
    *,
    touched: Iterable[int] | None = None,
    conn: psycopg.Connection[Any] | None = None,
) -> DetectionSummary:
    """Recluster the kills of ``systems`` around ``start``..``end``.

    With ``touched``, only battles that gain or lose kills or hold one of
    those killmails are rewritten; without it, every battle in range is.
    With ``conn``, detection runs in the transaction that the caller opened
    on it.
    """
    scope = _Scope(
        tuple(sorted(set(systems))),
        start,
        end,
        frozenset(touched) if touched is not None else None,
    )
    with operation("battles.detect"):
        return _detect(db, params, scope, conn=conn)


def detect_since_latest(
    db: Database,
    params: BattleParameters | None = None,
    *,
    workers: int | None = None,
) -> DetectionSummary:
    """Catch up: recluster kills newer than the latest stored battle's end.

    With no stored battle this is a full rebuild, which uses ``workers`` as
    :func:`detect_all` does.
    """
    params = params or load_parameters(db)
    with operation("battles.detect"):
        latest = db.fetch_value(load_sql(_PACKAGE, "latest_end"))
        if latest is None:
            return _detect(db, params, _Scope(None, None, None), pool_size(workers))
        since = latest - dt.timedelta(seconds=params.margin_seconds)
        systems = [
            row[0]
            for row in db.fetch_all(load_sql(_PACKAGE, "systems_since"), (since,))
        ]
        low, high = db.fetch_one(load_sql(_PACKAGE, "time_range_since"), (since,)) or (
            None,
            None,
        )
        if not systems or low is None or high is None:
            return DetectionSummary(0, 0, 0, 0, 0, 0, 0.0)
        return _detect(db, params, _Scope(tuple(systems), low, high))


def on_batch(db: Database, result: BatchResult) -> None:
    """Update battles after an import batch (a post-batch hook)."""
    if not result.killmail_ids or result.min_time is None or result.max_time is None:
        return
    summary = detect_range(
        db,
        result.solar_system_ids,
        result.min_time,
        result.max_time,
        touched=result.killmail_ids,
    )
    log.debug(
        "battles after batch of %d kills: %d battles, %d new, %d updated, %d deleted",
        len(result.killmail_ids),
        summary.battles,
        summary.created,
        summary.updated,
        summary.deleted,
    )
    # An import prints no detection line, so overrides that no battle took
    # over are reported here.
    if summary.overrides_kept_aside or summary.overrides_dropped:
        log.warning(
            "battles after batch of %d kills: side overrides of removed"
            " battles kept aside until a battle takes most of their kills: %d,"
            " dropped: %d",
            len(result.killmail_ids),
            summary.overrides_kept_aside,
            summary.overrides_dropped,
        )


def _detect(
    db: Database,
    params: BattleParameters | None,
    scope: _Scope,
    workers: int = 1,
    *,
    conn: psycopg.Connection[Any] | None = None,
) -> DetectionSummary:
    """Run detection in a transaction of its own, or in the caller's on ``conn``.

    No savepoint is made in the caller's transaction, because
    ``pg_export_snapshot()`` fails in a subtransaction.
    """
    if conn is not None:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        return _detect_in(db, conn, params, scope, workers)
    with db.connection() as own, own.transaction():
        return _detect_in(db, own, params, scope, workers)


def _detect_in(
    db: Database,
    conn: psycopg.Connection[Any],
    params: BattleParameters | None,
    scope: _Scope,
    workers: int,
) -> DetectionSummary:
    started = time.perf_counter()
    reads = [
        Read(load_sql(_PACKAGE, "detection_lock"), (_LOCK_KEY,)),
        Read(load_sql(_PACKAGE, "parameters_load")),
        Read(load_sql(_PACKAGE, "static_token")),
        Read(load_sql(_PACKAGE, "pieceless_members")),
    ]
    if scope.systems is not None:
        # A batch's queries read a few thousand rows at most, where starting
        # parallel workers costs more than it saves. In the bench/battles.py
        # database of 1M killmails, the parallel plan of kills_of_battles.sql
        # spent 9 ms in its Gather node for 4 ms of work in each process
        # (EXPLAIN ANALYZE, 1,537 kills).
        reads.append(Read(load_sql(_PACKAGE, "serial_plans")))
    with _collector_paused(scope.systems is None):
        # One round trip. The server runs the statements in order, each with
        # a snapshot taken after the lock is held.
        _, stored_params, token, pieceless = fetch_together(db, conn, reads)[:4]
        if params is None:
            params = stored_parameters(stored_params[0][0] if stored_params else None)
        static = static_data(db, conn, token[0][0] if token else None)
        plan: BatchPlan | None = None
        # With every stored battle's pieces at hand, only the windows that
        # gain kills are rebuilt. Battles detected before pieces were stored
        # need the older scope, widened by whole stored battles.
        if scope.systems is not None and not pieceless[0][0]:
            assert scope.start is not None and scope.end is not None
            touched = scope.touched
            if touched is None:
                touched = frozenset(
                    row[0]
                    for row in db.fetch_all(
                        load_sql(_PACKAGE, "kills_in_range"),
                        (list(scope.systems), scope.start, scope.end),
                        conn=conn,
                    )
                )
            plan = plan_batch(
                db, conn, touched, scope.start, scope.end, static.jumps, params
            )
            pieces = plan.pieces
            kills_read = plan.kills_read
        else:
            if scope.systems is not None:
                scope = _widen(db, conn, scope, static.jumps, params)
            windows = _clip(_windows(db, conn, scope, params), scope)
            pieces, kills_read = _read_pieces(db, conn, windows, params)
        near = static.jumps.neighbourhoods(
            {p.solar_system_id for p in pieces}, params.merge_max_jumps
        )
        clusters = merge_pieces(pieces, params, near)
        counts = _store(
            db, conn, scope, clusters, params, pieces, static, plan, workers
        )
    seconds = time.perf_counter() - started
    return DetectionSummary(
        len(clusters),
        created=counts.created,
        updated=counts.updated,
        deleted=counts.deleted,
        changed_closed=counts.changed_closed,
        kills_read=kills_read,
        seconds=seconds,
        overrides_kept_aside=counts.kept_aside,
        overrides_adopted=counts.adopted,
        overrides_dropped=counts.dropped,
    )


@contextlib.contextmanager
def _collector_paused(paused: bool) -> Iterator[None]:
    """Turn off the cyclic garbage collector while a full detection runs.

    A full detection keeps every kill it reads, with six attacker lists
    each, until the rows are written. The collector traverses these
    millions of objects again each time the oldest generation grows by a
    quarter, and it frees none of them. Decoding one chunk of 54,665 kills
    took 0.42 s with the collector on and 0.20 s with it off, in a process
    that held nothing else. The setting is process-wide, so other threads
    also run without the collector until detection ends. The worker
    processes that build rows inherit it.
    """
    if not paused or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _windows(
    db: Database,
    conn: psycopg.Connection[Any],
    scope: _Scope,
    params: BattleParameters,
) -> list[Window]:
    segments = db.fetch_all(
        load_sql(_PACKAGE, "segment_counts"),
        {
            "segment_seconds": params.segment_minutes * 60,
            "min_kills": params.segment_min_kills,
            "start": scope.start,
            "end": scope.end,
            "systems": list(scope.systems) if scope.systems is not None else None,
        },
        conn=conn,
    )
    return candidate_windows(segments, params)


def _widen(
    db: Database,
    conn: psycopg.Connection[Any],
    scope: _Scope,
    jumps: JumpGraph,
    params: BattleParameters,
) -> _Scope:
    """Grow an incremental scope to whole stored battles, system by system.

    Each system of the scope gets the time range widened by the margin
    within which new kills can change clustering. A stored battle in those
    systems and ranges, or in a system within merge range of them (its
    pieces may merge with new ones), joins the scope: each of its systems
    gets the battle's time plus the margin. This repeats until no stored
    battle is added, for at most 10 rounds. Each system keeps its own range,
    so a long battle in one system does not widen the time read in the
    others. A neighbouring system without a stored battle there is not read
    at all, because its kills formed no piece before and have not changed.
    """
    assert scope.systems is not None
    assert scope.start is not None
    assert scope.end is not None
    margin = dt.timedelta(seconds=params.margin_seconds)
    ranges: dict[int, _Range] = {}
    for system in scope.systems:
        low, high = scope.range_of(system)
        ranges[system] = (low - margin, high + margin)
    near = jumps.neighbourhoods(scope.systems, params.merge_max_jumps)
    seen: set[int] = set()
    probed: dict[int, _Range] = {}
    for _ in range(10):
        probe = dict(ranges)
        for system, found in near.items():
            low, high = ranges[system]
            for other in found:
                if other in probe:
                    other_low, other_high = probe[other]
                    probe[other] = (min(low, other_low), max(high, other_high))
                else:
                    probe[other] = (low, high)
        # Ranges only grow, so battles of ranges probed before are known.
        pending = {s: r for s, r in probe.items() if probed.get(s) != r}
        probed.update(pending)
        stored = _scope_battles(db, conn, pending) if pending else []
        added = [b for b in stored if b.battle_id not in seen]
        if not added:
            break
        for battle in added:
            seen.add(battle.battle_id)
            for system in battle.solar_system_ids:
                low, high = battle.start_time - margin, battle.end_time + margin
                if system in ranges:
                    low = min(low, ranges[system][0])
                    high = max(high, ranges[system][1])
                ranges[system] = (low, high)
    return _Scope(
        tuple(sorted(ranges)),
        min(low for low, _ in ranges.values()),
        max(high for _, high in ranges.values()),
        scope.touched,
        ranges,
    )


def _scope_battles(
    db: Database, conn: psycopg.Connection[Any], ranges: Mapping[int, _Range]
) -> list[_StoredBattle]:
    systems = sorted(ranges)
    return db.fetch_all(
        load_sql(_PACKAGE, "scope_battles"),
        {
            "systems": systems,
            "starts": [ranges[s][0] for s in systems],
            "ends": [ranges[s][1] for s in systems],
        },
        row=_StoredBattle,
        conn=conn,
    )


def _clip(windows: list[Window], scope: _Scope) -> list[Window]:
    if scope.start is None or scope.end is None:
        return windows
    clipped = []
    for window in windows:
        low, high = scope.range_of(window.solar_system_id)
        start = max(window.start, low)
        end = min(window.end, high)
        if start <= end:
            clipped.append(Window(window.solar_system_id, start, end))
    return clipped


def _read_pieces(
    db: Database,
    conn: psycopg.Connection[Any],
    windows: Sequence[Window],
    params: BattleParameters,
) -> tuple[list[Piece], int]:
    """Return the pieces of ``windows`` and the number of kills read for them.

    The kills are read in chunks of windows on other threads while this
    thread builds the pieces of the chunks already read. With more than one
    chunk, a second connection reads every other chunk, on a snapshot
    exported from ``conn``, so two server processes look up attackers at
    once. Chunks follow the order of window start, so each chunk's kills
    and attackers lie in a short stretch of time, which imports store close
    together. One chunk of 1,000 windows read 23,000 blocks that were not
    in shared buffers and took 0.42 s in the server. Chunks in the order of
    system read 50,000 to 73,000 blocks and took 0.62 to 0.93 s (about
    45,000 kills each, ``EXPLAIN ANALYZE``).

    The pieces come in another order than from one read. The battles are
    the same, because :func:`merge_pieces` sorts the pieces by start,
    system and end. Pieces that tie on all three lie in one window, and the
    pieces of a window keep their order.

    NOTE: on the shared 2-core benchmark machine, reading over two
    connections was not measurably faster than over one (the Battles
    section of docs/benchmarks.md).
    """
    ordered = sorted(windows, key=lambda w: (w.start, w.solar_system_id))
    chunks = [
        ordered[start : start + _WINDOWS_PER_READ]
        for start in range(0, len(ordered), _WINDOWS_PER_READ)
    ]
    pieces: list[Piece] = []
    kills_read = 0
    if not chunks:
        return pieces, kills_read
    with contextlib.ExitStack() as stack:
        connections = [conn]
        if len(chunks) > 1:
            try:
                connections.append(stack.enter_context(_snapshot_reader(db, conn)))
            except psycopg.OperationalError as exc:
                log.warning(
                    "reading %d chunks of windows over one connection,"
                    " because a second failed: %s",
                    len(chunks),
                    exc,
                )
        reader = stack.enter_context(
            concurrent.futures.ThreadPoolExecutor(
                max_workers=len(connections), thread_name_prefix="battles-read"
            )
        )
        pending: collections.deque[concurrent.futures.Future[list[Kill]]]
        pending = collections.deque()

        def submit(number: int) -> None:
            # A chunk reuses the connection of the chunk len(connections)
            # before it, so it is submitted only after that chunk is read.
            # The telemetry operation tag lives in a context variable.
            if number < len(chunks):
                context = contextvars.copy_context()
                pending.append(
                    reader.submit(
                        context.run,
                        _read_kills,
                        db,
                        connections[number % len(connections)],
                        chunks[number],
                    )
                )

        for number in range(len(connections)):
            submit(number)
        for number, chunk in enumerate(chunks):
            kills = pending.popleft().result()
            submit(number + len(connections))
            kills_read += len(kills)
            pieces.extend(pieces_of_windows(kills, chunk, params))
    return pieces, kills_read


@contextlib.contextmanager
def _snapshot_reader(
    db: Database, conn: psycopg.Connection[Any]
) -> Iterator[psycopg.Connection[Any]]:
    """Open a read-only connection on a snapshot exported by ``conn``.

    The connection reads in a repeatable read transaction, so every chunk it
    reads shows the killmails committed when the snapshot was exported. It
    is a new connection, not one of the pool's, so a pool that other threads
    keep busy cannot make detection wait.
    """
    snapshot = db.fetch_value("SELECT pg_export_snapshot()", conn=conn)
    reader = psycopg.connect(db.conninfo, application_name=db.application_name)
    try:
        reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        reader.read_only = True
        reader.execute(
            sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot))
        )
        yield reader
    finally:
        reader.close()


def _read_kills(
    db: Database, conn: psycopg.Connection[Any], windows: Sequence[Window]
) -> list[Kill]:
    if not windows:
        return []
    (kills,) = fetch_together(db, conn, [window_kills_read(windows)])
    return kills


def load_ship_types(
    db: Database, type_ids: Iterable[int], conn: psycopg.Connection[Any] | None = None
) -> dict[int, ShipType]:
    """Return the group, class and roles of each ship type found in ``types``."""
    rows = db.fetch_all(
        load_sql(_PACKAGE, "ship_types"), (sorted(set(type_ids)),), conn=conn
    )
    return {
        type_id: ShipType(
            group_id,
            ship_classes.ship_class(group_id, category_id),
            ship_classes.roles(group_id),
        )
        for type_id, group_id, category_id in rows
    }


def _match(
    clusters: Sequence[Cluster], members: Sequence[_Member | StoredMember]
) -> tuple[dict[int, int], dict[int, int]]:
    """Match clusters to stored battles by shared kills.

    Returns ``{cluster index: battle id}`` for kept ids, and for every stored
    battle that is not kept, the cluster index that took most of its kills
    (absent when none did).
    """
    battle_of_kill = {m.killmail_id: m.battle_id for m in members}
    overlap: dict[tuple[int, int], int] = collections.Counter()
    for index, cluster in enumerate(clusters):
        for kill in cluster.kills:
            battle = battle_of_kill.get(kill.killmail_id)
            if battle is not None:
                overlap[(index, battle)] += 1
    kept: dict[int, int] = {}
    taken: set[int] = set()
    for (index, battle), _ in sorted(
        overlap.items(), key=lambda item: (-item[1], item[0])
    ):
        if index in kept or battle in taken:
            continue
        kept[index] = battle
        taken.add(battle)
    heirs: dict[int, int] = {}
    for (index, battle), count in sorted(overlap.items()):
        if battle in taken:
            continue
        best = heirs.get(battle)
        if best is None or count > overlap[(best, battle)]:
            heirs[battle] = index
    return kept, heirs


def _store(
    db: Database,
    conn: psycopg.Connection[Any],
    scope: _Scope,
    clusters: Sequence[Cluster],
    params: BattleParameters,
    pieces: Sequence[Piece],
    static: StaticData,
    plan: BatchPlan | None = None,
    workers: int = 1,
) -> _StoreCounts:
    """Reconcile ``clusters`` with the stored battles of ``scope`` and write them.

    ``pieces`` are those the clusters were merged from. With ``plan``, the
    clusters replace the stored battles it names, whose members, overrides
    and rows it has read, and only rows that differ from the stored ones
    are written. Without it, they replace every stored battle in ``scope``
    and every row is written. The rows are built by ``workers`` processes
    (:func:`~evedmv_tui.battles.rows.build_rows`). Returns counts of battles
    created, updated, deleted and closed-and-changed, and of the overrides
    kept aside, adopted and dropped.
    """
    members: Sequence[_Member | StoredMember]
    if plan is not None:
        members = plan.members
    elif scope.systems is None:
        members = db.fetch_all(
            load_sql(_PACKAGE, "all_members"), row=_Member, conn=conn
        )
    else:
        stored = _scope_battles(db, conn, {s: scope.range_of(s) for s in scope.systems})
        members = db.fetch_all(
            load_sql(_PACKAGE, "scope_members"),
            ([b.battle_id for b in stored],),
            row=_Member,
            conn=conn,
        )
    old_ids = sorted({m.battle_id for m in members})
    old_kills: dict[int, set[int]] = collections.defaultdict(set)
    old_end: dict[int, dt.datetime] = {}
    for member in members:
        old_kills[member.battle_id].add(member.killmail_id)
        old_end[member.battle_id] = member.end_time
    kept, heirs = _match(clusters, members)

    new_count = len(clusters) - len(kept)
    fresh_ids: list[int] = []
    if new_count:
        fresh_ids = [
            row[0]
            for row in db.fetch_all(
                "SELECT nextval('battles_battle_id_seq') FROM generate_series(1, %s)",
                (new_count,),
                conn=conn,
            )
        ]
    fresh = iter(fresh_ids)
    ids = [kept[i] if i in kept else next(fresh) for i in range(len(clusters))]

    # Overrides of battles that disappear move to their heir. Those of a
    # battle without one wait, with its kills, for a later battle to adopt.
    kept_ids = set(kept.values())
    deleted = [b for b in old_ids if b not in kept_ids]
    moves = [(b, ids[heirs[b]]) for b in deleted if b in heirs]
    dropped = 0
    if moves:
        had, moved = db.fetch_one(
            load_sql(_PACKAGE, "overrides_move"),
            ([m[0] for m in moves], [m[1] for m in moves]),
            conn=conn,
        ) or (0, 0)
        dropped += had - moved
    adopters = _adopters(db, conn, scope, clusters)
    adopted = 0
    if adopters:
        had, adopted = _adopt(db, conn, {g: ids[i] for g, i in adopters.items()})
        dropped += had - adopted
    kept_aside = _keep_aside(
        db, conn, [b for b in deleted if b not in heirs], old_kills
    )
    unchanged = set()
    if scope.touched is not None:
        for index, battle_id in kept.items():
            kill_ids = clusters[index].killmail_ids
            if old_kills[battle_id] == kill_ids and not kill_ids & scope.touched:
                unchanged.add(index)
    unchanged -= set(adopters.values())
    rewrite = [i for i in range(len(clusters)) if i not in unchanged]
    rewrite_ids = [ids[i] for i in rewrite]
    if plan is not None and not moves and not adopters:
        # Only stored battles have overrides. With no moves, every rewritten
        # battle that has any is one of the plan's stored battles, whose
        # overrides the plan has read.
        rewritten = set(rewrite_ids)
        overrides = _overrides_by_battle(
            _OverrideRow(*row) for row in plan.override_rows if row[0] in rewritten
        )
    else:
        overrides = _load_overrides(db, conn, rewrite_ids)
    regions = static.regions_of(s for c in clusters for s in c.solar_system_ids)

    kept_as_stored = {ids[i] for i in unchanged}
    cleared = [b for b in old_ids if b not in kept_as_stored]
    if plan is None:
        db.execute(load_sql(_PACKAGE, "scope_clear"), {"ids": cleared}, conn=conn)
    db.execute(load_sql(_PACKAGE, "battles_delete"), (deleted,), conn=conn)
    now = dt.datetime.now(dt.UTC)
    quiet = dt.timedelta(minutes=params.quiet_minutes)
    # A closed battle is one whose last kill is a quiet period old.
    closed_grown = [
        ids[index]
        for index in rewrite
        if index in kept
        and scope.systems is not None
        and old_kills[ids[index]] != clusters[index].killmail_ids
        and old_end[ids[index]] + quiet < now
    ]
    stragglers = _stored_before(db, conn, closed_grown, now - quiet)
    tasks: list[Task] = []
    for index in rewrite:
        battle_id = ids[index]
        changed = battle_id in stragglers
        tasks.append(Task(index, battle_id, overrides.get(battle_id, ()), changed))
    changed_closed = len(stragglers)
    # Metrics look ship types up with a default, so the table of every known
    # type gives the same metrics as the types of the rewritten kills alone.
    context = RowContext(
        params,
        static.ship_types,
        regions,
        {kill.killmail_id: piece for piece in pieces for kill in piece.kills},
    )
    if plan is not None:
        # The plan has read every stored row of the cleared battles, so only
        # the rows that differ are deleted and written again.
        rows = build_battle_rows(context, clusters, tasks)
        changes = row_changes(plan.stored_rows, set(cleared), rows)
        _write_changes(db, conn, changes)
    else:

        def write(rows: EncodedRows) -> None:
            _write(db, conn, rows)

        build_rows(context, clusters, tasks, workers, write)
    created = len(clusters) - len(kept)
    updated = sum(1 for i in kept if old_kills[ids[i]] != clusters[i].killmail_ids)
    return _StoreCounts(
        created, updated, len(deleted), changed_closed, kept_aside, adopted, dropped
    )


def _adopters(
    db: Database,
    conn: psycopg.Connection[Any],
    scope: _Scope,
    clusters: Sequence[Cluster],
) -> dict[int, int]:
    """Return ``{kept override group: cluster index}`` for groups to adopt.

    A cluster adopts a group when it contains more than half of the group's
    killmails. Only groups that share a killmail with ``clusters`` are read,
    except in a full detection, which reads them all.
    """
    if scope.systems is None:
        rows = db.fetch_all(load_sql(_PACKAGE, "overrides_kept_kills_all"), conn=conn)
    else:
        kill_ids = [kill.killmail_id for cluster in clusters for kill in cluster.kills]
        rows = db.fetch_all(
            load_sql(_PACKAGE, "overrides_kept_kills_of"), (kill_ids,), conn=conn
        )
    if not rows:
        return {}
    group_size: dict[int, int] = collections.Counter()
    groups_of_kill: dict[int, list[int]] = collections.defaultdict(list)
    for group_id, killmail_id in rows:
        group_size[group_id] += 1
        groups_of_kill[killmail_id].append(group_id)
    held: dict[tuple[int, int], int] = collections.Counter()
    for index, cluster in enumerate(clusters):
        for kill in cluster.kills:
            for group_id in groups_of_kill.get(kill.killmail_id, ()):
                held[(group_id, index)] += 1
    return {
        group_id: index
        for (group_id, index), count in held.items()
        if 2 * count > group_size[group_id]
    }


def _adopt(
    db: Database, conn: psycopg.Connection[Any], battle_of_group: Mapping[int, int]
) -> tuple[int, int]:
    """Hand kept override groups to battles; return overrides had and adopted.

    A new battle's row is written later in the transaction, so the
    reference from its overrides is checked at commit.
    """
    db.execute(
        "SET CONSTRAINTS battle_side_overrides_battle_id_fkey DEFERRED", conn=conn
    )
    groups = sorted(battle_of_group)
    found = db.fetch_one(
        load_sql(_PACKAGE, "overrides_adopt"),
        {"groups": groups, "battles": [battle_of_group[g] for g in groups]},
        conn=conn,
    )
    assert found is not None
    return int(found[0]), int(found[1])


def _keep_aside(
    db: Database,
    conn: psycopg.Connection[Any],
    battle_ids: Sequence[int],
    kills_of: Mapping[int, set[int]],
) -> int:
    """Keep the overrides of removed ``battle_ids`` with their killmails.

    Returns the number of overrides kept. A battle without overrides
    leaves nothing behind.
    """
    if not battle_ids:
        return 0
    rows = db.fetch_all(
        load_sql(_PACKAGE, "overrides_keep"), (list(battle_ids),), conn=conn
    )
    if not rows:
        return 0
    group_ids: list[int] = []
    killmail_ids: list[int] = []
    for group_id in sorted({row[0] for row in rows}):
        for killmail_id in sorted(kills_of[group_id]):
            group_ids.append(group_id)
            killmail_ids.append(killmail_id)
    db.execute(
        load_sql(_PACKAGE, "overrides_kept_kills_save"),
        (group_ids, killmail_ids),
        conn=conn,
    )
    return len(rows)


def _stored_before(
    db: Database,
    conn: psycopg.Connection[Any],
    battle_ids: Sequence[int],
    before: dt.datetime,
) -> set[int]:
    """Return the battles of ``battle_ids`` last written before ``before``.

    New kills of a closed battle mark it ``changed`` only when the battle
    was stored a quiet period of wall-clock time earlier. One import of
    archives that list kills out of time order writes a battle several
    times within minutes, and those kills are not stragglers.
    """
    if not battle_ids:
        return set()
    rows = db.fetch_all(
        load_sql(_PACKAGE, "battles_stored_before"),
        {"ids": list(battle_ids), "before": before},
        conn=conn,
    )
    return {row[0] for row in rows}


def _load_overrides(
    db: Database, conn: psycopg.Connection[Any], battle_ids: Sequence[int]
) -> dict[int, list[Override]]:
    rows = db.fetch_all(
        load_sql(_PACKAGE, "overrides_load"),
        (list(battle_ids),),
        row=_OverrideRow,
        conn=conn,
    )
    return _overrides_by_battle(rows)


def _overrides_by_battle(rows: Iterable[_OverrideRow]) -> dict[int, list[Override]]:
    found: dict[int, list[Override]] = collections.defaultdict(list)
    for row in rows:
        found[row.battle_id].append(
            Override(
                row.entity_kind,
                row.entity_id,
                row.anchor_kind,
                row.anchor_id,
                row.new_side,
            )
        )
    return found


def _write(db: Database, conn: psycopg.Connection[Any], rows: EncodedRows) -> None:
    if rows.battles:
        db.execute(
            load_sql(_PACKAGE, "battles_upsert"),
            [list(column) for column in zip(*rows.battles, strict=True)],
            conn=conn,
        )
    for copy in rows.copies:
        _copy(db, conn, copy)


def _write_changes(
    db: Database, conn: psycopg.Connection[Any], changes: RowChanges
) -> None:
    if changes.members or changes.sides or changes.entities or changes.pieces:
        db.execute(
            load_sql(_PACKAGE, "rows_delete"),
            {
                "members": changes.members,
                "side_battles": [key[0] for key in changes.sides],
                "side_nos": [key[1] for key in changes.sides],
                "pieces": changes.pieces,
                "entity_battles": [key[0] for key in changes.entities],
                "entity_kinds": [key[1] for key in changes.entities],
                "entity_ids": [key[2] for key in changes.entities],
            },
            conn=conn,
        )
    _write(db, conn, encode_rows(changes.inserts))


def _copy(db: Database, conn: psycopg.Connection[Any], copy: CopyData) -> None:
    if not copy.rows:
        return
    statement = copy_statement(copy.table.name, copy.table.columns)
    with (
        db.timed(f"battles.copy_{copy.table.name}", statement) as box,
        conn.cursor() as cur,
        cur.copy(statement) as stream,
    ):
        stream.write(copy.data)
        box[0] = copy.rows

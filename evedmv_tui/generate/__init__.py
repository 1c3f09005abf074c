"""Seeded generator of realistic killmails for the demo, tests and benchmarks.

:func:`generate_killmails` yields one JSON document per killmail: the ESI
killmail with a ``zkb`` object beside it (the zKillboard API shape), in
time order, with killmail ids rising with time. The same ``count``, seed
and universe give the same bytes, and a shorter run is a prefix of a
longer one. Each seed draws its killmail ids from a block of its own
(:func:`first_killmail_id`), so files of different seeds can be imported
into one database without one killmail replacing another.

Fleet fights of two or three coalitions make about half of all kills
(:mod:`evedmv_tui.generate.scenarios` describes what a fight looks like).
The rest are small skirmishes, one-sided massacres, solo kills and NPC
kills (attackers with only a faction or an NPC corporation). Gate camps on
hub systems run for hours, and highsec ganks end with CONCORD killing the
gankers. Structure, control tower and deployable kills have victims
without ``character_id`` and Upwell structure ids above 10^12 as
``zkb.locationID``. Pods die after ship losses, rarely in highsec.
Character, corporation and alliance ids lie past 2^31, outside the ranges
of real EVE Online entities (:mod:`evedmv_tui.generate.world`);
:func:`generated_world` returns a seed's population, for example to name it
(:func:`evedmv_tui.generate.names.store_generated_names`).

With ``static=None`` the hand-written universe of
:mod:`evedmv_tui.generate.universe` is used; pass :func:`load_universe`'s
result to draw real hulls, systems and gates from loaded static data.
"""

from __future__ import annotations

import collections
import datetime as dt
import heapq
import logging
import multiprocessing
import os
import random
from collections.abc import Iterator
from multiprocessing.pool import AsyncResult
from pathlib import Path

import msgspec

from evedmv_tui.generate.documents import DocumentBuilder, format_time
from evedmv_tui.generate.scenarios import Context, Kill, draw_scenario
from evedmv_tui.generate.universe import Universe, builtin_universe, load_universe
from evedmv_tui.generate.world import World, build_world

__all__ = [
    "DEFAULT_START",
    "MAX_SEED",
    "SEED_ID_BLOCK",
    "Universe",
    "builtin_universe",
    "default_workers",
    "first_killmail_id",
    "format_time",
    "generate_killmails",
    "generated_world",
    "load_universe",
    "mean_span",
    "span_bound",
    "write_jsonl",
]

log = logging.getLogger(__name__)

DEFAULT_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DEFAULT_KILLS_PER_DAY = 12_000.0
"""Average kill rate. The EVE Ref archives of 2021-11-27 to 12-02 hold
10,671 to 17,862 kills a day."""
SPAN_MARGIN = 1.2
"""Factor over the mean span of a run that :func:`span_bound` allows."""
SCENARIO_LENGTH = dt.timedelta(hours=6)
"""About the maximum time a scenario's kills run past its start: a gate camp
lasts up to 6 hours."""
FIRST_KILLMAIL_ID = 120_000_000
"""First killmail id of seed 0, near the ids real killmails had in 2025."""
SEED_ID_BLOCK = 10_000_000_000
"""Killmail ids each seed owns. Ids rise by 1 to 3 per killmail, so a block
holds a run of :data:`MAX_COUNT` killmails, more than ``--killmails``
accepts."""
MAX_COUNT = SEED_ID_BLOCK // 3
MAX_SEED = (2**63 - 1 - FIRST_KILLMAIL_ID) // SEED_ID_BLOCK - 1
"""Largest seed whose whole id block fits in a PostgreSQL ``bigint``."""


CHUNK_SIZE = 2000
"""Kills per document chunk. Each chunk draws from an RNG seeded by the
seed and the chunk's number, so output does not depend on ``workers``."""


def first_killmail_id(seed: int) -> int:
    """Return the id the killmail ids of ``seed`` count up from.

    Seed ``s`` owns the ids from ``s * 10**10 + 120,000,000`` on, so the seed
    can be read off an id's leading digits and different seeds never share
    an id.

    Raises:
        ValueError: ``seed`` is negative or above :data:`MAX_SEED`.
    """
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be from 0 to {MAX_SEED:,}, got {seed}")
    return FIRST_KILLMAIL_ID + seed * SEED_ID_BLOCK


def mean_span(count: int, kills_per_day: float = DEFAULT_KILLS_PER_DAY) -> dt.timedelta:
    """Return the expected time span of a run of ``count`` kills."""
    return dt.timedelta(days=count / kills_per_day)


def span_bound(
    count: int, kills_per_day: float = DEFAULT_KILLS_PER_DAY
) -> dt.timedelta:
    """Return a time span that the kills of a run of ``count`` stay within.

    The bound is 1.2 times :func:`mean_span` plus the length of one
    scenario, so even a run of 10 kills is allowed 6 hours. NOTE: the bound
    is an estimate. Of 320 runs of 1 to 3,000 killmails (seeds 0 to 39),
    none ended more than 43 minutes after 1.2 times the mean span, and runs
    of 10,000 and 100,000 killmails ended within 10 % of the mean.
    """
    return SPAN_MARGIN * mean_span(count, kills_per_day) + SCENARIO_LENGTH


def generated_world(seed: int, *, static: Universe | None = None) -> World:
    """Return the population that :func:`generate_killmails` draws for ``seed``.

    Pass the same ``static`` as to the generator: the hulls of the universe
    are part of the draw.
    """
    universe = static if static is not None else builtin_universe()
    return build_world(random.Random(seed), universe)


def _kill_stream(
    count: int,
    seed: int,
    universe: Universe,
    start: dt.datetime,
    kills_per_day: float,
) -> Iterator[tuple[Kill, int]]:
    """Yield ``count`` kills in time order, each with its killmail id."""
    rng = random.Random(seed)
    world = build_world(rng, universe)
    context = Context(rng, universe, world, [])
    rate = kills_per_day / 86_400.0
    clock = start.timestamp()
    pending: list[tuple[float, int, Kill]] = []
    sequence = 0
    killmail_id = first_killmail_id(seed)
    emitted = 0
    while emitted < count:
        kills = draw_scenario(context, clock)
        for kill in kills:
            heapq.heappush(pending, (kill.time, sequence, kill))
            sequence += 1
        clock += rng.expovariate(1.0) * max(1, len(kills)) / rate

        # Every later scenario starts at or after ``clock``, so kills before
        # it are final and leave in time order.
        while pending and pending[0][0] < clock and emitted < count:
            _, _, kill = heapq.heappop(pending)
            killmail_id += rng.randint(1, 3)
            yield kill, killmail_id
            emitted += 1


def _chunks(
    stream: Iterator[tuple[Kill, int]],
) -> Iterator[list[tuple[Kill, int]]]:
    chunk: list[tuple[Kill, int]] = []
    for item in stream:
        chunk.append(item)
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _ChunkBuilder:
    """Turn chunks of kills into encoded documents."""

    def __init__(self, universe: Universe, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random()
        self.builder = DocumentBuilder(self.rng, universe)
        self.encoder = msgspec.json.Encoder()

    def build(self, index: int, chunk: list[tuple[Kill, int]]) -> list[bytes]:
        self.rng.seed(f"{self.seed}:{index}")
        encode = self.encoder.encode
        build = self.builder.build
        return [encode(build(kill, killmail_id)) for kill, killmail_id in chunk]


_WORKER: _ChunkBuilder | None = None


def _start_worker(universe: Universe, seed: int) -> None:
    global _WORKER
    _WORKER = _ChunkBuilder(universe, seed)


def _build_in_worker(index: int, chunk: list[tuple[Kill, int]]) -> list[bytes]:
    assert _WORKER is not None
    return _WORKER.build(index, chunk)


def generate_killmails(
    count: int,
    seed: int,
    *,
    static: Universe | None = None,
    start: dt.datetime = DEFAULT_START,
    kills_per_day: float = DEFAULT_KILLS_PER_DAY,
    workers: int = 0,
) -> Iterator[bytes]:
    """Return an iterator over ``count`` killmail documents as JSON bytes.

    The documents come oldest first. With ``workers`` above 0, that many
    processes build the documents while this one draws the kills. The bytes
    are the same for any ``workers``.

    Raises:
        ValueError: ``seed`` is out of range (see :func:`first_killmail_id`)
            or ``count`` is above :data:`MAX_COUNT`.
    """
    first_killmail_id(seed)
    if count > MAX_COUNT:
        raise ValueError(f"count must be at most {MAX_COUNT:,}, got {count}")
    return _documents(count, seed, static, start, kills_per_day, workers)


def _documents(
    count: int,
    seed: int,
    static: Universe | None,
    start: dt.datetime,
    kills_per_day: float,
    workers: int,
) -> Iterator[bytes]:
    if count <= 0:
        return
    universe = static if static is not None else builtin_universe()
    chunks = _chunks(_kill_stream(count, seed, universe, start, kills_per_day))
    if workers <= 0:
        local = _ChunkBuilder(universe, seed)
        for index, chunk in enumerate(chunks):
            yield from local.build(index, chunk)
        return
    # Spawned workers: forking a process that holds a connection pool's
    # threads is unsafe.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, _start_worker, (universe, seed)) as pool:
        window: collections.deque[AsyncResult[list[bytes]]] = collections.deque()
        for index, chunk in enumerate(chunks):
            window.append(pool.apply_async(_build_in_worker, (index, chunk)))
            # A bounded window keeps memory flat: at most two chunks per
            # worker wait to be built or written.
            if len(window) >= 2 * workers:
                yield from window.popleft().get()
        while window:
            yield from window.popleft().get()


def default_workers(count: int) -> int:
    """Return the worker processes worth starting for ``count`` killmails."""
    if count < 50_000:
        return 0
    return max(1, min(2, os.cpu_count() or 1))


def write_jsonl(
    path: Path | str,
    count: int,
    seed: int,
    *,
    static: Universe | None = None,
    start: dt.datetime = DEFAULT_START,
    workers: int | None = None,
) -> int:
    """Write ``count`` generated killmails to ``path`` as JSON Lines; return count.

    ``workers`` None picks :func:`default_workers`; the file is the same for
    any number of workers.
    """
    if workers is None:
        workers = default_workers(count)
    written = 0
    documents = generate_killmails(
        count, seed, static=static, start=start, workers=workers
    )
    with open(path, "wb") as out:
        buffer: list[bytes] = []
        for document in documents:
            buffer.append(document)
            if len(buffer) >= 10_000:
                out.write(b"\n".join(buffer) + b"\n")
                written += len(buffer)
                buffer.clear()
        if buffer:
            out.write(b"\n".join(buffer) + b"\n")
            written += len(buffer)
    log.info("wrote %d generated killmails to %s", written, path)
    return written

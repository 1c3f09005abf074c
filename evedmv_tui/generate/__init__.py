"""Seeded generator of realistic killmails for the demo, tests and benchmarks.

:func:`generate_killmails` yields one JSON document per killmail: the ESI
killmail with a ``zkb`` object beside it (the zKillboard API shape), in
time order, with killmail ids rising with time. The same ``count``, seed
and universe give the same bytes, and a shorter run is a prefix of a
longer one.

Fleet fights of two or three coalitions make about half of all kills
(:mod:`evedmv_tui.generate.scenarios` describes what a fight looks like).
The rest are small skirmishes, one-sided massacres, solo kills and NPC
kills (attackers with only a faction or an NPC corporation). Gate camps on
hub systems run for hours, and highsec ganks end with CONCORD killing the
gankers. Structure, control tower and deployable kills have victims
without ``character_id`` and Upwell structure ids above 10^12 as
``zkb.locationID``. Pods die after ship losses, rarely in highsec, and
character ids pass 2^31.

With ``static=None`` the hand-written universe of
:mod:`evedmv_tui.generate.universe` is used; pass :func:`load_universe`'s
result to draw real hulls, systems and gates from loaded static data.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import random
from collections.abc import Iterator
from pathlib import Path

import msgspec

from evedmv_tui.generate.documents import DocumentBuilder, format_time
from evedmv_tui.generate.scenarios import Context, Kill, draw_scenario
from evedmv_tui.generate.universe import Universe, builtin_universe, load_universe
from evedmv_tui.generate.world import build_world

__all__ = [
    "DEFAULT_START",
    "Universe",
    "builtin_universe",
    "format_time",
    "generate_killmails",
    "load_universe",
    "write_jsonl",
]

log = logging.getLogger(__name__)

DEFAULT_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DEFAULT_KILLS_PER_DAY = 12_000.0
"""Average kill rate. The EVE Ref archives of 2021-11-27 to 12-02 hold
10,671 to 17,862 kills a day."""
FIRST_KILLMAIL_ID = 120_000_000


def generate_killmails(
    count: int,
    seed: int,
    *,
    static: Universe | None = None,
    start: dt.datetime = DEFAULT_START,
    kills_per_day: float = DEFAULT_KILLS_PER_DAY,
) -> Iterator[bytes]:
    """Yield ``count`` killmail documents as JSON bytes, oldest first."""
    if count <= 0:
        return
    universe = static if static is not None else builtin_universe()
    rng = random.Random(seed)
    world = build_world(rng, universe)
    context = Context(rng, universe, world, [])
    builder = DocumentBuilder(rng, universe)
    encoder = msgspec.json.Encoder()
    rate = kills_per_day / 86_400.0
    clock = start.timestamp()
    pending: list[tuple[float, int, Kill]] = []
    sequence = 0
    killmail_id = FIRST_KILLMAIL_ID
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
            yield encoder.encode(builder.build(kill, killmail_id))
            emitted += 1


def write_jsonl(
    path: Path | str,
    count: int,
    seed: int,
    *,
    static: Universe | None = None,
    start: dt.datetime = DEFAULT_START,
) -> int:
    """Write ``count`` generated killmails to ``path`` as JSON Lines; return count."""
    written = 0
    with open(path, "wb") as out:
        buffer: list[bytes] = []
        for document in generate_killmails(count, seed, static=static, start=start):
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

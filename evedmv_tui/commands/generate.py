"""``evedmv generate``: write seeded, realistic killmails as JSON Lines."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from evedmv_tui.commands.arguments import whole
from evedmv_tui.commands.helptext import examples
from evedmv_tui.commands.output import discard_stdout, stdout_write_error
from evedmv_tui.config import Settings
from evedmv_tui.errors import ConfigError, DatabaseUnavailable, EvedmvError
from evedmv_tui.generate import (
    DEFAULT_KILLS_PER_DAY,
    DEFAULT_START,
    MAX_SEED,
    SCENARIO_LENGTH,
    SPAN_MARGIN,
    Universe,
    builtin_universe,
    default_workers,
    generate_killmails,
    load_universe,
    mean_span,
    span_bound,
)
from evedmv_tui.ingest.follow import format_duration
from evedmv_tui.ingest.shapes import EARLIEST_TIME
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import open_database
from evedmv_tui.store.migrate import SchemaNotReady
from evedmv_tui.widgets.text import count_noun

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    generate = subparsers.add_parser(
        "generate",
        help="write generated killmails (ESI bodies with zkb blocks) as JSON Lines",
        description="Write realistic killmails: fleet fights, solo and NPC kills,"
        " gate camps, ganks and structure kills. The same seed and count give"
        " the same bytes, and different seeds never share a killmail id.",
        **examples(
            "evedmv generate -n 50000 --seed 7 -o kills.jsonl",
            "evedmv generate -n 1000 -o kills.jsonl && evedmv import kills.jsonl",
        ),
    )
    generate.add_argument(
        "-n",
        "--killmails",
        "--count",
        dest="count",
        type=whole(),
        default=10_000,
        help="killmails to write (default 10,000)",
    )
    generate.add_argument(
        "--seed",
        type=whole(0, MAX_SEED),
        default=1,
        help="random seed, from 0 (default 1); each seed has killmail ids of its"
        " own, from seed * 10,000,000,000 + 120,000,000 on",
    )
    generate.add_argument(
        "-o",
        "--output",
        default="-",
        help="output file, '-' for standard output (default)",
    )
    generate.add_argument(
        "--start",
        type=_parse_start,
        default=DEFAULT_START,
        help="time of the first kill, ISO 8601 in UTC (default 2025-01-01T00:00:00)",
    )
    generate.add_argument(
        "--universe",
        choices=("auto", "builtin", "database"),
        default="auto",
        help="where hulls, systems and gates come from: 'database' reads loaded"
        " static data from the DSN's server or the running private cluster"
        " (it never starts the cluster), 'builtin' uses the small hand-written"
        " map, 'auto' uses the database when a DSN is set or the private"
        " cluster runs and it has static data (default)",
    )
    generate.add_argument(
        "--workers",
        type=whole(0, 64),
        help="processes that build documents (default: 2 from 50,000"
        " killmails on a machine with 2 or more cores, else none); the output"
        " is the same for any number",
    )
    generate.set_defaults(handler=generate_command)


def _parse_start(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: use ISO 8601, e.g. 2025-01-01T00:00:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if moment < EARLIEST_TIME:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: import rejects killmails before"
            f" {EARLIEST_TIME:%Y-%m-%d} (EVE Online launched in May 2003), so"
            " give a later start"
        )
    return moment


def check_span(start: dt.datetime, count: int, now: dt.datetime) -> None:
    """Raise :class:`ConfigError` unless ``count`` kills from ``start`` end by ``now``.

    Import rejects killmails more than a day past its clock, and a kill in
    the future would become the newest killmail, which ends every intel
    period. So the whole run must lie in the past.
    """
    span = span_bound(count)
    latest = now - span
    if start <= latest:
        return
    hint = _span_hint(start, count, now)
    end = _describe_end(start, count, now)
    raise ConfigError(
        "invalid --start",
        f"{count_noun(count, 'killmail')} from {start.isoformat()} {end},"
        f" after this machine's clock ({now:%Y-%m-%d %H:%M} UTC), but generated"
        " killmails must lie in the past, because import rejects future ones",
        hint,
    )


def _span_hint(start: dt.datetime, count: int, now: dt.datetime) -> str:
    """Return the hint for a run that fails :func:`check_span`.

    It names an earlier start, fewer killmails, or both. No count fits a
    start less than one scenario back, so fewer killmails from this start
    are offered only when some fit.
    """
    latest = now - span_bound(count)
    fits = largest_count(start, now)
    scenario = format_duration(SCENARIO_LENGTH.total_seconds())
    any_run = (
        f"a run needs a start more than {scenario} back, because the kills of"
        f" one scenario can run {scenario} past its start"
    )
    if latest >= EARLIEST_TIME:
        earlier = f"give --start {latest:%Y-%m-%dT%H:%M:%S} or earlier"
        if not fits:
            return f"{earlier}: {any_run}"
        fewer = count_noun(fits, "killmail")
        return f"{earlier}, or generate at most {fewer} from this --start"
    too_long = (
        f"{count:,} at {DEFAULT_KILLS_PER_DAY:,.0f} a day span about"
        f" {mean_span(count).days:,} days, more than the time since"
        f" {EARLIEST_TIME:%Y-%m-%d}"
    )
    if not fits:
        return (
            f"generate fewer killmails from an earlier --start: {too_long},"
            f" and {any_run}"
        )
    return f"generate fewer killmails, at most {fits:,} from this --start: {too_long}"


def largest_count(start: dt.datetime, now: dt.datetime) -> int:
    """Return the largest killmail count from ``start`` that ends by ``now``.

    The count passes :func:`check_span`, and is 0 when no count does.
    """
    room = now - start
    if span_bound(0) > room:
        return 0
    # Invert span_bound, then step past any float rounding either way.
    scenario_free = (room - span_bound(0)) / SPAN_MARGIN
    count = int(scenario_free / dt.timedelta(days=1) * DEFAULT_KILLS_PER_DAY)
    while span_bound(count + 1) <= room:
        count += 1
    while count > 0 and span_bound(count) > room:
        count -= 1
    return count


def _describe_end(start: dt.datetime, count: int, now: dt.datetime) -> str:
    """Describe the run's expected end, or its latest end if the expected one is past.

    A run ends about :func:`mean_span` after its start, at
    :data:`DEFAULT_KILLS_PER_DAY`. The check allows :func:`span_bound`,
    which adds the 6 hours one scenario can last, so a start can fail the
    check while the expected end is still before ``now``.
    """
    try:
        expected = start + mean_span(count)
        if expected > now:
            return f"would run until about {expected:%Y-%m-%d %H:%M} UTC"
        bound = start + span_bound(count)
        return f"could run until {bound:%Y-%m-%d %H:%M} UTC"
    except OverflowError:
        return "would run past the year 9999"


def choose_universe(settings: Settings, choice: str) -> Universe:
    """Return the universe for ``--universe choice``."""
    if choice == "builtin":
        return builtin_universe()
    state = None if settings.dsn else PrivateCluster(settings.data_dir).status()
    if state is not None and not state.running:
        if choice == "auto":
            return builtin_universe()
        # Creating or starting the cluster here, only to find no static data
        # in it, would also send every later 'auto' run to the database.
        raise DatabaseUnavailable(
            "private cluster not running",
            f"--universe database reads static data from PostgreSQL in"
            f" {state.directory}: {state.message}",
            "run 'evedmv db start', and 'evedmv sde import PATH' unless static"
            " data is loaded, or use --universe builtin",
        )
    try:
        with open_database(settings) as db:
            loaded = load_universe(db)
    except SchemaNotReady:
        # A --dsn database without the evedmv tables has no static data.
        if choice == "database":
            raise
        loaded = None
    if loaded is None:
        if choice == "database":
            raise ConfigError(
                "no static data loaded",
                "the database has no solar systems to generate kills in",
                "run 'evedmv sde import PATH' first, or use --universe builtin",
            )
        return builtin_universe()
    return loaded


def generate_command(args: argparse.Namespace, settings: Settings) -> int:
    check_span(args.start, args.count, dt.datetime.now(dt.UTC))
    universe = choose_universe(settings, args.universe)
    started = time.perf_counter()
    workers = default_workers(args.count) if args.workers is None else args.workers
    documents = generate_killmails(
        args.count, args.seed, static=universe, start=args.start, workers=workers
    )
    if args.output == "-":
        out = sys.stdout.buffer
        error = write_lines(out, documents, finish=out.flush)
        if error is not None:
            discard_stdout()
            failed = stdout_write_error(error)
            failed.hint = f"{failed.hint} with --output FILE"
            raise failed
    else:
        path = Path(args.output)
        write_file(path, documents)
        seconds = time.perf_counter() - started
        print(
            f"wrote {args.count} killmails to {path} in {seconds:.1f} s"
            f" ({universe.source} universe, seed {args.seed})",
            file=sys.stderr,
        )
    return 0


def write_lines(
    stream: BinaryIO, documents: Iterable[bytes], *, finish: Callable[[], None]
) -> OSError | None:
    """Write each document and a newline to ``stream``, then call ``finish``.

    ``finish`` flushes or closes the stream. Returns the error of the write
    or ``finish`` that failed, which ends the writing, or None. Raises
    BrokenPipeError, which :func:`evedmv_tui.cli.main` handles, and any
    error of generating the documents.
    """
    for document in documents:
        try:
            stream.write(document + b"\n")
        except BrokenPipeError:
            raise
        except OSError as exc:
            return exc
    try:
        finish()
    except BrokenPipeError:
        raise
    except OSError as exc:
        return exc
    return None


def write_file(path: Path, documents: Iterable[bytes]) -> None:
    """Write ``documents`` to ``path`` as JSON Lines.

    Raises:
        OSError: the file cannot be opened; :func:`evedmv_tui.cli.main`
            names it.
        EvedmvError: a write failed, for example on a full disk. A regular
            file is removed then, because it holds only part of the run; a
            device or a named pipe is left alone.
    """
    with open(path, "wb") as file:
        regular = stat.S_ISREG(os.fstat(file.fileno()).st_mode)
        error = write_lines(file, documents, finish=file.close)
        if error is not None:
            # Closing the buffered file would write its buffer again and fail.
            file.raw.close()
    if error is None:
        return
    reason = error.strerror or str(error)
    if regular:
        # Through a symbolic link, the partial file is the link's target.
        written = path.resolve()
        named = f" {written}" if path.is_symlink() else ""
        written.unlink(missing_ok=True)
        reason += f" (the partial file{named} was removed)"
    raise EvedmvError(
        "write failed",
        f"{path}: {reason}",
        "free space on its file system, or give another path with --output",
    )

"""``evedmv demo``: a private cluster with static data and generated kills.

The first run starts the private cluster (or uses ``--dsn``), loads static
data, writes and imports the demo killmails, names their generated
characters, corporations and alliances, then opens the dashboard. Later
runs find everything loaded and go straight to the dashboard, after
importing the SDE again when ``--sde`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evedmv_tui.commands.arguments import whole
from evedmv_tui.commands.battles import EARLIER_CHANGE, detect_if_outdated
from evedmv_tui.commands.helptext import examples
from evedmv_tui.commands.sde import DETECTION_TABLES
from evedmv_tui.config import Settings
from evedmv_tui.errors import ConfigError
from evedmv_tui.generate import (
    DEFAULT_KILLS_PER_DAY,
    DEFAULT_START,
    MAX_SEED,
    SCENARIO_LENGTH,
    SPAN_MARGIN,
    generated_world,
    load_universe,
    span_bound,
    write_jsonl,
)
from evedmv_tui.generate.names import store_generated_names
from evedmv_tui.generate.universe import builtin_static_tables, builtin_universe
from evedmv_tui.ingest.hooks import BatchResult, default_hooks, run_hooks
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.ingest.shapes import EARLIEST_TIME
from evedmv_tui.intel import totals
from evedmv_tui.prices import MarketPrice, store_prices
from evedmv_tui.sde import import_sde, load_tables, static_counts
from evedmv_tui.store.connect import open_database
from evedmv_tui.store.db import Database, NamedSql
from evedmv_tui.store.telemetry import operation
from evedmv_tui.widgets.text import count_noun

log = logging.getLogger(__name__)

DEFAULT_COUNT = 20_000
DEFAULT_SEED = 2025
SDE_VARIABLE = "EVEDMV_SDE"
LOAD_LOCK_KEY = 0x65766564_64656D6F
"""``pg_advisory_lock`` key that serialises demo loads into one database."""

IMPORTED = NamedSql(
    "demo.imported",
    "SELECT inserted + duplicates FROM imports"
    " WHERE %(path)s = ANY(paths) AND finished_at IS NOT NULL"
    " ORDER BY import_id DESC LIMIT 1",
)
COUNTS = NamedSql(
    "demo.counts",
    "SELECT (SELECT count(*) FROM killmails), (SELECT count(*) FROM prices),"
    " (SELECT count(*) FROM battles)",
)


class _BatchCollector:
    """Post-batch hook that gathers every batch of one import into one result.

    The demo runs the default hooks (battle detection, watch matching) once
    over the whole import: one detection over 20,000 kills takes a fraction
    of twenty incremental ones.
    """

    def __init__(self) -> None:
        self.inserted: list[int] = []
        self.updated: list[int] = []
        self.systems: set[int] = set()
        self.min_time: dt.datetime | None = None
        self.max_time: dt.datetime | None = None

    def __call__(self, db: Database, result: BatchResult) -> None:
        self.inserted.extend(result.inserted_ids)
        self.updated.extend(result.updated_ids)
        self.systems.update(result.solar_system_ids)
        if result.min_time is not None:
            low = self.min_time
            self.min_time = (
                result.min_time if low is None else min(low, result.min_time)
            )
        if result.max_time is not None:
            high = self.max_time
            self.max_time = (
                result.max_time if high is None else max(high, result.max_time)
            )

    def merged(self) -> BatchResult:
        return BatchResult(
            tuple(self.inserted),
            tuple(self.updated),
            self.min_time,
            self.max_time,
            tuple(sorted(self.systems)),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class DemoSummary:
    """Static data, prices and killmails that ``evedmv demo`` found or loaded."""

    static_source: str
    """``sde`` (imported now), ``builtin`` (stored now) or ``existing``."""
    static: dict[str, int]
    prices_loaded: int
    demo_file: str
    killmails_imported: int
    killmails_skipped: bool
    killmails_total: int
    prices_total: int
    battles_total: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def max_demo_count(now: dt.datetime) -> int:
    """Return the largest count that :func:`demo_start` can place before ``now``."""
    room = (now - EARLIEST_TIME - SCENARIO_LENGTH) / dt.timedelta(days=1)
    count = max(int(room * DEFAULT_KILLS_PER_DAY / SPAN_MARGIN), 0)
    # Float rounding may leave the last killmail a few microseconds short.
    while count > 0 and now - span_bound(count) < EARLIEST_TIME:
        count -= 1
    return count


def demo_start(count: int, now: dt.datetime) -> dt.datetime:
    """Return the time of the first demo kill, so the whole run lies before ``now``.

    That is :data:`DEFAULT_START` when :func:`span_bound` of ``count`` ends
    by ``now``, else midnight UTC of the latest start that does. Import
    rejects killmails before :data:`EARLIEST_TIME` or more than a day in the
    future.

    Raises:
        ConfigError: ``count`` killmails span more than the time from
            :data:`EARLIEST_TIME` to ``now``.
    """
    span = span_bound(count)
    latest = now - span
    if latest >= DEFAULT_START:
        return DEFAULT_START
    if latest < EARLIEST_TIME:
        raise ConfigError(
            "invalid --count",
            f"{count:,} killmails at {DEFAULT_KILLS_PER_DAY:,.0f} a day span"
            f" about {span.days:,} days, more than the"
            f" {(now - EARLIEST_TIME).days:,} days from {EARLIEST_TIME:%Y-%m-%d}"
            " to this machine's clock, but import rejects killmails before"
            f" {EARLIEST_TIME:%Y-%m-%d} or in the future",
            f"pass --count {max_demo_count(now):,} or less",
        )
    midnight = latest.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(midnight, EARLIEST_TIME)


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="load static data and generated killmails once, then open the dashboard",
        description="Start the private cluster (unless --dsn is given), load"
        " static data and the demo killmails if they are not loaded yet, and"
        " open the dashboard. An SDE given with --sde is imported every time.",
        **examples(
            "evedmv demo",
            "evedmv demo --sde eve-online-static-data-3031812-jsonl.zip",
        ),
    )
    demo.add_argument(
        "--sde",
        type=Path,
        help="CCP's static data export to import, as 'evedmv sde import' does,"
        " also when static data is loaded. Without it, the export in"
        f" {SDE_VARIABLE} or else a small built-in universe is stored when no"
        " static data is loaded",
    )
    demo.add_argument(
        "--count",
        type=whole(),
        default=DEFAULT_COUNT,
        help=f"generated killmails to load (default {DEFAULT_COUNT}); the first"
        f" kill is on {DEFAULT_START:%Y-%m-%d}, or earlier when the kills would"
        " otherwise run past this machine's clock",
    )
    demo.add_argument(
        "--seed",
        type=whole(0, MAX_SEED),
        default=DEFAULT_SEED,
        help=f"generator seed, from 0 (default {DEFAULT_SEED})",
    )
    demo.add_argument(
        "--no-dashboard",
        action="store_true",
        help="print what was loaded instead of opening the dashboard",
    )
    demo.add_argument(
        "--json", action="store_true", help="with --no-dashboard, print JSON"
    )
    demo.set_defaults(handler=demo_command)


def _load_static(db: Database, sde: Path | None, default_sde: Path | None) -> str:
    """Import ``sde``, or else store ``default_sde`` or the built-in universe once.

    Returns ``sde`` when an export was imported, ``builtin`` when the
    built-in universe was stored, and ``existing`` when static data was
    already loaded and nothing was imported.
    """
    if sde is None and static_counts(db)["solar_systems"]:
        return "existing"
    path = sde if sde is not None else default_sde
    if path is not None:
        _import_sde(db, path)
        return "sde"
    load_tables(db, builtin_static_tables())
    log.info("demo: stored the built-in universe")
    return "builtin"


def _import_sde(db: Database, path: Path) -> None:
    """Import an SDE and update what depends on it, as 'evedmv sde import' does.

    The entity totals are recounted when ship classes changed, and stored
    battles are detected again when systems, gates, types or groups changed.

    Raises:
        ConfigError: ``path`` is not an SDE, in the words of 'sde import'.
    """
    classes = totals.ship_class_digest(db)
    summary = import_sde(db, path)
    log.info("demo: imported the SDE from %s", summary.path)
    recounted = totals.recount_if_classes_changed(db, classes)
    if recounted:
        log.info("demo: ship classes changed, recounted %d killmails", recounted)
    changed = any(
        table.inserted or table.updated
        for table in summary.tables
        if table.table in DETECTION_TABLES
    )
    redetection = detect_if_outdated(db, changed, detect=True)
    if redetection.battles is not None:
        cause = (
            "static data changed"
            if changed
            else f"battles out of date from {EARLIER_CHANGE}"
        )
        log.info("demo: %s, detected every battle again", cause)


def _load_prices(db: Database) -> int:
    """Store the built-in prices when the prices table is empty."""
    if db.fetch_value("SELECT count(*) FROM prices"):
        return 0
    prices = builtin_universe().prices
    rows = [MarketPrice(type_id, price, None) for type_id, price in prices.items()]
    store_prices(db, rows)
    return len(rows)


@contextlib.contextmanager
def _load_lock(db: Database) -> Iterator[None]:
    """Hold a session advisory lock, so a second demo waits for the first load.

    Without it, two demo commands at once both find nothing loaded, write
    the same killmail file at the same time and import it twice.
    """
    with db.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOAD_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOAD_LOCK_KEY,))


def load_demo(
    db: Database,
    settings: Settings,
    *,
    sde: Path | None,
    count: int,
    seed: int,
    start: dt.datetime = DEFAULT_START,
    default_sde: Path | None = None,
) -> DemoSummary:
    """Load static data, prices and the demo killmails, each only once.

    ``sde`` is imported on every call (importing an export again changes
    nothing). ``default_sde`` is imported only when no static data is
    loaded, in place of the built-in universe. ``start`` is the time of
    the first generated kill.
    """
    with operation("demo.load"), _load_lock(db):
        static_source = _load_static(db, sde, default_sde)
        prices_loaded = _load_prices(db)
        folder = settings.data_dir / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"killmails-seed{seed}-n{count}.jsonl"
        done = db.fetch_value(IMPORTED, {"path": str(path)})
        imported = 0
        if done is None:
            universe = load_universe(db) or builtin_universe()
            write_jsonl(path, count, seed, static=universe, start=start)
            collector = _BatchCollector()
            summary = import_paths(db, [path], offline=True, after_batch=[collector])
            run_hooks(db, default_hooks(), collector.merged())
            imported = summary.inserted
            # Name the seed's own population only: the database may hold real
            # killmails too, whose entities must keep their real names.
            world = generated_world(seed, static=universe)
            named = store_generated_names(db, world)
            log.info("demo: stored %d made-up names", named)
            log.info("demo: imported %d generated killmails", imported)
        totals = db.fetch_one(COUNTS)
    assert totals is not None
    return DemoSummary(
        static_source,
        static_counts(db),
        prices_loaded,
        str(path),
        imported,
        done is not None,
        int(totals[0]),
        int(totals[1]),
        int(totals[2]),
    )


def _print(summary: DemoSummary) -> None:
    static = summary.static
    source = {
        "sde": "imported from the SDE",
        "builtin": "stored the built-in universe",
        "existing": "already loaded",
    }[summary.static_source]
    print(
        f"static data: {source}: {static['solar_systems']} systems,"
        f" {static['stargate_jumps']} gate jumps, {static['types']} types"
    )
    if summary.prices_loaded:
        print(f"prices: stored {summary.prices_loaded} built-in prices")
    if summary.killmails_skipped:
        print(f"demo killmails: already imported from {summary.demo_file}")
    else:
        print(
            f"demo killmails: imported {summary.killmails_imported:,}"
            f" from {summary.demo_file}"
        )
    print(
        f"database: {count_noun(summary.killmails_total, 'killmail')},"
        f" {count_noun(summary.battles_total, 'battle')}"
    )


def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.count <= 0:
        raise ConfigError(
            "invalid --count",
            f"{args.count} is not positive",
            "pass e.g. --count 20000",
        )
    start = demo_start(args.count, dt.datetime.now(dt.UTC))
    sde = args.sde
    default_sde = None
    if sde is None and os.environ.get(SDE_VARIABLE):
        default_sde = Path(os.environ[SDE_VARIABLE])
    for path in (sde, default_sde):
        if path is not None and not path.exists():
            raise ConfigError(
                "static data export not found",
                f"{path} does not exist",
                f"give the path of an SDE zip or folder, or leave --sde and"
                f" {SDE_VARIABLE} out",
            )
    with open_database(settings) as db:
        summary = load_demo(
            db,
            settings,
            sde=sde,
            default_sde=default_sde,
            count=args.count,
            seed=args.seed,
            start=start,
        )
    if args.no_dashboard:
        if args.json:
            print(json.dumps(summary.as_dict()))
        else:
            _print(summary)
        return 0
    from evedmv_tui.cli import configure_logging
    from evedmv_tui.commands.dashboard import run_dashboard

    # The dashboard owns the terminal from here: log to the file or nowhere.
    configure_logging(settings, to_stderr=False)
    return run_dashboard(settings)

"""``evedmv sde import PATH`` and ``evedmv sde status``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from evedmv_tui.commands.battles import detect_if_outdated
from evedmv_tui.commands.helptext import examples
from evedmv_tui.config import Settings
from evedmv_tui.intel import totals
from evedmv_tui.sde import SdeSummary, import_sde, static_counts
from evedmv_tui.store.connect import open_database

DETECTION_TABLES = frozenset({"solar_systems", "stargate_jumps", "types", "groups"})
"""Static tables battle detection reads: the gate graph that merges nearby
systems, each system's region, and the ship class of each type."""


def register(subparsers: Any) -> None:
    sde = subparsers.add_parser(
        "sde",
        help="load CCP's static data export",
        description="Load CCP's static data export (SDE): the map and the item"
        " types that name systems, regions and ships and give each hull its"
        " class. Without it the app knows only a small built-in universe.",
        **examples(
            "evedmv sde import eve-online-static-data-3031812-jsonl.zip",
            "evedmv sde status",
        ),
    )
    commands = sde.add_subparsers(title="sde commands", metavar="ACTION", required=True)
    load = commands.add_parser(
        "import",
        help="import the SDE: CCP's JSON Lines zip or folder, or CSV dumps",
        description="Import regions, constellations, solar systems, stargates,"
        " categories, groups and types. Importing the same export again"
        " changes nothing. When the import changes systems, gates, types or"
        " groups and battles are stored, every battle is detected again, as"
        " 'evedmv battles detect --rebuild' does, keeping side overrides.",
        **examples(
            "evedmv sde import eve-online-static-data-3031812-jsonl.zip",
            "evedmv sde import ~/sde-csv/ --no-detect",
        ),
    )
    load.add_argument(
        "path",
        type=Path,
        help="eve-online-static-data-*-jsonl.zip, its unpacked folder, or a"
        " folder of CSV dumps (solar_systems.csv or mapSolarSystems.csv, ...)",
    )
    load.add_argument(
        "--no-detect",
        action="store_true",
        help="leave stored battles as they are, for a large database; then run"
        " 'evedmv battles detect --rebuild' to update them",
    )
    load.add_argument("--json", action="store_true", help="print one JSON object")
    load.set_defaults(handler=import_command)
    status = commands.add_parser(
        "status",
        help="print the static data row counts",
        description="Print how many regions, systems, types and the rest are"
        " stored, and say so when no static data is loaded.",
        **examples("evedmv sde status --json"),
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=status_command)


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        classes = totals.ship_class_digest(db)
        summary = import_sde(db, args.path)
        recounted = totals.recount_if_classes_changed(
            db, classes, TotalsProgress(sys.stderr)
        )
        redetection = detect_if_outdated(
            db, _detection_inputs_changed(summary), detect=not args.no_detect
        )
    if args.json:
        document = {**summary.as_dict(), "totals_recounted": recounted}
        print(json.dumps(document | redetection.json_fields()))
        return 0
    build = f", build {summary.build}" if summary.build else ""
    print(f"imported {summary.path} ({summary.format}{build})")
    for table in summary.tables:
        print(
            f"  {table.table:<15} {table.read:>7} read"
            f" {table.inserted:>7} new {table.updated:>7} changed"
        )
    for name in summary.missing:
        print(f"  {name:<15} not in this export, left as it was")
    if recounted:
        print(f"ship classes changed: recounted {recounted:,} killmails in the totals")
    redetection.report(
        "static data changed", "still use the old systems, gates or ship classes"
    )
    return 0


PROGRESS_INTERVAL = 2.0
"""Seconds between progress lines of a long recount of the entity totals."""


class TotalsProgress:
    """Write a line now and then while the entity totals are recounted.

    A recount that ends within :data:`PROGRESS_INTERVAL` writes nothing.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL or done >= total:
            return
        self._last = now
        self.stream.write(
            f"evedmv: {done / total:4.0%} ship classes changed: refiling ships"
            f" in the entity totals, {done:,} of {total:,} killmails\n"
        )
        self.stream.flush()


def _detection_inputs_changed(summary: SdeSummary) -> bool:
    """Return whether the import changed a table that battle detection reads."""
    return any(
        table.inserted or table.updated
        for table in summary.tables
        if table.table in DETECTION_TABLES
    )


def status_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        counts = static_counts(db)
    if args.json:
        print(json.dumps(counts))
        return 0
    for table, count in counts.items():
        print(f"{table:<15} {count:>7}")
    if not counts["solar_systems"]:
        print("no static data loaded: run 'evedmv sde import PATH'")
    return 0

"""``evedmv sde import PATH`` and ``evedmv sde status``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evedmv_tui.config import Settings
from evedmv_tui.intel import totals
from evedmv_tui.sde import import_sde, static_counts
from evedmv_tui.store.connect import open_database


def register(subparsers: Any) -> None:
    sde = subparsers.add_parser("sde", help="load CCP's static data export")
    commands = sde.add_subparsers(title="sde commands", metavar="ACTION", required=True)
    load = commands.add_parser(
        "import",
        help="import the SDE: CCP's JSON Lines zip or folder, or CSV dumps",
        description="Import regions, constellations, solar systems, stargates,"
        " categories, groups and types. Importing the same export again"
        " changes nothing.",
    )
    load.add_argument(
        "path",
        type=Path,
        help="eve-online-static-data-*-jsonl.zip, its unpacked folder, or a"
        " folder of CSV dumps (solar_systems.csv or mapSolarSystems.csv, ...)",
    )
    load.add_argument("--json", action="store_true", help="print one JSON object")
    load.set_defaults(handler=import_command)
    status = commands.add_parser("status", help="print the static data row counts")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=status_command)


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        classes = totals.ship_class_digest(db)
        summary = import_sde(db, args.path)
        recounted = totals.recount_if_classes_changed(db, classes)
    if args.json:
        print(json.dumps({**summary.as_dict(), "totals_recounted": recounted}))
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
    return 0


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

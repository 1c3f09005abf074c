"""``evedmv prices import PATH``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evedmv_tui.config import Settings
from evedmv_tui.prices import import_prices
from evedmv_tui.store.connect import open_database


def register(subparsers: Any) -> None:
    prices = subparsers.add_parser("prices", help="load item prices for ISK values")
    commands = prices.add_subparsers(
        title="prices commands", metavar="ACTION", required=True
    )
    load = commands.add_parser(
        "import",
        help="import an ESI /markets/prices/ response",
        description="Store average and adjusted prices, then value again every"
        " killmail that has no zKillboard values.",
    )
    load.add_argument(
        "path", type=Path, help="JSON file with the body of GET /markets/prices/"
    )
    load.add_argument(
        "--no-revalue",
        action="store_true",
        help="only store the prices; leave computed killmail values as they are",
    )
    load.add_argument("--json", action="store_true", help="print one JSON object")
    load.set_defaults(handler=import_command)


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        summary = import_prices(db, args.path, revalue=not args.no_revalue)
    if args.json:
        print(json.dumps(summary.as_dict()))
        return 0
    print(
        f"imported {summary.read} prices from {summary.path}:"
        f" {summary.inserted} new, {summary.updated} changed"
    )
    print(f"valued {summary.revalued} killmails without zKillboard values")
    return 0

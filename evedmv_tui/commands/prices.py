"""``evedmv prices import PATH``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evedmv_tui.commands.battles import detect_if_outdated
from evedmv_tui.commands.helptext import examples
from evedmv_tui.commands.output import printable
from evedmv_tui.config import Settings
from evedmv_tui.prices import import_prices
from evedmv_tui.store.connect import open_database


def register(subparsers: Any) -> None:
    prices = subparsers.add_parser(
        "prices",
        help="load item prices for ISK values",
        description="Load item prices from ESI's /markets/prices/ response."
        " They value the killmails that came without zKillboard's ISK values.",
        **examples(
            "curl -o prices.json https://esi.evetech.net/latest/markets/prices/",
            "evedmv prices import prices.json",
        ),
    )
    commands = prices.add_subparsers(
        title="prices commands", metavar="ACTION", required=True
    )
    load = commands.add_parser(
        "import",
        help="import an ESI /markets/prices/ response",
        description="Store average and adjusted prices, then value again every"
        " killmail that has no zKillboard values. When values change and"
        " battles are stored, every battle is detected again, as 'evedmv"
        " battles detect --rebuild' does, because values weigh the sides and"
        " make the ISK figures. A record that fails its checks is kept in the"
        " rejects table ('evedmv rejects list') and the others are stored; the"
        " command then exits with status 1.",
        **examples(
            "evedmv prices import prices.json",
            "evedmv prices import prices.json --no-detect",
        ),
    )
    load.add_argument(
        "path", type=Path, help="JSON file with the body of GET /markets/prices/"
    )
    load.add_argument(
        "--no-revalue",
        action="store_true",
        help="only store the prices; leave computed killmail values as they are",
    )
    load.add_argument(
        "--no-detect",
        action="store_true",
        help="leave stored battles as they are, for a large database; then run"
        " 'evedmv battles detect --rebuild' to update them",
    )
    load.add_argument("--json", action="store_true", help="print one JSON object")
    load.set_defaults(handler=import_command)


MAX_SHOWN = 10
"""Rejected records the command prints; 'evedmv rejects list' has all."""


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        summary = import_prices(db, args.path, revalue=not args.no_revalue)
        redetection = detect_if_outdated(
            db, summary.revalued > 0, detect=not args.no_detect
        )
    if args.json:
        print(json.dumps(summary.as_dict() | redetection.json_fields()))
        return 1 if summary.rejects else 0
    stored = summary.read - len(summary.rejects)
    print(
        f"imported {stored:,} prices from {summary.path}:"
        f" {summary.inserted:,} new, {summary.updated:,} changed"
    )
    if args.no_revalue:
        print(
            "killmail values left as they were (--no-revalue); the next price"
            " import without it values them"
        )
    else:
        print(
            f"values changed for {summary.revalued:,} killmails without"
            " zKillboard values"
        )
    redetection.report("killmail values changed", "still show the old values")
    if summary.rejects:
        print(
            f"{len(summary.rejects):,} of {summary.read:,} records rejected;"
            " fix them or fetch the response again ('evedmv rejects list'"
            " keeps them):",
            file=sys.stderr,
        )
        for reject in summary.rejects[:MAX_SHOWN]:
            print(printable(f"  {reject.describe()}"), file=sys.stderr)
        if len(summary.rejects) > MAX_SHOWN:
            print(
                f"  ... and {len(summary.rejects) - MAX_SHOWN:,} more",
                file=sys.stderr,
            )
        return 1
    return 0

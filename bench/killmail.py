"""Time the killmail screen on the real killmail with the most attackers.

Usage: .venv/bin/python bench/killmail.py [--count N] [--repeat R] [--work DIR]

Steps, on a private cluster under ``--work`` (kept between runs, so the data
is imported only once):

1. import the shared SDE, the ESI prices of 2025-05-13, ``N`` generated
   killmails (default 20,000) as other rows in the same tables, and the
   zk-activity fixtures: 16 real killmails, among them the Keepstar kill
   131126432 with 3,753 attackers. Every character, corporation and
   alliance gets a seeded made-up name, so the screen shows names, not ids;
2. time :func:`load_killmail` for the Keepstar kill (the screen's queries);
3. ``R`` times (default 5), start the dashboard headless at 80x24 with no
   ESI access and open the killmail screen on the Keepstar kill. From the
   call that opens the screen, time the first frame that shows attackers
   (target 0.3 s) and the moment every attacker is in the table. In a
   second app, time End pressed right after the first frame, until the
   cursor is on the last attacker and the screen is drawn again.

Each app is new, so no run inherits the widgets of an earlier one. The
median of the ``R`` runs is reported. The last output line is one JSON
object with the figures and the ratio of the first frame to the target
(below 1 meets it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.widgets import DataTable

from bench.workdir import (
    add_work_arguments,
    generated_file,
    open_database,
    store_names,
)
from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.prices import import_prices
from evedmv_tui.queries.killmail import load_killmail
from evedmv_tui.sde import import_sde
from evedmv_tui.store.db import Database

KILLMAIL_ID = 131126432
"""The Keepstar kill of the zk-activity fixtures: 3,753 attackers, no items."""
KILLMAIL_FILE = "killmails/real/zk_activity_fixtures.jsonl"
PRICE_FILE = "prices/esi_markets_prices_2025-05-13.json"
FIRST_FRAME_TARGET_SECONDS = 0.3
SIZE = (80, 24)


def prepare(db: Database, args: argparse.Namespace) -> None:
    """Import the SDE, prices, generated and real killmails once."""
    if not db.fetch_value("SELECT count(*) FROM solar_systems"):
        import_sde(db, args.shared_data / "sde")
    if db.fetch_value("SELECT count(*) FROM killmails") == 0:
        paths = [args.shared_data / KILLMAIL_FILE]
        if args.count:
            paths.insert(0, generated_file(args))
        started = time.perf_counter()
        import_paths(db, paths, offline=True)
        print(f"imported the killmails in {time.perf_counter() - started:.0f} s")
        import_prices(db, args.shared_data / PRICE_FILE)
        print(f"named {store_names(db, args.seed)} entities")
        db.execute("VACUUM ANALYZE")


def time_query(db: Database, repeat: int) -> tuple[float, int]:
    """Return the median time of load_killmail and the attackers it returned."""
    load_killmail(db, KILLMAIL_ID)
    timings = []
    attackers = 0
    for _ in range(repeat):
        started = time.perf_counter()
        lookup = load_killmail(db, KILLMAIL_ID)
        timings.append(time.perf_counter() - started)
        assert lookup.detail is not None
        attackers = len(lookup.detail.attackers)
    return statistics.median(timings), attackers


async def next_frame(app: EvedmvApp) -> float:
    """Wait until the screen has been drawn again; return the time then."""
    drawn: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    app.screen.call_after_refresh(lambda: drawn.set_result(time.perf_counter()))
    return await drawn


async def start_app(settings: Settings, pilot: Any) -> None:
    """Wait until the app is connected and its home screen has loaded."""
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.db is not None, "the benchmark app did not connect"


async def open_once(settings: Settings, attackers: int) -> dict[str, float]:
    """Open the killmail screen in new headless apps; return its timings."""
    app = EvedmvApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start_app(settings, pilot)
        started = time.perf_counter()
        app.open_screen("killmail", KILLMAIL_ID)
        while getattr(app.screen, "detail", None) is None:
            await asyncio.sleep(0.001)
        first_frame = await next_frame(app) - started
        table = app.screen.query_one("#attacker-table", DataTable)
        while table.row_count < attackers:
            await asyncio.sleep(0.001)
        all_rows = time.perf_counter() - started

    app = EvedmvApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await start_app(settings, pilot)
        app.open_screen("killmail", KILLMAIL_ID)
        while getattr(app.screen, "detail", None) is None:
            await asyncio.sleep(0.001)
        await next_frame(app)
        pressed = time.perf_counter()
        await pilot.press("end")
        await next_frame(app)
        end_key = time.perf_counter() - pressed
        table = app.screen.query_one("#attacker-table", DataTable)
        assert table.cursor_row == attackers - 1, table.cursor_row
    return {"first_frame": first_frame, "all_rows": all_rows, "end_key": end_key}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_work_arguments(parser, count=20_000, work=Path("/tmp/evedmv-bench-killmail"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    print(f"load average at start: {load_start:.2f}")
    db = open_database(args, "killmail")
    prepare(db, args)
    query, attackers = time_query(db, args.repeat)
    print(f"load_killmail: {attackers} attackers in {query * 1000:.1f} ms (median)")

    settings = Settings(
        dsn=db.conninfo,
        data_dir=args.work / "app-data",
        state_dir=args.work / "app-state",
        user_agent="evedmv-tui benchmark (bench@example.invalid)",
        offline=True,
    )
    runs = [asyncio.run(open_once(settings, attackers)) for _ in range(args.repeat)]
    db.close()
    figures: dict[str, Any] = {
        "killmail_id": KILLMAIL_ID,
        "attackers": attackers,
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "query_ms": round(query * 1000, 1),
    }
    for name in ("first_frame", "all_rows", "end_key"):
        values = [run[name] for run in runs]
        median = statistics.median(values)
        print(
            f"{name.replace('_', ' ')}: median {median * 1000:.0f} ms"
            f" (runs: {', '.join(f'{v * 1000:.0f}' for v in values)})"
        )
        figures[f"{name}_ms"] = round(median * 1000, 1)
    figures["first_frame_ratio"] = round(
        figures["first_frame_ms"] / 1000 / FIRST_FRAME_TARGET_SECONDS, 3
    )
    load_end = os.getloadavg()[0]
    print(f"load average at end: {load_end:.2f}")
    figures["load_average_start"] = round(load_start, 2)
    figures["load_average_end"] = round(load_end, 2)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

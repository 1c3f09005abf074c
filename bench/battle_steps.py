"""Time side assignment and battle metrics alone, over detected battles.

Usage: .venv/bin/python bench/battle_steps.py [--count N] [--seed S] [--work DIR]
[--rounds R]

The private cluster under ``--work`` is kept between runs, so the data is
imported and detected only once. Its database contains ``N`` generated
killmails (default 60,000, seed 1) and the EVE Ref archive of 2021-11-28.
That archive's Jorund battle has about 1,000 kills. After a full detection, every
stored battle's kills are read once, in the order detection passes them on.
Then :func:`assign_sides` and :func:`build_metrics` run over all battles,
``R`` rounds (default 5), and the fastest round of each step counts.

The last output line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workdir import add_work_arguments, generated_file, open_database
from evedmv_tui.battles.detect import detect_all, load_ship_types
from evedmv_tui.battles.incremental import kill_rows_sql
from evedmv_tui.battles.metrics import ShipType, build_metrics
from evedmv_tui.battles.model import Kill
from evedmv_tui.battles.parameters import BattleParameters, load_parameters
from evedmv_tui.battles.sides import SideAssignment, assign_sides
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.db import Database

REAL_ARCHIVE = "killmails/everef/killmails-2021-11-28.tar.bz2"


def _prepare(db: Database, args: argparse.Namespace) -> None:
    """Import the killmails and detect battles, unless an earlier run did."""
    if not db.fetch_value("SELECT count(*) FROM killmails"):
        generated = generated_file(args)
        started = time.perf_counter()
        import_paths(db, [generated, args.shared_data / REAL_ARCHIVE], offline=True)
        elapsed = time.perf_counter() - started
        print(f"imported {args.count} killmails and the archive in {elapsed:.0f} s")
    if not db.fetch_value("SELECT count(*) FROM battles"):
        summary = detect_all(db)
        print(f"detected {summary.battles} battles in {summary.seconds:.1f} s")


def _battle_kills(db: Database) -> list[list[Kill]]:
    """Return each stored battle's kills by time, then id, as clustering orders them."""
    battles = db.fetch_all(
        "SELECT battle_id, solar_system_ids, start_time, end_time"
        " FROM battles ORDER BY battle_id"
    )
    members: dict[int, list[int]] = collections.defaultdict(list)
    for battle_id, killmail_id in db.fetch_all(
        "SELECT battle_id, killmail_id FROM battle_killmails"
    ):
        members[battle_id].append(killmail_id)
    windows = [
        (system, start, end) for _, systems, start, end in battles for system in systems
    ]
    rows = db.fetch_all(
        kill_rows_sql("window_kills"),
        {
            "systems": [w[0] for w in windows],
            "starts": [w[1] for w in windows],
            "ends": [w[2] for w in windows],
        },
        row=Kill,
    )
    by_id = {kill.killmail_id: kill for kill in rows}
    found = []
    for battle_id, *_ in battles:
        kills = [by_id[killmail_id] for killmail_id in members[battle_id]]
        kills.sort(key=lambda k: (k.killmail_time, k.killmail_id))
        found.append(kills)
    return found


def _time_steps(
    battles: list[list[Kill]],
    params: BattleParameters,
    ship_types: dict[int, ShipType],
    rounds: int,
) -> tuple[float, float]:
    """Return the fastest round's seconds for side assignment and for metrics."""
    best_sides = best_metrics = float("inf")
    for _ in range(rounds):
        assignments: list[SideAssignment] = []
        started = time.perf_counter()
        for kills in battles:
            assignments.append(assign_sides(kills, params))
        best_sides = min(best_sides, time.perf_counter() - started)
        started = time.perf_counter()
        for kills, sides in zip(battles, assignments, strict=True):
            build_metrics(kills, sides, ship_types, params)
        best_metrics = min(best_metrics, time.perf_counter() - started)
    return best_sides, best_metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_work_arguments(parser, count=60_000, work=Path("/tmp/evedmv-bench-steps"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    db = open_database(args, "steps")
    try:
        _prepare(db, args)
        battles = _battle_kills(db)
        params = load_parameters(db)
        ship_ids: set[int] = set()
        for kills in battles:
            for kill in kills:
                ship_ids.add(kill.victim_ship_type_id)
                ship_ids.update(s for s in kill.attacker_ship_type_ids if s is not None)
        ship_types = load_ship_types(db, ship_ids)
    finally:
        db.close()

    kill_count = sum(len(kills) for kills in battles)
    attacker_count = sum(
        len(kill.attacker_character_ids) for kills in battles for kill in kills
    )
    print(
        f"{len(battles)} battles, {kill_count} kills, {attacker_count} attackers,"
        f" largest {max(len(kills) for kills in battles)} kills"
    )
    sides_seconds, metrics_seconds = _time_steps(
        battles, params, ship_types, args.rounds
    )
    figures = {
        "battles": len(battles),
        "kills": kill_count,
        "attackers": attacker_count,
        "rounds": args.rounds,
        "sides_seconds": round(sides_seconds, 4),
        "metrics_seconds": round(metrics_seconds, 4),
        "sides_us_per_kill": round(sides_seconds / kill_count * 1e6, 2),
        "metrics_us_per_kill": round(metrics_seconds / kill_count * 1e6, 2),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

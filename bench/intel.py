"""Time entity pages and search over generated killmails.

Usage: .venv/bin/python bench/intel.py [--count N] [--seed S] [--work DIR]

Steps, on a private cluster under ``--work`` (kept between runs, so the
killmails are generated and imported only once):

1. import the shared SDE, generate ``N`` killmails (default 1,000,000) and
   import them without post-batch hooks, then give every character,
   corporation and alliance a seeded made-up name (generated killmails carry
   ids only);
2. build the daily entity totals the way a user's database gets them for
   killmails stored before migration ``0202_intel_totals.sql``: its
   back-fill function (``intel_totals_rebuild``, through
   :func:`evedmv_tui.intel.totals.rebuild`), run only when some stored
   killmail is not counted yet. Report the size of the totals tables, and
   the cost of the import hook and of the value trigger for batches of
   2,000 killmails, each measured in a transaction that is rolled back;
3. time :func:`load_page` for the busiest corporation and the busiest
   alliance (most kills and losses), for the default period (30 days) and
   for all time, and count its statements. The targets are 100 ms and 5
   statements for the corporation, and 200 ms for the alliance;
4. type names of real rows one keystroke at a time and time each
   :func:`search` call; target 50 ms per keystroke.

Each page is loaded once to warm the cache, then timed ``--repeat`` times;
the median is reported. The last output line is one JSON object with the
figures and their ratios to the targets (below 1 meets the target).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench.workdir import (
    add_work_arguments,
    generated_file,
    open_database,
    store_names,
)
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.intel import totals
from evedmv_tui.intel.entities import EntityKind, EntityRef, Period
from evedmv_tui.intel.pages import load_page
from evedmv_tui.intel.search import search
from evedmv_tui.sde import import_sde
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry, count_statements

CORPORATION_TARGET_SECONDS = 0.100
ALLIANCE_TARGET_SECONDS = 0.200
STATEMENT_TARGET = 5
KEYSTROKE_TARGET_SECONDS = 0.050
HOOK_BATCH = 2000
"""Killmails per batch in the hook and trigger measurements (the import's batch)."""
HOOK_BATCHES = 5
SEARCH_WORDS = 40
"""Names typed in the search part, one keystroke at a time (up to 8 each)."""


def build_totals(db: Database) -> float | None:
    """Count the killmails the totals miss, as the migration back-fill does.

    Returns the seconds taken, or None when every killmail was counted.
    """
    stored = db.fetch_value("SELECT count(*) FROM killmails")
    counted = db.fetch_value("SELECT count(*) FROM intel_counted_killmails")
    if counted == stored:
        return None
    started = time.perf_counter()
    totals.rebuild(db)
    seconds = time.perf_counter() - started
    db.execute(
        "VACUUM ANALYZE intel_counted_killmails, intel_entity_days,"
        " intel_entity_day_tops"
    )
    return seconds


def totals_sizes(db: Database) -> dict[str, tuple[int, int]]:
    """Return rows and bytes (with indexes and TOAST) of each totals table."""
    sizes = {}
    for table in (
        "intel_counted_killmails",
        "intel_entity_days",
        "intel_entity_day_tops",
    ):
        rows = db.fetch_value(f"SELECT count(*) FROM {table}")
        size = db.fetch_value("SELECT pg_total_relation_size(%s::regclass)", (table,))
        sizes[table] = (int(rows), int(size))
    return sizes


def sample_batches(db: Database) -> list[tuple[list[int], Any, Any]]:
    """Return ids and time bounds of batches of consecutive killmails."""
    total = db.fetch_value("SELECT count(*) FROM killmails")
    step = max(1, (total - HOOK_BATCH) // HOOK_BATCHES)
    batches = []
    for number in range(HOOK_BATCHES):
        rows = db.fetch_all(
            "SELECT killmail_id, killmail_time FROM killmails"
            " ORDER BY killmail_time, killmail_id OFFSET %s LIMIT %s",
            (number * step, HOOK_BATCH),
        )
        times = [row[1] for row in rows]
        batches.append(([int(row[0]) for row in rows], min(times), max(times)))
    return batches


def time_hook(db: Database, batches: list[tuple[list[int], Any, Any]]) -> list[float]:
    """Time the totals hook's statements on batches already counted.

    Each batch is uncounted and counted again inside a transaction that is
    rolled back, so its rows are added to totals rows that exist, as they
    are for a new batch inside days already seen.
    """
    timings = []
    with db.connection() as conn:
        for ids, start, end in batches:
            with conn.transaction():
                db.execute(
                    "DELETE FROM intel_counted_killmails WHERE killmail_id = ANY(%s)",
                    (ids,),
                    conn=conn,
                )
                started = time.perf_counter()
                db.execute(
                    "SELECT pg_advisory_xact_lock(%s)",
                    (totals.TOTALS_LOCK_KEY,),
                    conn=conn,
                )
                counted = db.fetch_value(
                    "SELECT intel_totals_add(%s::bigint[], %s, %s)",
                    (ids, start, end),
                    conn=conn,
                )
                timings.append(time.perf_counter() - started)
                assert counted == len(ids)
                raise psycopg.Rollback()
    return timings


def time_value_updates(
    db: Database, batches: list[tuple[list[int], Any, Any]], statement: str
) -> list[float]:
    """Time one UPDATE of each batch's killmails, rolled back afterwards.

    ``statement`` may start with ``DISABLE;`` to run without the value
    trigger of ``0202_intel_totals.sql``.
    """
    disable = statement.startswith("DISABLE;")
    update = statement.removeprefix("DISABLE;")
    timings = []
    with db.connection() as conn:
        for ids, start, end in batches:
            with conn.transaction():
                if disable:
                    db.execute(
                        "ALTER TABLE killmails"
                        " DISABLE TRIGGER intel_totals_value_changed",
                        conn=conn,
                    )
                started = time.perf_counter()
                db.execute(
                    update + " WHERE killmail_id = ANY(%s)"
                    " AND killmail_time BETWEEN %s AND %s",
                    (ids, start, end),
                    conn=conn,
                )
                timings.append(time.perf_counter() - started)
                raise psycopg.Rollback()
    return timings


def busiest(db: Database, kind: EntityKind) -> tuple[int, int]:
    """Return the entity of ``kind`` with the most kills plus losses, and that sum."""
    column = kind.attacker_column
    row = db.fetch_one(
        f"SELECT id, sum(n)::bigint FROM ("
        f" SELECT {column} AS id, count(DISTINCT killmail_id) AS n FROM attackers"
        f" WHERE {column} IS NOT NULL GROUP BY 1"
        f" UNION ALL SELECT {kind.victim_column}, count(*) FROM killmails"
        f" WHERE {kind.victim_column} IS NOT NULL GROUP BY 1"
        f") counts GROUP BY id ORDER BY 2 DESC, 1 LIMIT 1"
    )
    assert row is not None
    return int(row[0]), int(row[1])


def time_page(
    db: Database, entity: EntityRef, period: Period, repeat: int
) -> tuple[float, int, int]:
    """Return the median seconds, statement count and kills of one page."""
    load_page(db, entity, period)
    timings = []
    statements = 0
    kills = 0
    for _ in range(repeat):
        with count_statements(db.telemetry) as counted:
            started = time.perf_counter()
            page = load_page(db, entity, period)
            timings.append(time.perf_counter() - started)
        statements = max(statements, counted[0])
        kills = page.summary.kills
    return statistics.median(timings), statements, kills


def time_keystrokes(db: Database, seed: int) -> list[float]:
    """Type real names one character at a time; return every call's seconds."""
    rng = random.Random(seed)
    total = db.fetch_value("SELECT count(*) FROM names")
    names = [
        db.fetch_value("SELECT name FROM names OFFSET %s LIMIT 1", (offset,))
        for offset in sorted(rng.randrange(total) for _ in range(SEARCH_WORDS))
    ]
    names += ["Jita", "Amarr", "1DQ1-A", "Perimeter"]
    search(db, "warm")
    timings = []
    for name in names:
        for length in range(1, min(len(name), 8) + 1):
            started = time.perf_counter()
            search(db, name[:length])
            timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_work_arguments(parser, count=1_000_000, work=Path("/tmp/evedmv-bench-intel"))
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    db = open_database(args, "intel", Telemetry())

    if not db.fetch_value("SELECT count(*) FROM solar_systems"):
        import_sde(db, args.shared_data / "sde")
    stored = db.fetch_value("SELECT count(*) FROM killmails")
    if stored < args.count:
        generated = generated_file(args)
        started = time.perf_counter()
        import_paths(db, [generated], offline=True)
        print(
            f"imported {args.count} killmails in {time.perf_counter() - started:.0f} s"
        )
        db.execute("TRUNCATE names")
        print(f"named {store_names(db, args.seed)} entities")
        db.execute("VACUUM ANALYZE")
    stored = db.fetch_value("SELECT count(*) FROM killmails")
    attackers = db.fetch_value("SELECT count(*) FROM attackers")
    print(f"{stored} killmails, {attackers} attacker rows stored")

    figures: dict[str, object] = {"killmails": stored, "attacker_rows": attackers}
    built = build_totals(db)
    if built is not None:
        print(f"built the entity totals in {built:.1f} s")
        figures["totals_build_s"] = round(built, 1)
    for table, (rows, size) in totals_sizes(db).items():
        print(f"{table}: {rows} rows, {size / 1e6:.1f} MB")
        figures[f"{table}_rows"] = rows
        figures[f"{table}_mb"] = round(size / 1e6, 1)
    batches = sample_batches(db)
    for label, timings in (
        ("hook", time_hook(db, batches)),
        (
            "update_unchanged",
            time_value_updates(
                db, batches, "UPDATE killmails SET total_value = total_value"
            ),
        ),
        (
            "update_without_trigger",
            time_value_updates(
                db, batches, "DISABLE;UPDATE killmails SET total_value = total_value"
            ),
        ),
        (
            "update_changed",
            time_value_updates(
                db, batches, "UPDATE killmails SET total_value = total_value + 1"
            ),
        ),
    ):
        median = statistics.median(timings)
        print(
            f"{label}, {HOOK_BATCH} killmails: median {median * 1000:.1f} ms"
            f" of {len(timings)}, max {max(timings) * 1000:.1f} ms"
        )
        figures[f"{label}_ms"] = round(median * 1000, 2)

    for kind, target in (
        (EntityKind.CORPORATION, CORPORATION_TARGET_SECONDS),
        (EntityKind.ALLIANCE, ALLIANCE_TARGET_SECONDS),
    ):
        entity_id, events = busiest(db, kind)
        entity = EntityRef(kind, entity_id, None)
        for period in (Period.MONTH, Period.ALL):
            seconds, statements, kills = time_page(db, entity, period, args.repeat)
            label = f"{kind.value}_{period.name.lower()}"
            print(
                f"{kind.value} {entity_id} ({events} kills and losses in all),"
                f" {period.label}: {kills} kills, median {seconds * 1000:.1f} ms"
                f" of {args.repeat}, {statements} statements"
            )
            figures[f"{label}_ms"] = round(seconds * 1000, 2)
            figures[f"{label}_ratio"] = round(seconds / target, 3)
            figures[f"{label}_statements"] = statements
            figures[f"{label}_kills"] = kills
    figures["corporation_statement_ratio"] = round(
        int(str(figures["corporation_month_statements"])) / STATEMENT_TARGET, 3
    )

    keystrokes = time_keystrokes(db, args.seed)
    keystrokes.sort()
    p95 = keystrokes[min(len(keystrokes) - 1, round(0.95 * (len(keystrokes) - 1)))]
    print(
        f"search: {len(keystrokes)} keystrokes over"
        f" {db.fetch_value('SELECT count(*) FROM names')} names,"
        f" median {statistics.median(keystrokes) * 1000:.1f} ms,"
        f" p95 {p95 * 1000:.1f} ms, max {keystrokes[-1] * 1000:.1f} ms"
    )
    figures["search_keystrokes"] = len(keystrokes)
    figures["search_median_ms"] = round(statistics.median(keystrokes) * 1000, 2)
    figures["search_p95_ms"] = round(p95 * 1000, 2)
    figures["search_max_ms"] = round(keystrokes[-1] * 1000, 2)
    figures["search_p95_ratio"] = round(p95 / KEYSTROKE_TARGET_SECONDS, 3)
    db.close()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

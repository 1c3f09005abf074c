"""Time battle detection and report loading over generated and real killmails.

Usage: .venv/bin/python bench/battles.py [--count N] [--seed S] [--work DIR]
[--workers W]

Steps, on a private cluster under ``--work`` (kept between runs, so the
generated kills are imported only once):

1. generate ``N`` killmails (default 1,000,000) and import all but the last
   5,000 without post-batch hooks;
2. full detection over them (target 10 s for 1M), with side assignment,
   metrics and rows built in ``--workers`` processes (default one per core,
   1 builds them in the benchmark's process);
3. import the last 5,000 in batches of 1,000 with the battle hook, timing
   only the hook (target 50 ms per batch), in wall time and in CPU time of
   this process and of the database's server processes;
4. import the real EVE Ref archive of 2021-11-28 (the largest real battle,
   Jorund) and time :func:`load_report` plus rendering it as text, the time
   until the report is ready to render (target 100 ms).

The last output line is one JSON object with the figures and their ratios
to the targets (below 1 meets the target).
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import statistics
import sys
import time
from pathlib import Path

from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workdir import (
    add_work_arguments,
    generated_file,
    generated_path,
    open_database,
)
from evedmv_tui.battles.detect import detect_all, on_batch
from evedmv_tui.battles.export import render_text
from evedmv_tui.battles.report import BattleFilter, list_battles, load_report
from evedmv_tui.battles.rows import pool_size
from evedmv_tui.ingest.hooks import BatchResult
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.db import Database

FULL_TARGET_SECONDS_PER_MILLION = 10.0
INCREMENTAL_TARGET_SECONDS = 0.050
REPORT_TARGET_SECONDS = 0.100
TAIL = 5_000
BATCH = 1_000
REAL_ARCHIVE = "killmails-2021-11-28.tar.bz2"


def _split(source: Path, head: Path, tail: Path) -> None:
    lines = source.read_bytes().splitlines(keepends=True)
    head.write_bytes(b"".join(lines[:-TAIL]))
    tail.write_bytes(b"".join(lines[-TAIL:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_work_arguments(parser, count=1_000_000, work=Path("/tmp/evedmv-bench-battles"))
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that build battle rows in full detection"
        " (default: one per core; 1: none besides this one)",
    )
    args = parser.parse_args()
    db = open_database(args, "battles")

    generated = generated_path(args)
    head = args.work / f"head-{args.count}-{args.seed}.jsonl"
    tail = args.work / f"tail-{args.count}-{args.seed}.jsonl"
    stored = db.fetch_value(
        "SELECT count(*) FROM killmails WHERE killmail_id >= 120000000"
    )
    if stored < args.count - TAIL:
        generated_file(args)
        _split(generated, head, tail)
        started = time.perf_counter()
        import_paths(db, [head], offline=True)
        elapsed = time.perf_counter() - started
        print(f"imported {args.count - TAIL} killmails in {elapsed:.0f} s")
    elif not tail.exists():
        _split(generated, head, tail)

    # A tail stored by an earlier run is removed, so each run adds it anew.
    last_head = _last_head_id(head)
    for table in ("killmails", "attackers", "items", "killmail_index"):
        db.execute(
            sql.SQL("DELETE FROM {} WHERE killmail_id > %s").format(
                sql.Identifier(table)
            ),
            (last_head,),
        )
    db.execute("DELETE FROM battles")
    db.execute("VACUUM ANALYZE")

    kills_before = db.fetch_value("SELECT count(*) FROM killmails")
    summary = detect_all(db, workers=args.workers)
    full_seconds = summary.seconds
    print(
        f"full detection: {kills_before} killmails, {summary.battles} battles,"
        f" {summary.kills_read} kills read in detail, {full_seconds:.2f} s"
    )

    incremental: list[float] = []
    client_cpu = 0.0
    server_cpu = 0.0

    def timed_hook(hook_db: Database, result: BatchResult) -> None:
        nonlocal client_cpu, server_cpu
        backends = _backend_pids(hook_db)
        server_before = _cpu_seconds(backends)
        client_before = time.process_time()
        started = time.perf_counter()
        on_batch(hook_db, result)
        incremental.append(time.perf_counter() - started)
        client_cpu += time.process_time() - client_before
        server_cpu += _cpu_seconds(backends) - server_before

    import_paths(db, [tail], offline=True, after_batch=[timed_hook], batch_size=BATCH)
    incremental_median = statistics.median(incremental)
    print(
        f"incremental detection: {len(incremental)} batches of {BATCH},"
        f" median {incremental_median * 1000:.1f} ms,"
        f" max {max(incremental) * 1000:.1f} ms,"
        f" CPU time {client_cpu * 1000:.0f} ms in this process and"
        f" {server_cpu * 1000:.0f} ms in its server processes in all"
    )

    archive = args.shared_data / "killmails" / "everef" / REAL_ARCHIVE
    if not db.fetch_value(
        "SELECT count(*) FROM killmails WHERE killmail_time < '2022-01-01'"
    ):
        import_paths(db, [archive], offline=True)
        sde = args.shared_data / "sde"
        if glob.glob(str(sde / "*.csv")):
            from evedmv_tui.sde import import_sde

            import_sde(db, sde)
    detect_all(db, workers=args.workers)
    real = list_battles(
        db, BattleFilter(until=dt.datetime(2022, 1, 1, tzinfo=dt.UTC), limit=100_000)
    )
    biggest = max(real, key=lambda b: b.kills)
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        report = load_report(db, biggest.battle_id)
        render_text(report)
        timings.append(time.perf_counter() - started)
    report_median = statistics.median(timings)
    total = db.fetch_value("SELECT count(*) FROM killmails")
    print(
        f"report of battle {biggest.battle_id} ({', '.join(biggest.system_names)},"
        f" {biggest.kills} kills, {biggest.pilots} pilots) with {total} killmails"
        f" stored: median {report_median * 1000:.1f} ms of 7"
    )
    full_target = FULL_TARGET_SECONDS_PER_MILLION * kills_before / 1_000_000
    figures = {
        "killmails": kills_before,
        "battles": summary.battles,
        "workers": pool_size(args.workers),
        "full_detection_seconds": round(full_seconds, 3),
        "full_detection_target_seconds": round(full_target, 3),
        "full_detection_ratio": round(full_seconds / full_target, 3),
        "incremental_batch_ms": round(incremental_median * 1000, 2),
        "incremental_ratio": round(incremental_median / INCREMENTAL_TARGET_SECONDS, 3),
        "incremental_batches_ms": [round(t * 1000, 1) for t in incremental],
        "incremental_client_cpu_ms": round(client_cpu * 1000),
        "incremental_server_cpu_ms": round(server_cpu * 1000),
        "report_battle_kills": biggest.kills,
        "report_ms": round(report_median * 1000, 2),
        "report_ratio": round(report_median / REPORT_TARGET_SECONDS, 3),
        "killmails_stored_for_report": total,
    }
    db.close()
    print(json.dumps(figures))
    return 0


def _backend_pids(db: Database) -> list[int]:
    """Return the server processes connected to the benchmark's database.

    NOTE: a connection that the pool opens after this call is missing.
    """
    rows = db.fetch_all(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    )
    return [row[0] for row in rows]


def _cpu_seconds(pids: list[int]) -> float:
    """Return the user and system CPU time of ``pids`` from ``/proc`` (Linux).

    The kernel counts in clock ticks (``SC_CLK_TCK`` per second, 100 on the
    benchmark machine), so only the sum over several batches is meaningful.
    A process that has exited counts 0.
    """
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # utime and stime are the 12th and 13th fields after the command
        # name, which is in parentheses and may contain spaces (proc(5)).
        fields = stat.rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _last_head_id(head: Path) -> int:
    with head.open("rb") as handle:
        handle.seek(max(0, head.stat().st_size - 200_000))
        last = handle.read().splitlines()[-1]
    return int(json.loads(last)["killmail_id"])


if __name__ == "__main__":
    raise SystemExit(main())

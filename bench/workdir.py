"""Work directory shared by the database benchmarks: a cluster and generated data.

``bench/battles.py``, ``bench/battle_steps.py`` and ``bench/intel.py`` keep a
private cluster in ``<work>/cluster`` and the generated killmails in
``<work>/generated-<count>-<seed>.jsonl``, both reused by later runs with the
same ``--work``. Each benchmark has its own database in that cluster, named
after the benchmark, the count and the seed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evedmv_tui.generate import write_jsonl
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import migrate
from evedmv_tui.store.telemetry import Telemetry

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""The shared data folder beside the checkout (SDE, real archives)."""


def add_work_arguments(
    parser: argparse.ArgumentParser, *, count: int, work: Path
) -> None:
    """Add ``--count``, ``--seed``, ``--work`` and ``--shared-data`` to ``parser``."""
    parser.add_argument("--count", type=int, default=count)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=work)
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA)


def open_database(
    args: argparse.Namespace, benchmark: str, telemetry: Telemetry | None = None
) -> Database:
    """Start the cluster under ``args.work`` and open this benchmark's database.

    The database ``bench_<benchmark>_<count>_<seed>`` is created when missing
    and migrated. ``telemetry`` defaults to the process-wide one.
    """
    args.work.mkdir(parents=True, exist_ok=True)
    cluster = PrivateCluster(args.work / "cluster", fast=True)
    cluster.start()
    name = f"bench_{benchmark}_{args.count}_{args.seed}"
    ensure_database(cluster, name)
    if telemetry is None:
        db = Database(cluster.url(name), max_size=4)
    else:
        db = Database(cluster.url(name), max_size=4, telemetry=telemetry)
    migrate(db)
    return db


def generated_path(args: argparse.Namespace) -> Path:
    """Return the path of the generated killmails of ``--count`` and ``--seed``."""
    return Path(args.work) / f"generated-{args.count}-{args.seed}.jsonl"


def generated_file(args: argparse.Namespace) -> Path:
    """Return the path of the generated killmails, generating them if missing."""
    path = generated_path(args)
    if not path.exists():
        started = time.perf_counter()
        write_jsonl(path, args.count, args.seed)
        seconds = time.perf_counter() - started
        print(f"generated {args.count} killmails in {seconds:.0f} s")
    return path

"""Set-up shared by the database benchmarks: cluster, generated data, names.

``bench/battles.py``, ``bench/battle_steps.py``, ``bench/intel.py`` and
``bench/killmail.py`` keep a private cluster in ``<work>/cluster`` and the
generated killmails in ``<work>/generated-<count>-<seed>.jsonl``, both
reused by later runs with the same ``--work``. Each benchmark has its own
database in that cluster, named after the benchmark, the count and the
seed. :func:`store_names` gives the stored entities seeded made-up names,
so screens and searches show names.
"""

from __future__ import annotations

import argparse
import random
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


_SYLLABLES = (
    "ka",
    "ri",
    "to",
    "ne",
    "sa",
    "ul",
    "mor",
    "an",
    "ve",
    "li",
    "zar",
    "do",
    "qu",
    "en",
    "ix",
    "ta",
    "bel",
    "gor",
    "sin",
    "ra",
    "um",
    "tal",
    "vor",
    "ko",
    "shi",
    "ar",
    "el",
)


def made_up_name(rng: random.Random, kind: str) -> str:
    """Return a pronounceable name; corporations and alliances get a suffix."""
    words = [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).title()
        for _ in range(rng.randint(1, 2))
    ]
    if kind == "corporation":
        words.append(rng.choice(("Industries", "Holdings", "Corp", "Syndicate")))
    elif kind == "alliance":
        words.append(rng.choice(("Alliance", "Coalition", "Federation", "Union")))
    return " ".join(words)


def store_names(db: Database, seed: int) -> int:
    """Give every generated character, corporation and alliance a name."""
    rows = db.fetch_all(
        "SELECT DISTINCT id, kind FROM ("
        " SELECT character_id AS id, 'character' AS kind FROM attackers"
        " UNION ALL SELECT corporation_id, 'corporation' FROM attackers"
        " UNION ALL SELECT alliance_id, 'alliance' FROM attackers"
        " UNION ALL SELECT victim_character_id, 'character' FROM killmails"
        " UNION ALL SELECT victim_corporation_id, 'corporation' FROM killmails"
        " UNION ALL SELECT victim_alliance_id, 'alliance' FROM killmails"
        ") ids WHERE id IS NOT NULL ORDER BY id"
    )
    rng = random.Random(seed)
    with (
        db.connection() as conn,
        conn.transaction(),
        conn.cursor().copy("COPY names (entity_id, category, name) FROM STDIN") as copy,
    ):
        for entity_id, kind in rows:
            copy.write_row((entity_id, kind, made_up_name(rng, kind)))
    db.execute("VACUUM ANALYZE names")
    return len(rows)

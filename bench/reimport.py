"""Time re-imports with zkb blocks compared as text and as jsonb.

Usage: .venv/bin/python bench/reimport.py [--count N] [--rounds R] [--work DIR]

On a private cluster under ``--work`` (kept between runs), imports ``N``
generated killmails (default 100,000) once. Then it imports the same file
again ``R`` times (default 3) with each comparison of ``merge_zkb.sql``,
alternating, so every record goes through the zkb merge: the stored
comparison (``zkb_body::jsonb``) and the text comparison it replaced. The
last output line is one JSON object with the times and the ratio of the
jsonb median to the text median (1 means no cost).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workdir import add_work_arguments, generated_file, open_database
from evedmv_tui.ingest import writer
from evedmv_tui.ingest.importer import import_paths
from evedmv_tui.store.db import NamedSql, load_sql

JSONB_COMPARISON = "k.zkb_body::jsonb IS DISTINCT FROM s.zkb_body::jsonb"
TEXT_COMPARISON = "k.zkb_body IS DISTINCT FROM s.zkb_body"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_work_arguments(parser, count=100_000, work=Path("/tmp/evedmv-bench-zkb"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    db = open_database(args, "reimport")
    path = generated_file(args)
    if db.fetch_value("SELECT count(*) FROM killmails") < args.count:
        import_paths(db, [path], offline=True)
    db.execute("VACUUM ANALYZE")

    stored = load_sql(writer._SQL, "merge_zkb")
    assert JSONB_COMPARISON in stored.text
    variants = {
        "text": dataclasses.replace(
            stored, text=stored.text.replace(JSONB_COMPARISON, TEXT_COMPARISON)
        ),
        "jsonb": stored,
    }
    real_load = writer.load_sql
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    load_start = os.getloadavg()[0]
    try:
        for number in range(args.rounds):
            for name, merge in variants.items():

                def load(package: str, sql_name: str, merge: NamedSql = merge) -> Any:
                    return (
                        merge
                        if sql_name == "merge_zkb"
                        else real_load(package, sql_name)
                    )

                writer.load_sql = load  # type: ignore[assignment]
                started = time.perf_counter()
                summary = import_paths(db, [path], offline=True)
                seconds[name].append(time.perf_counter() - started)
                assert summary.duplicates == args.count, summary
                print(f"round {number + 1} {name}: {seconds[name][-1]:.2f} s")
    finally:
        writer.load_sql = real_load
        db.close()
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(
        json.dumps(
            {
                "killmails": args.count,
                "seconds": {k: [round(v, 2) for v in vs] for k, vs in seconds.items()},
                "jsonb_over_text": round(medians["jsonb"] / medians["text"], 3),
                "load_average_start": round(load_start, 2),
                "load_average_end": round(os.getloadavg()[0], 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

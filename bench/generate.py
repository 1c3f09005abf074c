"""Time the killmail generator: N documents of the built-in universe.

Usage: .venv/bin/python bench/generate.py [--count N] [--seed S] [--workers W]
       [--output PATH]

Prints documents per second, bytes per document and the mean number of
attackers and items, then one JSON line with the figures and the ratio of
the wall-clock time to the target (a million killmails in 120 s, scaled to
N). The CPU time is printed too, because on a shared machine it varies less.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec

from evedmv_tui.generate import generate_killmails

TARGET_SECONDS_PER_MILLION = 120.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=0, help="document-building processes"
    )
    parser.add_argument(
        "--output", type=Path, help="also write the JSON Lines file here"
    )
    args = parser.parse_args()

    out = open(args.output, "wb") if args.output else None  # noqa: SIM115
    started = time.perf_counter()
    cpu_started = time.process_time()
    total_bytes = 0
    sample_attackers = 0
    sample_items = 0
    sampled = 0
    decoder = msgspec.json.Decoder()
    for index, document in enumerate(
        generate_killmails(args.count, args.seed, workers=args.workers)
    ):
        total_bytes += len(document)
        if out is not None:
            out.write(document + b"\n")
        if index % 100 == 0:
            decoded = decoder.decode(document)
            sample_attackers += len(decoded["attackers"])
            sample_items += len(decoded["victim"]["items"])
            sampled += 1

    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if out is not None:
        out.close()

    target = TARGET_SECONDS_PER_MILLION * args.count / 1_000_000
    figures = {
        "benchmark": "generate",
        "count": args.count,
        "workers": args.workers,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "killmails_per_second": round(args.count / seconds),
        "bytes_per_killmail": round(total_bytes / max(args.count, 1)),
        "mean_attackers": round(sample_attackers / max(sampled, 1), 2),
        "mean_items": round(sample_items / max(sampled, 1), 2),
        "target_seconds": target,
        "ratio_to_target": round(seconds / target, 3),
    }

    print(
        f"generated {args.count} killmails in {seconds:.1f} s"
        f" ({cpu_seconds:.1f} s of CPU)"
    )
    print(f"{figures['killmails_per_second']} killmails/s")
    print(f"{figures['bytes_per_killmail']} bytes per killmail")
    print(
        f"mean attackers {figures['mean_attackers']},"
        f" mean items {figures['mean_items']}"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

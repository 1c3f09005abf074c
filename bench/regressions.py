"""Cost of judging one poll's samples, with the baseline file on disk.

A poll here has 1,000 statements (mean time with rows per call, and calls
per second each), 20 app operations (p50 and p95), the server's figures and
process memory: 2,045 keys. After the baselines are learned, 25 statements regress. The
figure is the mean wall time of :meth:`AlertService.observe` per poll, which
includes queuing the writes; the writer commits them in the background.

Target: under 50 ms per poll, 2.5 % of the default 2-second interval.

Run: ``.venv/bin/python bench/regressions.py``
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

from evedmv_tui.monitor.regressions import AlertService
from evedmv_tui.monitor.samples import Sample

STATEMENTS = 1000
OPERATIONS = 20
POLLS = 120
REGRESSED = 25
TARGET_MS = 50.0


def poll_samples(at: float, rng: random.Random, regressed: bool) -> list[Sample]:
    samples = []
    for i in range(STATEMENTS):
        mean = (1 + i % 50) * (1 + rng.uniform(-0.05, 0.05))
        if regressed and i < REGRESSED:
            mean *= 8
        key = f"statement:{i:016x}"
        rows = float(1 + i % 20)
        samples.append(
            Sample(f"{key}:mean_ms", mean, at, 2.0, True, f"SELECT {i}", rows)
        )
        rate = 5 * (1 + rng.uniform(-0.1, 0.1))
        samples.append(Sample(f"{key}:calls_per_s", rate, at, 2.0, True, ""))
    for i in range(OPERATIONS):
        p50 = 4 * (1 + rng.uniform(-0.05, 0.05))
        samples.append(Sample(f"operation:op{i}:p50_ms", p50, at, 2.0))
        samples.append(Sample(f"operation:op{i}:p95_ms", p50 * 3, at, 2.0))
    samples.append(Sample("database:tps", 300 * (1 + rng.uniform(-0.1, 0.1)), at, 2.0))
    samples.append(Sample("database:cache_hit_ratio", 0.99, at, 2.0))
    samples.append(Sample("process:count", 12.0, at, 2.0))
    rss = 400e6 * (1 + rng.uniform(-0.01, 0.01))
    samples.append(Sample("memory:rss_bytes", rss, at, 2.0))
    samples.append(Sample("cache:names:hit_ratio", 0.9, at, 2.0))
    return samples


async def measure(path: Path) -> dict[str, float]:
    service = await AlertService.open(path)
    rng = random.Random(1)
    at = time.time()
    timings: list[float] = []
    raised = 0
    try:
        for poll in range(POLLS):
            at += 2.0
            samples = poll_samples(at, rng, regressed=poll >= POLLS - 10)
            start = time.perf_counter()
            raised += len(await service.observe(samples))
            timings.append(time.perf_counter() - start)
            await service.store.flush()
        flush_start = time.perf_counter()
        await service.flush()
        flush_seconds = time.perf_counter() - flush_start
    finally:
        await service.close()
    steady = timings[30:]
    mean_ms = 1000 * sum(steady) / len(steady)
    worst_ms = 1000 * max(steady)
    return {
        "keys": len(poll_samples(at, rng, False)),
        "polls": POLLS,
        "mean_observe_ms": round(mean_ms, 2),
        "max_observe_ms": round(worst_ms, 2),
        "final_flush_ms": round(1000 * flush_seconds, 2),
        "alerts_raised": raised,
        "target_ms": TARGET_MS,
        "ratio_to_target": round(mean_ms / TARGET_MS, 3),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="evedmv-bench-") as directory:
        figures = asyncio.run(measure(Path(directory) / "baselines.sqlite3"))
    print(f"keys per poll:        {figures['keys']}")
    print(f"mean observe():       {figures['mean_observe_ms']} ms")
    print(f"max observe():        {figures['max_observe_ms']} ms")
    print(f"alerts raised:        {figures['alerts_raised']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

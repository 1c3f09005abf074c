"""Several processes writing one baseline file at once.

Two dashboard processes and a sample recorder share the file. The recorder
holds the write lock longer than the dashboards' busy timeout, so SQLite
reports ``database is locked`` to them. The store must retry instead of
raising, and no row may be lost or written twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from evedmv_tui.store.baselines import (
    AlertEvent,
    AlertWrite,
    Baseline,
    RecordedSample,
    SaveBatch,
    StoredAlert,
    open_store,
)

ROUNDS = 40
KEYS = 25
SAMPLES_PER_ROUND = 10
SHARED_KEY = "statement:shared:mean_ms"


async def _dashboard(path: Path, name: str) -> dict[str, int]:
    store = await open_store(path, busy_timeout=0.05)
    for i in range(ROUNDS):
        baselines = [
            Baseline(f"{name}:k{j}:mean_ms", "", i + 1, 10.0, 1.0, (), 10.0, float(i))
            for j in range(KEYS)
        ]
        baselines.append(Baseline(SHARED_KEY, name, i + 1, 10.0, 1.0, (), 10.0, i))
        shared = StoredAlert(
            SHARED_KEY, name, "level", 3, 100.0, 100.0 + i, 10.0, 50.0, 50.0, 5.0
        )
        event = AlertEvent(f"{name}:events", float(i), "opened", 3, 50.0, str(i))
        await store.save(SaveBatch(baselines, [AlertWrite(shared)], [event]))
        await asyncio.sleep(0.05)
    retries = store.busy_retries
    await store.close()
    return {"busy_retries": retries}


async def _recorder(path: Path) -> dict[str, int]:
    store = await open_store(path, busy_timeout=0.05)

    async def hold_and_record(conn: object, i: int) -> None:
        # Keep the write lock past the other writers' busy timeout.
        await asyncio.sleep(0.08)
        from evedmv_tui.store.baselines import _save

        samples = [
            RecordedSample(SHARED_KEY, i + j / SAMPLES_PER_ROUND, 1.0, 2.0)
            for j in range(SAMPLES_PER_ROUND)
        ]
        await _save(conn, SaveBatch(samples=samples))  # type: ignore[arg-type]

    for i in range(ROUNDS):
        await store.write(lambda conn, i=i: hold_and_record(conn, i))
        await asyncio.sleep(0.01)
    retries = store.busy_retries
    await store.close()
    return {"busy_retries": retries}


def _run(role: str, path: Path, start: float) -> None:
    # All three start together, whatever their interpreter start-up took.
    time.sleep(max(start - time.time(), 0.0))
    if role == "recorder":
        result = asyncio.run(_recorder(path))
    else:
        result = asyncio.run(_dashboard(path, role))
    print(json.dumps(result))


def test_two_dashboards_and_a_recorder(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    # Create the file first so the three processes only contend for writes.
    asyncio.run(_create(path))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    roles = ["dashboard-a", "dashboard-b", "recorder"]
    start = str(time.time() + 2.0)
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, role, str(path), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for role in roles
    ]
    results = {}
    for role, process in zip(roles, processes, strict=True):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"{role} failed:\n{err}"
        assert "database is locked" not in err
        results[role] = json.loads(out.strip().splitlines()[-1])

    assert sum(r["busy_retries"] for r in results.values()) > 0
    counts = asyncio.run(_counts(path))
    assert counts["alert_event"] == 2 * ROUNDS
    assert counts["sample"] == ROUNDS * SAMPLES_PER_ROUND
    assert counts["baseline"] == 2 * KEYS + 1
    assert counts["alert"] == 1
    assert counts["final_counts"] == {ROUNDS}
    assert counts["notes"] == {
        "dashboard-a": list(range(ROUNDS)),
        "dashboard-b": list(range(ROUNDS)),
    }


async def _create(path: Path) -> None:
    store = await open_store(path)
    await store.close()


async def _counts(path: Path) -> dict[str, object]:
    store = await open_store(path)
    try:
        counts: dict[str, object] = {
            table: await store.count_rows(table)
            for table in ("alert_event", "sample", "baseline", "alert")
        }
        counts["final_counts"] = {b.count for b in await store.load_baselines()}
        notes: dict[str, list[int]] = {}
        for event in await store.events(limit=10_000):
            notes.setdefault(event.key.split(":")[0], []).append(int(event.note))
        counts["notes"] = {name: sorted(values) for name, values in notes.items()}
        return counts
    finally:
        await store.close()


if __name__ == "__main__":
    _run(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]))

"""The monitor benchmark's subscriber keeps figures, not snapshots."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from evedmv_tui.config import Settings
from evedmv_tui.monitor.poller import Monitor

BENCH = Path(__file__).resolve().parents[1] / "bench" / "monitor.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    pytest.importorskip("pgactivity")
    spec = importlib.util.spec_from_file_location("bench_monitor", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_recorder_keeps_last_snapshot_only(bench: ModuleType, tmp_path: Path) -> None:
    """The benchmark kept every snapshot, so its heap grew each poll and the
    garbage collector ran more often than in the dashboard, which keeps the
    latest snapshot only."""
    # No server listens in an empty directory, so each poll fails at once.
    monitor = Monitor(
        None, Settings(), conninfo=f"postgresql:///x?host={tmp_path}&port=1"
    )
    recorder = bench.PollRecorder()
    monitor.subscribe(recorder)
    try:
        first = monitor.poll()
        second = monitor.poll()
    finally:
        monitor.close()

    assert recorder.last is second
    assert all(record is not first for record in recorder.records)
    assert [type(record) for record in recorder.records] == [bench.PollRecord] * 2
    assert recorder.records[0] == bench.PollRecord(
        False, first.error, first.cost, len(first.statements)
    )
    assert recorder.records[1].cost == second.cost
    assert recorder.last_memory is second.memory

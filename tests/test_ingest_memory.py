"""The importer hands freed heap memory back to the operating system."""

from __future__ import annotations

from pathlib import Path

import pytest

from evedmv_tui.ingest import importer
from evedmv_tui.ingest.importer import import_paths, release_free_memory
from evedmv_tui.store.db import Database
from tests.conftest import shared_file

glibc_only = pytest.mark.skipif(
    importer._malloc_trim is None, reason="malloc_trim is glibc only"
)


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@glibc_only
def test_release_free_memory_lowers_rss() -> None:
    # 4,000-byte objects come from malloc (pymalloc takes up to 512 bytes).
    # The object allocated last pins the top of the heap, so free() alone
    # cannot shrink it and the freed pages stay resident.
    blocks = [bytes([n % 256]) * 4000 for n in range(20_000)]
    pin = bytes(4000)
    del blocks
    before = _resident_mb()
    release_free_memory()
    after = _resident_mb()
    assert len(pin) == 4000
    assert before - after > 40


def test_release_free_memory_after_each_batch(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(importer, "release_free_memory", lambda: calls.append(None))
    path = Path(shared_file("killmails/real/zk_activity_fixtures.jsonl"))
    summary = import_paths(db, [path], offline=True, batch_size=5, workers=0)
    assert summary.read == 16
    assert len(calls) == 4

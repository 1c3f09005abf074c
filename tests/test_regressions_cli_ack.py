"""``evedmv regressions --ack`` on an alert that is acknowledged already."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from evedmv_tui.cli import main
from evedmv_tui.config import Settings
from evedmv_tui.store.baselines import (
    AlertWrite,
    Baseline,
    SaveBatch,
    StoredAlert,
    open_store,
)
from evedmv_tui.store.target import baseline_file

KEY = "statement:3f2a9c0d11e4b7a8:mean_ms"
DSN = "postgresql://127.0.0.1:5999/production"
"""The database the commands read baselines of; none of them connects to it."""


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write a baseline file with one open high alert on ``KEY``; return it."""
    state = tmp_path / "state"
    monkeypatch.setenv("EVEDMV_STATE_DIR", str(state))
    monkeypatch.setenv("EVEDMV_DSN", DSN)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    file = baseline_file(Settings(dsn=DSN, state_dir=state))
    now = time.time()

    async def write() -> None:
        store = await open_store(file)
        baseline = Baseline(KEY, count=40, mean=10.0, regressed=True)
        alert = StoredAlert(KEY, "", "level", 3, now - 60, now, 10.0, 50.0, 50.0, 5.0)
        await store.save(SaveBatch(baselines=[baseline], alerts=[AlertWrite(alert)]))
        await store.close()

    asyncio.run(write())
    return file


def acknowledged_events(file: Path) -> list[str]:
    async def read() -> list[str]:
        store = await open_store(file)
        try:
            events = await store.events(KEY, limit=20)
        finally:
            await store.close()
        return [e.event for e in events if e.event == "acknowledged"]

    return asyncio.run(read())


def test_second_ack_logs_nothing(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second --ack printed "acknowledged" again and logged a second
    acknowledged event in the alert log."""
    assert main(["regressions", "--ack", KEY]) == 0
    first = capsys.readouterr().out
    assert first.startswith(f"acknowledged {KEY}\n")

    assert main(["regressions", "--ack", KEY]) == 0
    second = capsys.readouterr().out
    assert second.startswith(f"{KEY} is already acknowledged;")
    assert f"acknowledged {KEY}\n" not in second
    assert acknowledged_events(path) == ["acknowledged"]


def test_second_ack_keeps_first_time(path: Path) -> None:
    async def acknowledge_twice() -> tuple[float | None, float | None, int, int]:
        store = await open_store(path)
        try:
            first = await store.acknowledge(KEY, 100.0)
            revision = await store.revision()
            second = await store.acknowledge(KEY, 200.0)
            return (
                None if first is None else first.acknowledged_at,
                None if second is None else second.acknowledged_at,
                revision,
                await store.revision(),
            )
        finally:
            await store.close()

    first_at, second_at, revision, later = asyncio.run(acknowledge_twice())
    assert first_at == 100.0
    assert second_at == 100.0
    assert later == revision

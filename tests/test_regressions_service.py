"""The alert service: detector, alert book and a real baseline file together."""

from __future__ import annotations

import random
from pathlib import Path

from evedmv_tui.monitor.regressions import Alert, AlertService, Severity
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.baselines import AlertWrite, SaveBatch, StoredAlert, open_store

KEY = "statement:3f2a9c0d11e4b7a8:mean_ms"
QUIET = "statement:00aa00aa00aa00aa:mean_ms"
POLL = 2.0


class Clock:
    """Sample times 2 s apart, carried across calls."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.at = start

    def tick(self) -> float:
        self.at += POLL
        return self.at


async def run(
    service: AlertService,
    clock: Clock,
    values: list[float],
    *,
    key: str = KEY,
) -> list[Alert]:
    raised: list[Alert] = []
    rng = random.Random(len(values))
    for value in values:
        at = clock.tick()
        samples = [
            Sample(key, value, at, POLL, True, "SELECT * FROM killmail WHERE id = $1"),
            Sample(QUIET, 3.0 * (1 + rng.uniform(-0.05, 0.05)), at, POLL),
        ]
        raised.extend(await service.observe(samples))
    return raised


def steady(count: int, level: float = 10.0) -> list[float]:
    rng = random.Random(count)
    return [level * (1 + rng.uniform(-0.05, 0.05)) for _ in range(count)]


async def test_regression_raises_once_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    notified: list[Alert] = []
    service.add_listener(notified.append)
    clock = Clock()
    try:
        assert await run(service, clock, steady(40)) == []
        raised = await run(service, clock, steady(20, 120.0))
        assert len(raised) == 1
        assert raised[0].severity == Severity.CRITICAL
        assert notified == raised
        assert [a.key for a in service.active()] == [KEY]
        assert await run(service, clock, steady(10)) == []
        assert service.active() == []
        await service.flush()
        history = await service.history()
        assert len(history) == 1
        assert history[0].cleared_at is not None
        events = [e.event for e in await service.events(KEY)]
        assert events == ["cleared", "opened"]
        evidence = await service.evidence(KEY)
        assert len(evidence) >= 20
        assert max(s.value for s in evidence) > 100
    finally:
        await service.close()


async def test_listener_gets_high_and_critical_only(tmp_path: Path) -> None:
    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    notified: list[Alert] = []
    service.add_listener(notified.append)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        raised = await run(service, clock, [25.0] * 5)
        assert [a.severity for a in raised] == [Severity.MEDIUM]
        assert notified == []
    finally:
        await service.close()


async def test_listener_failure_is_contained(tmp_path: Path) -> None:
    service = await AlertService.open(tmp_path / "baselines.sqlite3")

    def broken(alert: Alert) -> None:
        raise RuntimeError("listener bug")

    service.add_listener(broken)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        assert len(await run(service, clock, [300.0] * 4)) == 1
    finally:
        await service.close()


async def test_restart_keeps_regression_and_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    clock = Clock()
    service = await AlertService.open(path)
    await run(service, clock, steady(40))
    await run(service, clock, [200.0] * 5)
    learned = service.detector.baseline(KEY)
    await service.close()

    service = await AlertService.open(path)
    try:
        restored = service.detector.baseline(KEY)
        assert restored == learned
        assert [a.key for a in service.active()] == [KEY]
        assert service.active()[0].severity == Severity.CRITICAL
        # Still regressed: nothing new is raised and nothing is learned.
        assert await run(service, clock, [200.0] * 30) == []
        after = service.detector.baseline(KEY)
        assert after is not None
        assert learned is not None
        assert after.mean == learned.mean
        assert after.count == learned.count
    finally:
        await service.close()


async def test_acknowledgement_from_another_process(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [200.0] * 4)
        await service.flush()
        command = await open_store(path)
        assert await command.acknowledge(KEY, at=clock.at) is not None
        await command.close()
        await run(service, clock, [200.0])
        assert service.active()[0].acknowledged
        assert service.unacknowledged(Severity.HIGH) == []
    finally:
        await service.close()


async def test_acknowledge_in_the_dashboard(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [200.0] * 4)
        acknowledged = await service.acknowledge(KEY, at=clock.at)
        assert acknowledged is not None
        assert await service.acknowledge("missing:x_ms") is None
        await service.flush()
        command = await open_store(path)
        rows = await command.open_alerts()
        await command.close()
        assert rows[0].acknowledged_at == clock.at
        # Worse than at acknowledgement: raised again.
        assert len(await run(service, clock, [5000.0] * 4)) == 1
    finally:
        await service.close()


async def test_reset_elsewhere_restarts_learning(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [200.0] * 4)
        await service.flush()
        command = await open_store(path)
        assert await command.reset(KEY, at=clock.at) == 1
        await command.close()
        # The new level is learned from scratch and raises nothing.
        assert await run(service, clock, [200.0] * 40) == []
        assert service.active() == []
        baseline = service.detector.baseline(KEY)
        assert baseline is not None
        assert baseline.epoch == 1
        assert baseline.mean == 200.0
        await service.flush()
        command = await open_store(path)
        stored = await command.get_baseline(KEY)
        await command.close()
        assert stored is not None
        assert stored.count >= 40
    finally:
        await service.close()


async def test_accept_makes_the_new_level_normal(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [200.0] * 4)
        assert await service.accept(KEY, at=clock.at)
        assert service.active() == []
        assert await run(service, clock, steady(30, 200.0)) == []
        baseline = service.detector.baseline(KEY)
        assert baseline is not None
        assert baseline.mean == 200.0 or abs(baseline.mean - 200.0) < 10
        assert not await service.accept("missing:x_ms")
    finally:
        await service.close()


async def test_unusable_file_still_detects(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    path.mkdir()
    service = await AlertService.open(path)
    clock = Clock()
    try:
        assert not service.status.persistent
        assert service.status.message
        await run(service, clock, steady(40))
        assert len(await run(service, clock, [200.0] * 4)) == 1
        await service.flush()
        assert len(await service.history()) == 1
    finally:
        await service.close()


async def test_file_deleted_while_running(tmp_path: Path) -> None:
    """Removing the state directory under a running dashboard must not crash it."""
    path = tmp_path / "state" / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        for file in path.parent.iterdir():
            file.unlink()
        path.parent.rmdir()
        assert len(await run(service, clock, [200.0] * 4)) == 1
        await service.flush()
        await service.history()
        assert [a.key for a in service.active()] == [KEY]
        assert not service.status.persistent
        assert "removed" in service.status.message
    finally:
        await service.close()


async def test_restored_trend_alert_clears_when_growth_stops(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    key = "memory:rss_bytes"
    at = 1_000_000.0
    # Trend windows keep points 30 s apart, so these samples come that often.
    every = 30.0
    service = await AlertService.open(path)
    for i in range(30):
        at += every
        await service.observe([Sample(key, 300e6 + i * 4e6, at, POLL)])
    assert [a.key for a in service.active()] == [key + ":trend"]
    await service.close()

    service = await AlertService.open(path)
    try:
        assert [a.key for a in service.active()] == [key + ":trend"]
        for _ in range(40):
            at += every
            await service.observe([Sample(key, 420e6, at, POLL)])
        assert service.active() == []
        await service.flush()
        events = [e.event for e in await service.events(key + ":trend")]
        assert events[0] == "cleared"
    finally:
        await service.close()


async def test_open_alert_without_baseline_is_cleared_on_load(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    store = await open_store(path)
    orphan = StoredAlert(KEY, "", "level", 4, 1.0, 1.0, 10.0, 90.0, 90.0, 9.0)
    await store.save(SaveBatch(alerts=[AlertWrite(orphan)]))
    await store.close()
    service = await AlertService.open(path)
    try:
        assert service.active() == []
        await service.flush()
        history = await service.history()
        assert history[0].cleared_at is not None
        events = await service.events(KEY)
        assert events[0].note == "no baseline to compare with"
    finally:
        await service.close()

"""The alert service: detector, alert book and a real baseline file together."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from evedmv_tui.monitor.regressions import (
    STALE_AFTER,
    Alert,
    AlertService,
    DetectorConfig,
    Severity,
    describe,
    severity_text,
)
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.baselines import (
    AlertWrite,
    SaveBatch,
    StoredAlert,
    open_store,
)
from tests.test_baselines import write_version_two

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


async def test_accepted_level_stays_normal(tmp_path: Path) -> None:
    """Values up to an accepted level do not alert after the mean falls back.

    The mean relearns the usual 10 ms within minutes of an accept at 200 ms.
    Judged against that mean alone, a return to 190 ms would alert again.
    """
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        assert len(await run(service, clock, [200.0] * 4)) == 1
        assert await service.accept(KEY, at=clock.at)
        assert await run(service, clock, steady(300)) == []
        baseline = service.detector.baseline(KEY)
        assert baseline is not None
        assert baseline.mean < 20.0
        assert baseline.accepted == 200.0
    finally:
        await service.close()

    service = await AlertService.open(path)
    try:
        restored = service.detector.baseline(KEY)
        assert restored is not None
        assert restored.accepted == 200.0
        assert await run(service, clock, [190.0] * 10) == []
        assert service.active() == []
        raised = await run(service, clock, [450.0] * 4)
        assert len(raised) == 1
        assert raised[0].baseline == 200.0
        assert raised[0].severity == Severity.MEDIUM
    finally:
        await service.close()


async def test_reset_forgets_accepted_level(tmp_path: Path) -> None:
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [200.0] * 4)
        assert await service.accept(KEY, at=clock.at)
        assert await service.store.reset(KEY, clock.at) == 1
        await service.sync()
        await run(service, clock, steady(40))
        baseline = service.detector.baseline(KEY)
        assert baseline is not None
        assert baseline.accepted is None
        assert len(await run(service, clock, [190.0] * 4)) == 1
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
    config = DetectorConfig(trend_warmup=0.0)
    service = await AlertService.open(path, config=config)
    for i in range(30):
        at += every
        await service.observe([Sample(key, 300e6 + i * 4e6, at, POLL)])
    assert [a.key for a in service.active()] == [key + ":trend"]
    await service.close()

    service = await AlertService.open(path, config=config)
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


async def test_recovering_alert_names_peak_severity(
    tmp_path: Path,
) -> None:
    """A sub-millisecond statement back below its baseline is not shown as critical.

    Samples of a statement come only from polls in which it ran, so after a
    burst of slow calls one fast call can be all that arrives. The alert
    stays open until enough recovered samples come, but its text must name
    critical as its peak, not as its current level.
    """
    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    clock = Clock()
    try:
        await run(service, clock, steady(40, 0.614))
        raised = await run(service, clock, [9.0] * 4)
        assert [a.severity for a in raised] == [Severity.CRITICAL]
        await run(service, clock, [0.459])
        [alert] = service.active()
        assert alert.severity == Severity.CRITICAL
        assert alert.value == 0.459
        assert alert.recovering
        assert severity_text(alert) == "was critical"
        text = describe(alert, clock.at)
        assert not text.startswith("critical")
        assert "peaked at critical; opened at 9 ms, latest 0.459 ms," in text
        assert ", baseline 0.6" in text

        # The documented rule: three recovered samples in a row clear it.
        await run(service, clock, [0.5, 0.6])
        assert service.active() == []
    finally:
        await service.close()


async def test_cleared_alert_keeps_its_figures(tmp_path: Path) -> None:
    """A cleared alert names the value that opened it, cleared it, and the baseline.

    Its detail text is rewritten by the clearing sample, so it agrees with
    the value that the alerts table shows.
    """
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        raised = await run(service, clock, [120.0] * 4)
        assert [a.opened_value for a in raised] == [120.0]
        await run(service, clock, [60.0, 9.0, 9.5, 9.8])
        assert service.active() == []
    finally:
        await service.close()

    service = await AlertService.open(path)
    try:
        [alert] = await service.history()
    finally:
        await service.close()
    assert alert.opened_value == 120.0
    assert alert.value == 9.8
    assert alert.peak == 120.0
    assert 9.5 < alert.baseline < 10.5
    assert alert.detail.startswith("9.8 ms against ")
    text = describe(alert, clock.at)
    assert text.startswith("level peaked at critical; opened at 120 ms,")
    assert ", cleared at 9.8 ms, " in text
    assert text.endswith(f", baseline {alert.baseline:.3g} ms")
    assert "9.5 ms" not in text


async def test_accept_at_named_level(tmp_path: Path) -> None:
    """Accept adopts the level the user was shown, and the alert names it."""
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [200.0, 210.0, 220.0])
        assert await service.accept(KEY, at=clock.at, level=210.0)
        baseline = service.detector.baseline(KEY)
        assert baseline is not None
        assert baseline.mean == 210.0
        assert baseline.accepted == 210.0
        [alert] = await service.history()
        [event] = [e for e in await service.events(KEY) if e.event == "accepted"]
    finally:
        await service.close()
    assert event.at == alert.cleared_at
    assert alert.value == 210.0
    text = describe(alert, clock.at, accepted=True)
    assert text.startswith("level peaked at ")
    assert ", accepted as normal at 210 ms, previous baseline " in text
    assert "cleared at" not in text


async def test_alert_without_samples_expires(tmp_path: Path) -> None:
    """The alert of a statement that stopped running expires after STALE_AFTER."""
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [300.0] * 4)
        [alert] = service.active()
        assert not alert.stale(clock.at)
        assert alert.stale(clock.at + STALE_AFTER)

        # Other keys go on being sampled, but this one gets no sample.
        last_sample = clock.at
        while clock.at < last_sample + STALE_AFTER - 60.0:
            clock.at += 58.0
            await service.observe([Sample(QUIET, 3.0, clock.tick(), POLL)])
        assert [a.key for a in service.active()] == [KEY]
        clock.at += 60.0
        await service.observe([Sample(QUIET, 3.0, clock.tick(), POLL)])
        assert service.active() == []
        baseline = service.detector.baseline(KEY)
        assert baseline is not None
        assert not baseline.regressed
        await service.flush()
        events = await service.events(KEY)
        assert events[0].event == "expired"
        assert events[0].note.startswith("no samples for 1")
        history = await service.history()
        assert history[0].cleared_at is not None
    finally:
        await service.close()

    # Expired in the file too, and the key judges anew: the statement at its
    # old level raises nothing, and a new regression opens a new alert.
    service = await AlertService.open(path)
    try:
        assert service.active() == []
        assert await run(service, clock, steady(5)) == []
        assert len(await run(service, clock, [300.0] * 4)) == 1
        await service.flush()
        assert len(await service.history()) == 2
    finally:
        await service.close()


async def test_alert_cleared_elsewhere_not_reopened(
    tmp_path: Path,
) -> None:
    """An alert another dashboard cleared is judged anew, not reopened at once."""
    path = tmp_path / "baselines.sqlite3"
    service = await AlertService.open(path)
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        await run(service, clock, [200.0] * 4)
        await service.flush()
        [alert] = service.active()
        other = await open_store(path)
        expired = dataclasses.replace(
            alert, updated_at=clock.at, cleared_at=clock.at
        ).stored()
        await other.save(SaveBatch(alerts=[AlertWrite(expired)]))
        # Any reset, accept or acknowledgement elsewhere makes the dashboard
        # read the open alerts again.
        await other.reset(QUIET, clock.at)
        await other.close()

        assert await run(service, clock, [200.0]) == []
        assert service.active() == []
        raised = await run(service, clock, [200.0] * 3)
        assert [a.key for a in raised] == [KEY]
        assert raised[0].opened_at > alert.opened_at
    finally:
        await service.close()


async def feed_rows(
    service: AlertService, clock: Clock, values: list[float], rows_per_call: float
) -> list[Alert]:
    raised: list[Alert] = []
    for value in values:
        sample = Sample(
            KEY, value, clock.tick(), POLL, True, "INSERT", rows_per_call=rows_per_call
        )
        raised.extend(await service.observe([sample]))
    return raised


async def test_batch_import_raises_nothing(tmp_path: Path) -> None:
    """The live feed's one-row calls teach the baseline. A bulk import with
    the same statement, 2,000 rows and 400 times the time per call, once
    raised a critical alert."""
    path = tmp_path / "baselines.sqlite3"
    clock = Clock()
    service = await AlertService.open(path)
    await feed_rows(service, clock, steady(40, 2.0), 1.0)
    await service.close()

    service = await AlertService.open(path)
    try:
        restored = service.detector.baseline(KEY)
        assert restored is not None
        assert restored.rows_per_call == pytest.approx(1.0)
        assert await feed_rows(service, clock, steady(30, 800.0), 2000.0) == []
        assert service.active() == []
        assert service.detector.baseline(KEY) == restored

        raised = await feed_rows(service, clock, steady(10, 20.0), 1.0)
        assert [a.severity for a in raised] == [Severity.CRITICAL]
    finally:
        await service.close()


async def test_upgraded_file_baselines_still_alert(tmp_path: Path) -> None:
    """Baselines stored before rows per call existed keep judging their keys."""
    path = tmp_path / "baselines.sqlite3"
    clock = Clock()
    write_version_two(path, (KEY, "INSERT", 40, 2, 0.01, 2, clock.at, 0))
    service = await AlertService.open(path)
    try:
        assert service.status.level == "ok"
        assert await feed_rows(service, clock, steady(5, 2.0), 1.0) == []
        learned = service.detector.baseline(KEY)
        assert learned is not None
        assert learned.count == 45
        assert learned.rows_per_call == pytest.approx(1.0)

        raised = await feed_rows(service, clock, steady(10, 20.0), 1.0)
        assert [a.severity for a in raised] == [Severity.CRITICAL]
        await service.flush()
        stored = await service.store.get_baseline(KEY)
        assert stored is not None
        assert stored.rows_per_call == pytest.approx(1.0)
    finally:
        await service.close()


async def test_hit_ratio_peak_is_lowest_stored(tmp_path: Path) -> None:
    """A falling hit ratio's peak is its lowest reading, in the book and in
    the file that the Alerts screen reads."""
    key = "database:cache_hit_ratio"
    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    clock = Clock()
    try:
        await run(service, clock, [0.999, 0.998, 0.9995, 0.999] * 10, key=key)
        await run(service, clock, [0.963] * 3 + [0.457] * 4, key=key)
        alert = next(a for a in service.active() if a.key == key)
        assert alert.severity == Severity.CRITICAL
        assert alert.opened_value == pytest.approx(0.963)
        assert alert.peak == pytest.approx(0.457)
        await service.flush()
        stored = next(a for a in await service.history() if a.key == key)
        assert stored.severity == Severity.CRITICAL
        assert stored.peak == pytest.approx(0.457)
    finally:
        await service.close()

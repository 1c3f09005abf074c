"""Two dashboards on one baseline file: one alert per key, one event per change."""

from __future__ import annotations

import random
from pathlib import Path

from evedmv_tui.monitor.regressions import STALE_AFTER, Alert, AlertService
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.store.baselines import (
    AlertEvent,
    AlertWrite,
    SaveBatch,
    StoredAlert,
    open_store,
)

KEY = "statement:ad3a4b31e3358849:mean_ms"
QUIET = "statement:00aa00aa00aa00aa:mean_ms"
LABEL = "select count(*) from t7work where owner_id = $1"
POLL = 2.0


class Pair:
    """Two dashboards that poll the same server 1 s apart.

    Each sees its own measurements of the statement, so two dashboards that
    started at different times learn different baselines of it.
    """

    def __init__(self, first: AlertService, second: AlertService) -> None:
        self.first = first
        self.second = second
        self.at = 1_000_000.0
        self.rng = random.Random(7)

    async def poll(self, first_value: float, second_value: float) -> None:
        self.at += POLL
        for service, value, at in (
            (self.first, first_value, self.at),
            (self.second, second_value, self.at + 1.0),
        ):
            noise = 1 + self.rng.uniform(-0.03, 0.03)
            samples = [
                Sample(KEY, value * noise, at, POLL, True, LABEL),
                Sample(QUIET, 3.0 * noise, at, POLL),
            ]
            await service.observe(samples)
            # The writer task commits each poll's batch long before the
            # next poll.
            await service.store.flush()

    async def poll_together(self, value: float) -> None:
        """Poll both before either's batch commits, as on a busy file."""
        self.at += POLL
        for service, at in ((self.first, self.at), (self.second, self.at + 1.0)):
            noise = 1 + self.rng.uniform(-0.03, 0.03)
            await service.observe(
                [
                    Sample(KEY, value * noise, at, POLL, True, LABEL),
                    Sample(QUIET, 3.0 * noise, at, POLL),
                ]
            )
        await self.first.store.flush()
        await self.second.store.flush()

    async def polls(self, count: int, first: float, second: float) -> None:
        for _ in range(count):
            await self.poll(first, second)

    async def quiet_polls(self, seconds: float) -> None:
        """Poll without samples of KEY, as when its statement stops running."""
        end = self.at + seconds
        while self.at < end:
            self.at += 30.0
            for service, at in ((self.first, self.at), (self.second, self.at + 1.0)):
                await service.observe([Sample(QUIET, 3.0, at, POLL)])
                await service.store.flush()


async def log_of(service: AlertService) -> list[AlertEvent]:
    return list(reversed(await service.store.events(KEY, limit=100)))


def names(events: list[AlertEvent]) -> list[str]:
    return [event.event for event in events]


def open_alert(service: AlertService) -> Alert:
    [alert] = [a for a in service.active() if a.key == KEY]
    return alert


async def open_pair(path: Path) -> Pair:
    first = await AlertService.open(path)
    second = await AlertService.open(path)
    return Pair(first, second)


async def close_pair(pair: Pair) -> None:
    await pair.first.close()
    await pair.second.close()


async def test_two_dashboards_share_one_alert(tmp_path: Path) -> None:
    """With two dashboards on one file, a slow statement was logged as opened
    by each, against each one's own baseline, and each dashboard showed its
    own opening and baseline."""
    pair = await open_pair(tmp_path / "baselines.sqlite3")
    try:
        await pair.polls(40, 10.0, 25.0)
        await pair.polls(5, 300.0, 300.0)

        assert names(await log_of(pair.first)) == ["opened"]
        [row] = [r for r in await pair.first.store.open_alerts() if r.key == KEY]
        for service in (pair.first, pair.second):
            alert = open_alert(service)
            assert alert.opened_at == row.opened_at
            assert alert.baseline == row.baseline
            assert alert.opened_value == row.opened_value
        # The dashboard that saw it first opened it, against its baseline.
        assert abs(row.baseline - 10.0) < 1.0

        # Both go on judging against that baseline, which the file keeps.
        await pair.polls(3, 300.0, 300.0)
        stored = await pair.first.store.get_baseline(KEY)
        assert stored is not None
        assert stored.mean == row.baseline
        for service in (pair.first, pair.second):
            learned = service.detector.baseline(KEY)
            assert learned is not None
            assert learned.mean == row.baseline
            assert open_alert(service).baseline == row.baseline
    finally:
        await close_pair(pair)


async def test_clear_and_reopen_logged_once(tmp_path: Path) -> None:
    """Clearing logged "cleared" once per dashboard, and a regression within
    the cooldown was logged "opened" by one dashboard and "reopened within
    the cooldown" by the other, which kept showing the old opening."""
    pair = await open_pair(tmp_path / "baselines.sqlite3")
    try:
        await pair.polls(40, 10.0, 25.0)
        await pair.polls(5, 300.0, 300.0)
        # The statement is fast again, for both.
        await pair.polls(6, 10.0, 10.0)

        assert names(await log_of(pair.first)) == ["opened", "cleared"]
        assert pair.first.active() == []
        assert pair.second.active() == []

        await pair.polls(5, 300.0, 300.0)

        events = names(await log_of(pair.first))
        assert events == ["opened", "cleared", "reopened"]
        [row] = [r for r in await pair.first.store.open_alerts() if r.key == KEY]
        assert open_alert(pair.first).opened_at == row.opened_at
        assert open_alert(pair.second).opened_at == row.opened_at
    finally:
        await close_pair(pair)


async def test_stale_alert_expires_once(tmp_path: Path) -> None:
    """Both dashboards expired the same stale alert, so "expired" was logged
    twice."""
    pair = await open_pair(tmp_path / "baselines.sqlite3")
    try:
        await pair.polls(40, 10.0, 25.0)
        await pair.polls(5, 300.0, 300.0)
        await pair.quiet_polls(STALE_AFTER + 120.0)

        assert names(await log_of(pair.first)) == ["opened", "expired"]
        assert pair.first.active() == []
        assert pair.second.active() == []
    finally:
        await close_pair(pair)


async def test_simultaneous_openings_merge(tmp_path: Path) -> None:
    """Two dashboards that open the same alert before either commits end up
    with the stored row's opening and baseline, and the log has one opening.

    Which of the two commits first is up to the threads that write the file,
    so the stored baseline is either dashboard's own.
    """
    pair = await open_pair(tmp_path / "baselines.sqlite3")
    try:
        await pair.polls(40, 10.0, 25.0)
        for _ in range(5):
            await pair.poll_together(300.0)
        await pair.polls(2, 300.0, 300.0)

        assert names(await log_of(pair.first)) == ["opened"]
        [row] = [r for r in await pair.first.store.open_alerts() if r.key == KEY]
        assert min(abs(row.baseline - 10.0), abs(row.baseline - 25.0)) < 1.0
        for service in (pair.first, pair.second):
            alert = open_alert(service)
            assert alert.opened_at == row.opened_at
            assert alert.baseline == row.baseline
            assert alert.opened_value == row.opened_value
    finally:
        await close_pair(pair)


def stored_alert(opened_at: float, cleared_at: float | None = None) -> StoredAlert:
    return StoredAlert(
        KEY,
        LABEL,
        "level",
        3,
        opened_at,
        opened_at + 10.0,
        10.0,
        300.0,
        300.0,
        30.0,
        cleared_at=cleared_at,
        opened_value=300.0,
    )


async def test_update_after_clear_elsewhere_writes_nothing(tmp_path: Path) -> None:
    """A dashboard that had not yet seen another one clear an alert wrote its
    next update, which opened the cleared alert again as a new row."""
    store = await open_store(tmp_path / "baselines.sqlite3")
    try:
        await store.save(SaveBatch(alerts=[AlertWrite(stored_alert(100.0))]))
        cleared = stored_alert(100.0, cleared_at=130.0)
        await store.save(SaveBatch(alerts=[AlertWrite(cleared)]))
        late = AlertWrite(stored_alert(100.0), update_only=True)
        await store.save(SaveBatch(alerts=[late]))
        assert await store.open_alerts() == []
        assert await store.count_rows("alert") == 1
        # An alert opened after that clearing, whose opening write was lost,
        # is stored by its update.
        lost = AlertWrite(stored_alert(200.0), update_only=True)
        await store.save(SaveBatch(alerts=[lost]))
        [row] = await store.open_alerts()
        assert row.opened_at == 200.0
    finally:
        await store.close()

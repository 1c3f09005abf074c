"""Regressions injected into the real PostgreSQL, seen through the monitor's poller.

Each poll runs a fixed workload, then :meth:`Monitor.poll` reads
``pg_stat_statements`` and the server counters, and the alert service judges
the samples it produces, exactly as the dashboard does.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from evedmv_tui.config import Settings
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.monitor.regressions import (
    MIB,
    TREND_SUFFIX,
    Alert,
    AlertService,
    Severity,
)
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.monitor.statements import fingerprint
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry

LOOKUP = "SELECT count(*) FROM regression_probe WHERE v = %s"
SLEEP = "SELECT pg_sleep(%s)"
ROUND_SECONDS = 0.15


@pytest.fixture
def monitor(db_url: str, settings: Settings) -> Iterator[Monitor]:
    watcher = Monitor(None, settings, conninfo=db_url, telemetry=Telemetry())
    try:
        yield watcher
    finally:
        watcher.close()


def statement_key(db: Database, text: str) -> str:
    """Return the sample key the poller gives the statement ``text``."""
    stored = db.fetch_value(
        "SELECT query FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query LIKE %s ORDER BY calls DESC LIMIT 1",
        (text.split("%s")[0] + "%",),
    )
    assert stored is not None, f"{text!r} not in pg_stat_statements"
    return f"statement:{fingerprint(stored)}:mean_ms"


async def poll(
    service: AlertService,
    monitor: Monitor,
    workload: Callable[[], None],
    count: int,
) -> list[list[Alert]]:
    """Run ``count`` polls; return the alerts raised by each.

    Each round lasts at least :data:`ROUND_SECONDS`, so a statement's calls
    per second stay steady when the machine is busy with other work, as a
    steady workload would be on a server.
    """
    raised = []
    for _ in range(count):
        started = time.monotonic()
        workload()
        time.sleep(max(ROUND_SECONDS - (time.monotonic() - started), 0.0))
        snapshot = monitor.poll()
        assert snapshot.connected, snapshot.error
        raised.append(await service.observe(snapshot.samples))
    return raised


def flat(raised: list[list[Alert]]) -> list[Alert]:
    return [alert for poll_alerts in raised for alert in poll_alerts]


def prepare_probe(db: Database) -> None:
    db.execute(
        "CREATE TABLE regression_probe AS"
        " SELECT i AS id, i % 50000 AS v, repeat('x', 40) AS pad"
        " FROM generate_series(1, 300000) AS i"
    )
    db.execute("CREATE INDEX regression_probe_v ON regression_probe (v)")
    db.execute("ANALYZE regression_probe")


async def test_dropped_index_is_detected_once_and_clears(
    db: Database, monitor: Monitor, tmp_path: Path
) -> None:
    prepare_probe(db)

    def lookups() -> None:
        for value in range(20):
            db.fetch_value(LOOKUP, (value * 7,))

    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    try:
        monitor.poll()
        steady = await poll(service, monitor, lookups, 30)
        assert flat(steady) == []
        key = statement_key(db, LOOKUP)
        learned = service.detector.baseline(key)
        assert learned is not None
        assert learned.count >= 20

        db.execute("DROP INDEX regression_probe_v")
        regressed = await poll(service, monitor, lookups, 8)
        alerts = [a for a in flat(regressed) if a.key == key]
        assert len(alerts) == 1, flat(regressed)
        assert alerts[0].severity == Severity.CRITICAL
        first = next(i for i, polled in enumerate(regressed) if polled)
        assert first <= 3
        assert flat(regressed) == alerts, [(a.key, a.detail) for a in flat(regressed)]
        after = service.detector.baseline(key)
        assert after is not None
        assert after.mean == learned.mean
        assert after.count == learned.count
        assert [a.key for a in service.active()] == [key]

        db.execute("CREATE INDEX regression_probe_v ON regression_probe (v)")
        db.execute("ANALYZE regression_probe")
        fixed = await poll(service, monitor, lookups, 6)
        assert flat(fixed) == []
        assert service.active() == []
        await service.flush()
        history = await service.history()
        assert [(a.key, a.cleared_at is not None) for a in history] == [(key, True)]
    finally:
        await service.close()


async def test_pg_sleep_regression_is_high(
    db: Database, monitor: Monitor, tmp_path: Path
) -> None:
    delay = {"seconds": 0.01}

    def sleeps() -> None:
        for _ in range(4):
            db.fetch_value(SLEEP, (delay["seconds"],))

    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    try:
        monitor.poll()
        assert flat(await poll(service, monitor, sleeps, 26)) == []
        key = statement_key(db, SLEEP)
        delay["seconds"] = 0.06
        regressed = flat(await poll(service, monitor, sleeps, 6))
        assert [a.key for a in regressed] == [key]
        assert regressed[0].severity == Severity.HIGH
        delay["seconds"] = 0.01
        assert flat(await poll(service, monitor, sleeps, 5)) == []
        assert service.active() == []
    finally:
        await service.close()


async def test_statistics_reset_mid_run_raises_nothing(
    db: Database, monitor: Monitor, tmp_path: Path
) -> None:
    prepare_probe(db)

    def lookups() -> None:
        for value in range(20):
            db.fetch_value(LOOKUP, (value * 3,))

    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    try:
        monitor.poll()
        assert flat(await poll(service, monitor, lookups, 25)) == []
        skipped = service.detector.skipped
        db.execute("SELECT pg_stat_statements_reset()")
        db.execute("SELECT pg_stat_reset()")
        assert flat(await poll(service, monitor, lookups, 10)) == []
        assert service.active() == []
        # The reset interval was marked untrusted and skipped, not learned.
        assert service.detector.skipped > skipped
    finally:
        await service.close()


async def test_growing_process_memory_is_a_leak_trend(tmp_path: Path) -> None:
    """The test process itself grows; its real RSS is judged at each point.

    The clock advances 30 s a poll, the spacing of a trend window's points.
    The first 20 polls fall in the trend's warm-up.
    """
    process = psutil.Process()
    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    hoard: list[bytearray] = []
    at = 1_000_000.0
    raised: list[Alert] = []
    try:
        for _ in range(55):
            # Written, not only reserved, so the pages count in RSS.
            hoard.append(bytearray(b"\x01") * (3 * MIB))
            at += 30.0
            rss = float(process.memory_info().rss)
            raised.extend(
                await service.observe([Sample("memory:rss_bytes", rss, at, 2.0)])
            )
        trend = [a for a in raised if a.key == "memory:rss_bytes" + TREND_SUFFIX]
        assert trend
        # One alert: it may be raised again as it escalates, never reopened.
        assert {a.opened_at for a in trend} == {trend[0].opened_at}
        assert trend[0].kind == "trend"
        assert trend[0].value > trend[0].baseline
        assert "per hour" in trend[0].detail
    finally:
        hoard.clear()
        gc.collect()
        await service.close()


async def test_steady_process_memory_is_not_a_leak(tmp_path: Path) -> None:
    process = psutil.Process()
    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    at = 1_000_000.0
    raised: list[Alert] = []
    try:
        for _ in range(45):
            scratch = bytearray(b"\x01") * (3 * MIB)
            at += 30.0
            rss = float(process.memory_info().rss)
            del scratch
            raised.extend(
                await service.observe([Sample("memory:rss_bytes", rss, at, 2.0)])
            )
        assert raised == []
    finally:
        await service.close()


async def test_recreated_table_keeps_its_baseline(
    db: Database, monitor: Monitor, tmp_path: Path
) -> None:
    """Recreating a table changes the statement's queryid but not its key."""
    prepare_probe(db)

    def lookups() -> None:
        for value in range(20):
            db.fetch_value(LOOKUP, (value * 11,))

    def queryids() -> set[int]:
        rows = db.fetch_all(
            "SELECT queryid FROM pg_stat_statements"
            " WHERE query LIKE 'SELECT count(*) FROM regression_probe%'"
        )
        return {row[0] for row in rows}

    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    try:
        monitor.poll()
        assert flat(await poll(service, monitor, lookups, 24)) == []
        key = statement_key(db, LOOKUP)
        before = service.detector.baseline(key)
        assert before is not None
        first_ids = queryids()

        db.execute("DROP TABLE regression_probe")
        prepare_probe(db)
        assert flat(await poll(service, monitor, lookups, 10)) == []
        assert queryids() - first_ids, "recreating the table kept the queryid"
        assert statement_key(db, LOOKUP) == key
        after = service.detector.baseline(key)
        assert after is not None
        assert after.count > before.count
    finally:
        await service.close()

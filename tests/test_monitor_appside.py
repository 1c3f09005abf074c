"""The application-side rows and the memory panel's reuse of idle samples,
without a server."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from evedmv_tui.config import Settings
from evedmv_tui.monitor.activity import Backend
from evedmv_tui.monitor.appside import (
    QuantileCache,
    operation_rows,
    slow_app_queries,
)
from evedmv_tui.monitor.memory import (
    MemoryTrend,
    ProcessMemory,
    ProcessSampler,
    ServerLocality,
)
from evedmv_tui.monitor.poller import (
    IDLE_BACKEND_MAX_AGE_SECONDS,
    MAX_INTERVAL,
    MIN_INTERVAL,
    Monitor,
)
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.store.telemetry import QueryRecord, Telemetry


def record(started: float, seconds: float, name: str = "q") -> QueryRecord:
    return QueryRecord("screen", name, f"SELECT {name}", None, started, seconds, 1)


def test_slow_app_queries_since_and_order() -> None:
    telemetry = Telemetry()
    for n in range(50):
        telemetry.record(record(float(n), 3.0, f"old{n}"))
    telemetry.record(record(100.0, 2.0, "warn"))
    telemetry.record(record(101.0, 6.0, "error"))
    telemetry.record(record(102.0, 0.1, "fast"))
    slow = slow_app_queries(telemetry, 100.0, warning_seconds=1.0, error_seconds=5.0)
    assert [s.record.name for s in slow] == ["error", "warn"]
    assert slow[0].severity == Severity.ERROR
    assert slow[1].severity == Severity.WARNING


def test_slow_app_queries_select_by_end_time() -> None:
    telemetry = Telemetry()
    telemetry.record(record(90.0, 6.0, "ended before"))
    # Sent before the previous poll at 100.0, finished after it.
    telemetry.record(record(97.0, 5.5, "straddles error"))
    telemetry.record(record(98.5, 2.0, "straddles warning"))
    telemetry.record(record(100.5, 1.5, "sent after"))
    slow = slow_app_queries(telemetry, 100.0, warning_seconds=1.0, error_seconds=5.0)
    names = [s.record.name for s in slow]
    assert names == ["straddles error", "straddles warning", "sent after"]
    assert slow[0].severity == Severity.ERROR
    assert slow[1].severity == Severity.WARNING


def test_slow_app_queries_longer_than_interval() -> None:
    """A statement of 6 s sent at 101.0 and polled every 2 s is listed once."""
    telemetry = Telemetry()
    listed: dict[float, list[str]] = {}
    previous = 100.0
    for poll in (102.0, 104.0, 106.0, 108.0, 110.0):
        if poll == 108.0:
            # The statement finished at 107.0, between the polls at 106 and 108.
            telemetry.record(record(101.0, 6.0, "long"))
        found = slow_app_queries(
            telemetry, previous, warning_seconds=1.0, error_seconds=5.0
        )
        listed[poll] = [s.record.name for s in found]
        previous = poll
    assert listed == {102.0: [], 104.0: [], 106.0: [], 108.0: ["long"], 110.0: []}


def test_slow_app_queries_scan_passes_late_records() -> None:
    telemetry = Telemetry()
    telemetry.record(record(100.4, 1.2, "first"))
    # Recorded after one that finished after since, but finished before it.
    telemetry.record(record(97.0, 2.5, "ended before"))
    telemetry.record(record(100.2, 2.0, "late"))
    slow = slow_app_queries(telemetry, 100.0, warning_seconds=1.0, error_seconds=5.0)
    assert [s.record.name for s in slow] == ["late", "first"]


def test_operation_quantiles_cached_by_version() -> None:
    telemetry = Telemetry()
    for seconds in (0.1, 0.2, 0.3):
        telemetry.record(QueryRecord("op", "q", "SELECT 1", None, 0.0, seconds, 1))

    cache: QuantileCache = {}
    first = operation_rows(
        telemetry.operations(),
        {},
        warning_seconds=1.0,
        error_seconds=5.0,
        quantiles=cache,
    )
    assert first[0].p50_ms == pytest.approx(200.0)

    # While the version matches, the cached quantiles are used as stored.
    cache["op"].p50 = cache["op"].p95 = 9.0
    same = operation_rows(
        telemetry.operations(),
        {"op": 3},
        warning_seconds=1.0,
        error_seconds=5.0,
        quantiles=cache,
    )
    assert same[0].p50_ms == pytest.approx(9000.0)
    assert same[0].interval_calls == 0

    telemetry.record(QueryRecord("op", "q", "SELECT 1", None, 0.0, 0.4, 1))
    changed = operation_rows(
        telemetry.operations(),
        {"op": 3},
        warning_seconds=1.0,
        error_seconds=5.0,
        quantiles=cache,
    )
    assert changed[0].p50_ms == pytest.approx(300.0)
    assert changed[0].interval_calls == 1


class CountingSampler(ProcessSampler):
    """Returns made-up samples and counts them by pid."""

    def __init__(self) -> None:
        super().__init__()
        self.sampled: list[int] = []

    def sample(
        self,
        pid: int,
        role: str,
        *,
        with_uss: bool = False,
        now: float | None = None,
        cpu_seconds: float | None = None,
    ) -> ProcessMemory:
        self.sampled.append(pid)
        return ProcessMemory(pid, role, "postgres", 1, None, 0.0, None, sampled_at=now)


def backend(pid: int, state: str | None) -> Backend:
    return Backend(
        pid, "evedmv", "evedmv", "evedmv", None, "client backend", state,
        None, None, None, None, "", [],
    )  # fmt: skip


def test_idle_backends_sampled_at_most_every_max_age(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sampler = CountingSampler()
    settings = Settings(dsn="postgresql:///none", state_dir=tmp_path)
    monitor = Monitor(None, settings, conninfo="postgresql:///none", sampler=sampler)
    clock = [1000.0]
    monkeypatch.setattr("evedmv_tui.monitor.poller.time.monotonic", lambda: clock[0])
    backends = [backend(11, "idle"), backend(12, "active")]
    local = ServerLocality(True)

    monitor._memory(local, backends)
    clock[0] += IDLE_BACKEND_MAX_AGE_SECONDS / 2
    sampler.sampled.clear()
    memory = monitor._memory(local, backends)
    assert 11 not in sampler.sampled
    assert 12 in sampler.sampled
    assert [p.pid for p in memory.backends] == [11, 12]
    assert memory.backends[0].sampled_at == 1000.0

    clock[0] += IDLE_BACKEND_MAX_AGE_SECONDS
    sampler.sampled.clear()
    monitor._memory(local, backends)
    assert 11 in sampler.sampled


@pytest.mark.parametrize(
    ("configured", "expected"),
    [(0.01, MIN_INTERVAL), (0.0, MIN_INTERVAL), (5.0, 5.0), (3600.0, MAX_INTERVAL)],
)
def test_interval_from_settings_clamped(
    tmp_path: Path, configured: float, expected: float
) -> None:
    settings = Settings(
        dsn="postgresql:///none", state_dir=tmp_path, poll_interval=configured
    )
    monitor = Monitor(None, settings, conninfo="postgresql:///none")
    assert monitor.interval == expected
    assert monitor.next_delay() == expected


class CpuReadsProcess:
    """A process whose CPU times count their reads."""

    def __init__(self) -> None:
        self.cpu_reads = 0

    def name(self) -> str:
        return "python"

    def memory_info(self) -> Any:
        return SimpleNamespace(rss=1000)

    def memory_full_info(self) -> Any:
        return SimpleNamespace(rss=1000, uss=500)

    def cpu_times(self) -> Any:
        self.cpu_reads += 1
        return SimpleNamespace(user=1.5, system=0.5)


def test_sample_takes_cpu_time_from_caller() -> None:
    process = CpuReadsProcess()
    sampler = ProcessSampler(lambda pid: process)
    sample = sampler.sample(1, "app", now=0.0, cpu_seconds=3.25)
    assert sample.cpu_seconds == 3.25
    assert sample.rss == 1000
    assert process.cpu_reads == 0


def test_cpu_time_reads_only_cpu() -> None:
    process = CpuReadsProcess()
    sampler = ProcessSampler(lambda pid: process)
    assert sampler.cpu_time(1) == pytest.approx(2.0)
    assert process.cpu_reads == 1


def test_cpu_time_of_exited_process_is_none() -> None:
    def exited(pid: int) -> Any:
        raise psutil.NoSuchProcess(pid)

    assert ProcessSampler(exited).cpu_time(7) is None


def test_idle_application_reuses_operation_rows(tmp_path: Path) -> None:
    """Polls while the application runs no statement must keep its operation
    figures, with no calls in the interval, and list no slow statement twice."""
    telemetry = Telemetry()
    settings = Settings(dsn="postgresql:///none", state_dir=tmp_path)
    monitor = Monitor(
        None, settings, conninfo="postgresql:///none", telemetry=telemetry
    )
    now = time.time()
    telemetry.record(record(now - 3.0, 2.0, "slow"))

    first, first_slow = monitor._app_side()
    assert [row.operation for row in first] == ["screen"]
    assert first[0].interval_calls is None
    assert [s.record.name for s in first_slow] == ["slow"]

    monitor._previous.wall = now
    idle, idle_slow = monitor._app_side()
    assert idle[0].interval_calls == 0
    assert idle[0].p95_ms == first[0].p95_ms
    assert idle[0].calls == 1
    assert idle_slow == []

    telemetry.record(record(time.time(), 1.5, "again"))
    busy, busy_slow = monitor._app_side()
    assert busy[0].interval_calls == 1
    assert busy[0].calls == 2
    assert [s.record.name for s in busy_slow] == ["again"]


def test_trend_keeps_only_the_window() -> None:
    """A long-running monitor must fit the same points as a fresh history of
    the last window, without keeping or scanning older samples."""
    long_run = MemoryTrend(window_seconds=60.0)
    for t in range(0, 3601, 2):
        long_run.add(float(t), 1000 + (t % 7) * 10 + t)
    fresh = MemoryTrend(window_seconds=60.0)
    for t in range(3540, 3601, 2):
        fresh.add(float(t), 1000 + (t % 7) * 10 + t)
    assert long_run.history[0][0] == 3540.0
    assert len(long_run.history) == 31
    assert long_run.trend() == fresh.trend()

"""The psutil sampler with failures injected per process, the RSS trend and
leak rule, the garbage collector and tracemalloc."""

from __future__ import annotations

import collections
import itertools
import os
import subprocess
import sys
import time

import psutil
import pytest

from evedmv_tui.monitor.memory import (
    LEAK_SLOPE_BYTES_PER_MIN,
    LEAK_WARMUP_SECONDS,
    MIB,
    MemoryTrend,
    ProcessSampler,
    ProcFiles,
    backend_type_from_title,
    gc_stats,
    judge_locality,
    least_squares,
    start_tracing,
    stop_tracing,
    top_allocations,
    warmup_end,
)

Times = collections.namedtuple("Times", "user system")
Info = collections.namedtuple("Info", "rss")
FullInfo = collections.namedtuple("FullInfo", "rss uss")


class FakeProcess:
    """A process whose figures and failures the test sets."""

    def __init__(
        self,
        pid: int,
        *,
        rss: int = 100 * MIB,
        cpu: float = 1.0,
        fail: type[Exception] | None = None,
        full_info_denied: bool = False,
        name: str = "postgres",
        title: str = "postgres: checkpointer ",
    ) -> None:
        self.pid = pid
        self.rss = rss
        self.cpu = cpu
        self.fail = fail
        self.full_info_denied = full_info_denied
        self._name = name
        self.title = title
        self.title_reads = 0

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail(self.pid)

    def name(self) -> str:
        self._check()
        return self._name

    def cmdline(self) -> list[str]:
        """Return the title as psutil splits a title PostgreSQL set."""
        self._check()
        self.title_reads += 1
        return [self.title, "", ""]

    def memory_info(self) -> Info:
        self._check()
        return Info(self.rss)

    def memory_full_info(self) -> FullInfo:
        self._check()
        if self.full_info_denied:
            raise psutil.AccessDenied(self.pid)
        return FullInfo(self.rss, self.rss // 2)

    def cpu_times(self) -> Times:
        self._check()
        return Times(self.cpu, 0.0)


def factory_of(processes: dict[int, FakeProcess]):  # type: ignore[no-untyped-def]
    def factory(pid: int) -> FakeProcess:
        if pid not in processes:
            raise psutil.NoSuchProcess(pid)
        return processes[pid]

    return factory


def test_exited_process_gives_na_for_itself_only() -> None:
    processes = {1: FakeProcess(1), 2: FakeProcess(2, fail=psutil.NoSuchProcess)}
    sampler = ProcessSampler(factory_of(processes))
    alive = sampler.sample(1, "client backend", now=0.0)
    gone = sampler.sample(2, "client backend", now=0.0)
    assert alive.rss == 100 * MIB
    assert alive.error is None
    assert gone.rss is None
    assert gone.error == "exited"


def test_access_denied_gives_na_for_itself_only() -> None:
    processes = {1: FakeProcess(1, fail=psutil.AccessDenied), 2: FakeProcess(2)}
    sampler = ProcessSampler(factory_of(processes))
    denied = sampler.sample(1, "client backend", now=0.0)
    readable = sampler.sample(2, "client backend", now=0.0)
    assert denied.error == "access denied"
    assert denied.cpu_seconds is None
    assert readable.rss == 100 * MIB


def test_missing_pid_gives_na() -> None:
    sampler = ProcessSampler(factory_of({}))
    assert sampler.sample(99, "backend", now=0.0).error == "exited"


def test_process_exiting_between_samples() -> None:
    process = FakeProcess(1)
    sampler = ProcessSampler(factory_of({1: process}))
    first = sampler.sample(1, "backend", now=0.0)
    process.fail = psutil.NoSuchProcess
    second = sampler.sample(1, "backend", now=1.0)
    assert first.error is None
    assert second.error == "exited"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("postgres: checkpointer ", "checkpointer"),
        ("postgres: 15/main: checkpointer ", "checkpointer"),
        ("postgres: background writer ", "background writer"),
        ("postgres: walwriter ", "walwriter"),
        ("postgres: autovacuum launcher ", "autovacuum launcher"),
        ("postgres: autovacuum worker evedmv", "autovacuum worker"),
        ("postgres: logical replication launcher ", "logical replication launcher"),
        (
            "postgres: logical replication apply worker for subscription 16390",
            "logical replication worker",
        ),
        ("postgres: parallel worker for PID 4242", "parallel worker"),
        (
            "postgres: walsender replicator 10.0.0.5(51234) streaming 0/3000148",
            "walsender",
        ),
        ("postgres: evedmv evedmv [local] idle", "client backend"),
        ("postgres: 15/main: alice kills 127.0.0.1(40112) SELECT", "client backend"),
        ("postgres: startup evedmv [local] idle", "client backend"),
        ("postgres: a:b: c: walwriter", "walwriter"),
        ("postgres: pg_wait_sampling collector", None),
        ("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", None),
        ("python -m evedmv_tui", None),
        ("", None),
    ],
)
def test_backend_type_from_title(title: str, expected: str | None) -> None:
    assert backend_type_from_title(title) == expected


def test_title_read_once_per_pid() -> None:
    process = FakeProcess(1, title="postgres: 16/main: background writer ")
    sampler = ProcessSampler(factory_of({1: process}))
    first = sampler.title_backend_type(1)
    second = sampler.title_backend_type(1)
    assert first == "background writer"
    assert second == "background writer"
    assert process.title_reads == 1
    sampler.prune(set())
    assert sampler.title_backend_type(1) == "background writer"
    assert process.title_reads == 2


def test_unreadable_title_gives_no_type() -> None:
    processes = {1: FakeProcess(1, fail=psutil.AccessDenied)}
    sampler = ProcessSampler(factory_of(processes))
    assert sampler.title_backend_type(1) is None
    assert sampler.title_backend_type(2) is None


def test_cpu_percent_from_previous_sample() -> None:
    process = FakeProcess(1, cpu=10.0)
    sampler = ProcessSampler(factory_of({1: process}))
    first = sampler.sample(1, "backend", now=100.0)
    process.cpu = 10.5
    second = sampler.sample(1, "backend", now=102.0)
    assert first.cpu_percent is None
    assert second.cpu_percent == pytest.approx(25.0)


def test_uss_falls_back_to_rss_when_denied() -> None:
    processes = {1: FakeProcess(1, full_info_denied=True), 2: FakeProcess(2)}
    sampler = ProcessSampler(factory_of(processes))
    denied = sampler.sample(1, "app", with_uss=True, now=0.0)
    full = sampler.sample(2, "app", with_uss=True, now=0.0)
    assert denied.rss == 100 * MIB
    assert denied.uss is None
    assert full.uss == 50 * MIB


def test_uss_is_reread_after_max_age() -> None:
    process = FakeProcess(1)
    sampler = ProcessSampler(factory_of({1: process}), uss_max_age=10.0)
    first = sampler.sample(1, "app", with_uss=True, now=0.0)
    process.rss = 200 * MIB
    cached = sampler.sample(1, "app", with_uss=True, now=5.0)
    fresh = sampler.sample(1, "app", with_uss=True, now=10.0)
    assert first.uss == 50 * MIB
    assert first.uss_at is not None
    assert cached.rss == 200 * MIB
    assert cached.uss == 50 * MIB
    assert cached.uss_at == first.uss_at
    assert fresh.uss == 100 * MIB
    assert cached.sampled_at is not None


def test_real_own_process_has_rss() -> None:
    sample = ProcessSampler().sample(os.getpid(), "app", with_uss=True)
    assert sample.error is None
    assert sample.rss is not None and sample.rss > 0


def fill(trend: MemoryTrend, seconds: int, step: int, bytes_per_s: float) -> None:
    for t in range(0, seconds + 1, step):
        trend.add(float(t), int(200 * MIB + bytes_per_s * t))


def test_sustained_climb_is_a_suspected_leak() -> None:
    trend = MemoryTrend()
    fill(trend, 360, 2, 2 * LEAK_SLOPE_BYTES_PER_MIN / 60)
    fit = trend.trend()
    assert fit is not None
    assert fit.slope_bytes_per_min == pytest.approx(2 * LEAK_SLOPE_BYTES_PER_MIN)
    assert fit.leak_suspected is True


def test_climb_during_warmup_is_not_judged() -> None:
    """Growth while the app starts up is not a leak; the same climb after
    the warm-up is."""
    climb = 2 * LEAK_SLOPE_BYTES_PER_MIN / 60
    trend = MemoryTrend(judge_after=400.0)
    fill(trend, 360, 2, climb)
    fit = trend.trend()
    assert fit is not None
    assert fit.starting_up
    assert not fit.judged
    assert fit.leak_suspected is False
    assert fit.verdict == "not judged while the app starts up"
    fill(trend, 720, 2, climb)
    later = trend.trend()
    assert later is not None
    assert not later.starting_up
    assert later.leak_suspected is True


def test_warmup_counts_from_process_start() -> None:
    """The warm-up ends LEAK_WARMUP_SECONDS after this process started,
    which was before the test, so less than that from now."""
    now = time.monotonic()
    end = warmup_end()
    assert now < end < now + LEAK_WARMUP_SECONDS
    assert warmup_end(0.0) <= time.monotonic()


def test_slow_climb_is_not_a_leak() -> None:
    trend = MemoryTrend()
    fill(trend, 360, 2, 0.2 * LEAK_SLOPE_BYTES_PER_MIN / 60)
    fit = trend.trend()
    assert fit is not None
    assert fit.leak_suspected is False


def test_short_history_is_not_a_leak() -> None:
    trend = MemoryTrend()
    fill(trend, 60, 2, 10 * LEAK_SLOPE_BYTES_PER_MIN / 60)
    fit = trend.trend()
    assert fit is not None
    assert fit.leak_suspected is False
    assert not fit.judged
    assert fit.verdict == "not judged before 300 s"
    fill(trend, 300, 2, 0)
    judged = trend.trend()
    assert judged is not None
    assert judged.judged
    assert judged.verdict == "no leak"


def test_single_step_is_not_a_leak() -> None:
    trend = MemoryTrend()
    for t in range(0, 361, 2):
        trend.add(float(t), 200 * MIB if t < 210 else 400 * MIB)
    fit = trend.trend()
    assert fit is not None
    assert fit.r_squared < 0.8
    assert fit.leak_suspected is False


def test_trend_needs_three_samples() -> None:
    trend = MemoryTrend()
    trend.add(0.0, 1)
    trend.add(1.0, 2)
    assert trend.trend() is None


def test_trend_history_is_bounded() -> None:
    trend = MemoryTrend(max_samples=10)
    fill(trend, 100, 1, 1.0)
    assert len(trend.history) == 10


def test_trend_step_skips_close_samples() -> None:
    trend = MemoryTrend(step_seconds=10.0)
    fill(trend, 360, 2, 2 * LEAK_SLOPE_BYTES_PER_MIN / 60)
    times = [t for t, _ in trend.history]
    assert all(later - earlier >= 10.0 for earlier, later in itertools.pairwise(times))
    assert len(times) <= 32
    fit = trend.trend()
    assert fit is not None
    assert fit.slope_bytes_per_min == pytest.approx(2 * LEAK_SLOPE_BYTES_PER_MIN)
    assert fit.leak_suspected is True


def test_trend_fit_follows_new_samples() -> None:
    trend = MemoryTrend()
    fill(trend, 360, 2, 0.0)
    flat = trend.trend()
    assert flat is not None
    assert trend.trend() is flat
    for t in range(362, 724, 2):
        trend.add(float(t), int(200 * MIB + 2 * LEAK_SLOPE_BYTES_PER_MIN / 60 * t))
    climbing = trend.trend()
    assert climbing is not None
    assert flat.leak_suspected is False
    assert climbing.leak_suspected is True


def test_least_squares_of_flat_time_is_none() -> None:
    assert least_squares([(1.0, 5), (1.0, 6), (1.0, 7)]) is None


def test_gc_stats_has_three_generations() -> None:
    stats = gc_stats()
    assert [g.generation for g in stats][:3] == [0, 1, 2]
    assert all(g.collections >= 0 for g in stats)


def test_top_allocations_only_while_tracing() -> None:
    assert top_allocations() is None
    started = start_tracing()
    try:
        blob = [bytearray(1024) for _ in range(2000)]
        sites = top_allocations(5)
    finally:
        if started:
            stop_tracing()
    assert blob
    assert sites is not None
    assert sites[0].size_bytes >= 1024 * 1000
    assert sites[0].file.endswith("test_memory.py")


def test_remote_server_hides_backend_figures() -> None:
    locality = judge_locality("10.1.2.3", 1234, factory=factory_of({}))
    assert locality.local is False
    assert locality.reason is not None and "10.1.2.3" in locality.reason


def test_loopback_server_with_visible_backend_is_local() -> None:
    processes = {7: FakeProcess(7)}
    assert judge_locality("127.0.0.1", 7, factory=factory_of(processes)).local is True
    assert judge_locality(None, 7, factory=factory_of(processes)).local is True


def test_backend_pid_not_here_hides_figures() -> None:
    locality = judge_locality(None, 7, factory=factory_of({}))
    assert locality.local is False
    assert (
        locality.reason is not None
        and "not a process on this machine" in locality.reason
    )


def test_backend_pid_of_another_program_hides_figures() -> None:
    processes = {7: FakeProcess(7, name="bash")}
    locality = judge_locality("::1", 7, factory=factory_of(processes))
    assert locality.local is False
    assert locality.reason is not None and "bash" in locality.reason


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc"
)


@linux_only
def test_proc_files_match_psutil() -> None:
    """The kept-open /proc files must give psutil's RSS and CPU time, or the
    app's memory and the poll's backend cost would change with the reader."""
    files = ProcFiles(os.getpid())
    process = psutil.Process()
    try:
        for _ in range(3):
            sum(range(200_000))
            # A clock tick or a page may come between two readings, so the
            # psutil reading is taken between two of ours.
            before = files.cpu_seconds()
            times = process.cpu_times()
            assert float(times.user + times.system) in {before, files.cpu_seconds()}
            before_rss = files.rss()
            rss = process.memory_info().rss
            assert rss in {before_rss, files.rss()}
    finally:
        files.close()


@linux_only
def test_proc_files_of_exited_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    files = ProcFiles(child.pid)
    try:
        files.cpu_seconds()
        files.rss()
    finally:
        child.kill()
        child.wait()
    with pytest.raises(psutil.NoSuchProcess):
        files.cpu_seconds()
    with pytest.raises(psutil.NoSuchProcess):
        files.rss()
    files.close()


@linux_only
def test_sampler_closes_kept_files() -> None:
    sampler = ProcessSampler()
    pid = os.getpid()
    app = sampler.sample(pid, "app", now=0.0, cpu_seconds=1.0)
    assert app.rss is not None
    assert app.error is None
    assert sampler.cpu_time(pid) is not None
    assert pid in sampler._files
    sampler.prune(set())
    assert sampler._files == {}
    sampler.cpu_time(pid)
    sampler.close()
    assert sampler._files == {}


@linux_only
def test_cpu_time_of_exited_backend() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    sampler = ProcessSampler()
    try:
        assert sampler.cpu_time(child.pid) is not None
    finally:
        child.kill()
        child.wait()
    assert sampler.cpu_time(child.pid) is None
    assert sampler._files == {}
    exited = sampler.sample(child.pid, "backend", now=0.0)
    assert exited.error == "exited"


def test_allocation_sites_interval_and_enabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Snapshots are taken only when enabled and at most once per interval."""
    from evedmv_tui.monitor import memory

    snapshots = []

    def fake_top_allocations() -> list[memory.AllocationSite]:
        snapshots.append(1)
        return [memory.AllocationSite("x.py", len(snapshots), 1024, 1)]

    monkeypatch.setattr(memory, "top_allocations", fake_top_allocations)
    sites = memory.AllocationSites(interval_seconds=30.0)
    assert sites.read(now=0.0) is None
    started = start_tracing()
    try:
        first = sites.read(now=100.0)
        again = sites.read(now=110.0)
        sites.enabled = False
        disabled = sites.read(now=200.0)
        sites.enabled = True
        later = sites.read(now=200.0)
    finally:
        if started:
            stop_tracing()
    assert len(snapshots) == 2
    assert first is not None
    assert again == first
    assert disabled == first
    assert later is not None
    assert later[0].line == 2
    assert sites.read(now=300.0) is None


@linux_only
def test_sampler_close_while_a_poll_opens_files() -> None:
    """Closing the sampler from the UI thread while a poll opened the files
    of another pid raised "dictionary changed size during iteration"."""
    sampler = ProcessSampler()
    closed: list[int] = []

    class OpeningOnClose(ProcFiles):
        def close(self) -> None:
            # What the poll's thread does meanwhile: sample a new pid.
            if not closed:
                sampler._files[os.getppid()] = ProcFiles(os.getppid())
            closed.append(self.pid)
            super().close()

    sampler._files[os.getpid()] = OpeningOnClose(os.getpid())
    sampler.close()
    assert sampler._files == {}
    assert closed[0] == os.getpid()

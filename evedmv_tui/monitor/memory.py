"""Process memory with psutil, the RSS trend, leak detection, the garbage
collector and tracemalloc.

psutil failures are per process: a process that exited or that this user
may not read gives n/a for that process only. CPU rates come from an explicit
previous sample, so the sampler is testable with injected processes.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import gc
import ipaddress
import logging
import math
import os
import re
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, Protocol

import psutil

log = logging.getLogger(__name__)

MIB = 1024 * 1024

LEAK_WINDOW_SECONDS = 300.0
"""A leak is judged over at least this much history."""
JUDGED_SHARE = 0.95
"""Share of the window the samples must span, allowing for sampling jitter."""
LEAK_SLOPE_BYTES_PER_MIN = 1.0 * MIB
"""A sustained RSS climb above this slope (least squares) is a suspected leak."""
LEAK_MIN_R_SQUARED = 0.8
"""The straight line must explain this share of the variance, so one large
allocation (a step) is not read as a leak."""
USS_MAX_AGE_SECONDS = 120.0
"""A process's unique set size is read at most this often. Reading it makes
the kernel walk the process's memory map for ``/proc/<pid>/smaps_rollup``,
which took about 2 ms of CPU in the monitor process of ``bench/monitor.py``,
about as much as a whole poll. The leak rule follows RSS, which is read
every time."""
LEAK_WARMUP_SECONDS = 600.0
"""The monitor judges no leak on samples from the app's first 10 minutes.

A dashboard's RSS climbs steadily while the user opens screens for the
first time: modules are imported and caches fill. Measured at 80x24 that
was 8 MiB/min over 5 minutes with R² 0.97, which passes the leak rule, then
flat once every screen had been seen."""
TREND_STEP_SECONDS = 10.0
"""The monitor adds an RSS sample to its leak trend at most this often, so a
fit over the 300 s window has about 30 points whatever the poll interval."""


class ProcessLike(Protocol):
    """The part of :class:`psutil.Process` the sampler uses."""

    def name(self) -> str: ...
    def cmdline(self) -> list[str]: ...
    def memory_info(self) -> Any: ...
    def memory_full_info(self) -> Any: ...
    def cpu_times(self) -> Any: ...


ProcessFactory = Callable[[int], ProcessLike]

TITLE_PREFIX = "postgres: "
"""The start of the title PostgreSQL sets on its server processes, before
the optional ``cluster_name`` and a colon."""
TITLE_TYPES = (
    ("checkpointer", "checkpointer"),
    ("background writer", "background writer"),
    ("walwriter", "walwriter"),
    ("autovacuum launcher", "autovacuum launcher"),
    ("autovacuum worker", "autovacuum worker"),
    ("logical replication launcher", "logical replication launcher"),
    ("logical replication", "logical replication worker"),
    ("parallel worker", "parallel worker"),
    ("archiver", "archiver"),
    ("startup", "startup"),
    ("walreceiver", "walreceiver"),
    ("walsummarizer", "walsummarizer"),
    ("slotsync worker", "slotsync worker"),
)
"""The first words of a server process's title, after the prefix, and the
``backend_type`` that ``pg_stat_activity`` gives such a process. The first
match wins, so the launcher comes before the other logical replication
workers.

NOTE: only the checkpointer, background writer, walwriter, autovacuum
launcher, logical replication launcher and client backend titles were
checked on a running server (PostgreSQL 15). The other entries follow the
backend type names and may miss a title that a server version words
differently."""
CLIENT_TITLE = re.compile(r"\S+ \S+ (\[local\]|\S+\(\d+\))( |$)")
"""A client backend's title: user, database, then ``[local]`` or the
client's host and port, then the activity. A walsender's title
(``walsender user host(port) streaming``) matches too, so it is tested
first."""


@dataclasses.dataclass(frozen=True, slots=True)
class ProcessMemory:
    """Memory and CPU of one process; None fields are n/a, with ``error`` saying why."""

    pid: int
    role: str
    """``app`` for this process, else the backend type (``client backend``)."""
    name: str | None
    rss: int | None
    uss: int | None
    """Unique set size, when the platform and permissions give it."""
    cpu_seconds: float | None
    cpu_percent: float | None
    """CPU use since the previous sample, in percent of one core."""
    error: str | None = None
    uss_at: float | None = None
    """Wall-clock time (``time.time()``) when ``uss`` was read, at most
    :data:`USS_MAX_AGE_SECONDS` before the rest of the sample."""
    sampled_at: float | None = None
    """Wall-clock time (``time.time()``) of the sample. The monitor repeats an
    idle backend's last sample for up to ``IDLE_BACKEND_MAX_AGE_SECONDS``."""


PROC_FILES = sys.platform.startswith("linux")
"""Whether :class:`ProcFiles` can read processes here."""
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if PROC_FILES else 100
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if PROC_FILES else 4096


class ProcFiles:
    """A Linux process's RSS and CPU time, read from ``/proc`` files kept open.

    psutil opens, reads and closes the file through several layers on every
    call, and the monitor reads its own RSS and its backend's CPU time on
    every poll. Measured in a loop, ``os.pread`` on a file kept open took
    2.4 µs instead of psutil's 11.6 µs for the RSS, and 5 µs instead of 17 µs
    for the CPU time. The values equal psutil's ``memory_info().rss`` and
    ``cpu_times()`` user plus system, and so do the errors: a process that
    exited gives :class:`psutil.NoSuchProcess`, an unreadable one
    :class:`psutil.AccessDenied`.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fds: dict[str, int] = {}
        """Open descriptors by file name, each opened on first use."""

    def _read(self, name: str) -> bytes:
        try:
            fd = self._fds.get(name)
            if fd is None:
                path = f"/proc/{self.pid}/{name}"
                fd = self._fds[name] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            return os.pread(fd, 4096, 0)
        except OSError as exc:
            # psutil translates these two kinds and re-raises any other error.
            if exc.errno in (errno.ENOENT, errno.ESRCH):
                raise psutil.NoSuchProcess(self.pid) from exc
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise psutil.AccessDenied(self.pid) from exc
            raise

    def rss(self) -> int:
        """Return the resident set size in bytes, as psutil does."""
        return int(self._read("statm").split()[1]) * _PAGE_SIZE

    def cpu_seconds(self) -> float:
        """Return user plus system CPU seconds, as psutil's ``cpu_times()`` does."""
        data = self._read("stat")
        # The process name, in parentheses, may contain spaces and ")".
        fields = data[data.rfind(b")") + 2 :].split()
        return float(fields[11]) / _CLOCK_TICKS + float(fields[12]) / _CLOCK_TICKS

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


class ProcessSampler:
    """Samples processes by pid and keeps each one's previous CPU time."""

    def __init__(
        self,
        factory: ProcessFactory = psutil.Process,
        *,
        uss_max_age: float = USS_MAX_AGE_SECONDS,
    ) -> None:
        self._factory = factory
        self.uss_max_age = uss_max_age
        self._processes: dict[int, ProcessLike] = {}
        self._names: dict[int, str] = {}
        """Each pid's process name, read once because it changes only on exec."""
        self._title_types: dict[int, str | None] = {}
        """Each pid's backend type as its process title shows it, read once."""
        self._previous_cpu: dict[int, tuple[float, float]] = {}
        self._uss: dict[int, tuple[float, int | None, float | None]] = {}
        """The last unique set size of each pid: (monotonic, USS, wall clock)."""
        self._proc_files = PROC_FILES and factory is psutil.Process
        """Whether this process's RSS and :meth:`cpu_time` are read through
        :class:`ProcFiles`: psutil's own processes only, not a test's fakes."""
        self._files: dict[int, ProcFiles] = {}

    def _process(self, pid: int) -> ProcessLike:
        process = self._processes.get(pid)
        if process is None:
            process = self._processes[pid] = self._factory(pid)
        return process

    def sample(
        self,
        pid: int,
        role: str,
        *,
        with_uss: bool = False,
        now: float | None = None,
        cpu_seconds: float | None = None,
    ) -> ProcessMemory:
        """Sample one process; psutil errors become an n/a row for it alone.

        With ``with_uss``, the unique set size is read again only when the
        last reading is ``uss_max_age`` seconds old. Until then the sample
        carries the last reading, and ``uss_at`` gives its time.
        ``cpu_seconds``, when given, is the process's user plus system CPU
        time as the caller read it (``time.process_time()`` for this
        process), and psutil does not read it again. This process's RSS is
        read through :class:`ProcFiles` where that works, because the monitor
        samples it on every poll.
        """
        now = time.monotonic() if now is None else now
        uss: int | None = None
        uss_at: float | None = None
        try:
            process = self._process(pid)
            name = self._names.get(pid)
            if name is None:
                name = self._names[pid] = process.name()
            last_uss = self._uss.get(pid) if with_uss else None
            if last_uss is not None and now - last_uss[0] < self.uss_max_age:
                _, uss, uss_at = last_uss
                rss = self._rss(pid, process)
            elif with_uss:
                try:
                    full = process.memory_full_info()
                    rss = int(full.rss)
                    uss = int(getattr(full, "uss", 0)) or None
                    uss_at = time.time()
                except psutil.AccessDenied:
                    rss = int(process.memory_info().rss)
                self._uss[pid] = (now, uss, uss_at)
            else:
                rss = self._rss(pid, process)
            if cpu_seconds is None:
                times = process.cpu_times()
                cpu = float(times.user + times.system)
            else:
                cpu = cpu_seconds
        except psutil.NoSuchProcess:
            self.forget(pid)
            return ProcessMemory(pid, role, None, None, None, None, None, "exited")
        except psutil.AccessDenied:
            self.forget(pid)
            return ProcessMemory(
                pid, role, None, None, None, None, None, "access denied"
            )
        percent = None
        before = self._previous_cpu.get(pid)
        if before is not None and now > before[0]:
            percent = max(cpu - before[1], 0.0) / (now - before[0]) * 100.0
        self._previous_cpu[pid] = (now, cpu)
        return ProcessMemory(
            pid,
            role,
            name,
            rss,
            uss,
            cpu,
            percent,
            uss_at=uss_at,
            sampled_at=time.time(),
        )

    def _rss(self, pid: int, process: ProcessLike) -> int:
        if self._proc_files and pid == os.getpid():
            return self._files_of(pid).rss()
        return int(process.memory_info().rss)

    def _files_of(self, pid: int) -> ProcFiles:
        files = self._files.get(pid)
        if files is None:
            files = self._files[pid] = ProcFiles(pid)
        return files

    def title_backend_type(self, pid: int) -> str | None:
        """Return the backend type that the process title of ``pid`` shows.

        Returns None when the title is unreadable or shows no known type.
        The title is read on the first call for a pid only, because a server
        process keeps its type for life and reading ``/proc/<pid>/cmdline``
        on every poll would add to the monitor's CPU cost.
        """
        if pid in self._title_types:
            return self._title_types[pid]
        try:
            parts = self._process(pid).cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        title = " ".join(part for part in parts if part)
        kind = self._title_types[pid] = backend_type_from_title(title)
        return kind

    def cpu_time(self, pid: int) -> float | None:
        """Return the process's user plus system CPU seconds, or None if unreadable.

        Reads only the CPU times, for a caller that needs no memory figures
        and reads them every poll (through :class:`ProcFiles` where that works).
        """
        try:
            if self._proc_files:
                return self._files_of(pid).cpu_seconds()
            times = self._process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            self.forget(pid)
            return None
        return float(times.user + times.system)

    def forget(self, pid: int) -> None:
        files = self._files.pop(pid, None)
        if files is not None:
            files.close()
        self._processes.pop(pid, None)
        self._names.pop(pid, None)
        self._title_types.pop(pid, None)
        self._previous_cpu.pop(pid, None)
        self._uss.pop(pid, None)

    def prune(self, alive: set[int]) -> None:
        """Drop the state of pids no longer listed."""
        for pid in (set(self._processes) | set(self._files)) - alive:
            self.forget(pid)

    def close(self) -> None:
        """Close the files kept open; later samples open them again.

        The monitor closes its sampler from the UI thread while a poll may
        still sample in its own thread and open files for a new pid. So the
        files are taken out one at a time (``popitem`` is atomic) instead of
        iterating over the dict.
        """
        while self._files:
            try:
                _, files = self._files.popitem()
            except KeyError:
                break
            files.close()


def backend_type_from_title(title: str) -> str | None:
    """Return the backend type that a PostgreSQL process title shows, or None.

    A server process's title is ``postgres: ``, then ``cluster_name: `` when
    that is set, then the process's type (``postgres: 15/main:
    checkpointer``). A client backend's title has its user, database, client
    address and activity in place of the type. Background workers of
    extensions carry names of their own and give None.
    """
    title = " ".join(title.split())
    if not title.startswith(TITLE_PREFIX):
        return None
    rest = title[len(TITLE_PREFIX) :]
    # The cluster name is unknown here and may contain ": " itself, so each
    # place after a ": " is tried as the start of the type.
    while True:
        kind = _title_type(rest)
        if kind is not None:
            return kind
        _, colon, rest = rest.partition(": ")
        if not colon:
            return None


def _title_type(rest: str) -> str | None:
    if _starts_with_words(rest, "walsender"):
        return "walsender"
    # Before the auxiliary types, so that a client whose user is called
    # "startup" or "archiver" is read as a client.
    if CLIENT_TITLE.match(rest):
        return "client backend"
    for words, kind in TITLE_TYPES:
        if _starts_with_words(rest, words):
            return kind
    return None


def _starts_with_words(text: str, words: str) -> bool:
    return text == words or text.startswith(words + " ")


@dataclasses.dataclass(frozen=True, slots=True)
class Trend:
    """Least-squares fit of RSS over time."""

    slope_bytes_per_min: float
    r_squared: float | None
    """Share of the RSS variance the line explains; None when RSS did not
    change, because R² is undefined without variance."""
    span_seconds: float
    samples: int
    leak_suspected: bool
    window_seconds: float
    """The history the leak rule needs before it judges."""
    starting_up: bool = False
    """The window begins within the warm-up that the leak rule skips."""

    @property
    def judged(self) -> bool:
        """Whether the samples span enough of the window to judge a leak."""
        return (
            self.span_seconds >= self.window_seconds * JUDGED_SHARE
            and not self.starting_up
        )

    @property
    def verdict(self) -> str:
        """Return the leak rule's judgement in a few words, for reports."""
        if self.leak_suspected:
            return "leak suspected"
        if self.starting_up:
            return "not judged while the app starts up"
        if not self.judged:
            return f"not judged before {self.window_seconds:.0f} s"
        return "no leak"

    def describe(self) -> str:
        """Describe the fit and the verdict in one line, for reports.

        ``trend +1.40 MiB/min over 298 s (R² 0.97): leak suspected``, or
        ``trend flat over 298 s: no leak`` when RSS did not change. Samples
        spanning less of the window than the leak rule needs give only
        ``trend: not judged before 300 s``, because a line through a few
        seconds of samples cannot show a leak.
        """
        if self.span_seconds < self.window_seconds * JUDGED_SHARE:
            return f"trend: {self.verdict}"
        if self.r_squared is None:
            fit = "flat"
        else:
            fit = (
                f"{self.slope_bytes_per_min / MIB:+.2f} MiB/min"
                f" (R² {self.r_squared:.2f})"
            )
        return f"trend {fit} over {self.span_seconds:.0f} s: {self.verdict}"


class MemoryTrend:
    """A bounded history of RSS samples and the leak judgement over it."""

    def __init__(
        self,
        *,
        window_seconds: float = LEAK_WINDOW_SECONDS,
        slope_bytes_per_min: float = LEAK_SLOPE_BYTES_PER_MIN,
        min_r_squared: float = LEAK_MIN_R_SQUARED,
        max_samples: int = 1800,
        step_seconds: float = 0.0,
        judge_after: float = -math.inf,
    ) -> None:
        self.window_seconds = window_seconds
        self.judge_after = judge_after
        """The monotonic time of the first sample a leak may be judged on."""
        self.slope_bytes_per_min = slope_bytes_per_min
        self.min_r_squared = min_r_squared
        self.step_seconds = step_seconds
        """A sample less than this many seconds after the last kept one is
        not added."""
        self.history: collections.deque[tuple[float, int]] = collections.deque(
            maxlen=max_samples
        )
        self._fit: Trend | None = None
        self._fitted = False
        """Whether ``_fit`` is the fit of the current history."""

    def add(self, monotonic: float, rss: int) -> None:
        """Add a sample, and drop those that no later fit can use.

        A sample within ``step_seconds`` of the last one is skipped. A fit
        starts at the newest sample at or before the window's start, so every
        older one is dropped. :meth:`trend` then reads only the window,
        however long the monitor has run.
        """
        history = self.history
        if history and monotonic - history[-1][0] < self.step_seconds:
            return
        history.append((monotonic, rss))
        self._fitted = False
        start = monotonic - self.window_seconds
        while len(history) > 1 and history[1][0] <= start:
            history.popleft()

    def trend(self) -> Trend | None:
        """Fit the samples of the last window; None with fewer than 3 samples.

        The fit is kept until the next sample is added.
        """
        if not self._fitted:
            self._fit = self._compute_trend()
            self._fitted = True
        return self._fit

    def _compute_trend(self) -> Trend | None:
        if len(self.history) < 3:
            return None
        end = self.history[-1][0]
        # Start at the newest sample at or before the window's start, so the
        # points can span the whole window whatever the sampling step.
        start = end - self.window_seconds
        first = 0
        for index, (t, _) in enumerate(self.history):
            if t > start:
                break
            first = index
        points = list(self.history)[first:]
        if len(points) < 3:
            return None
        fit = least_squares(points)
        if fit is None:
            return None
        slope_per_s, r_squared = fit
        span = points[-1][0] - points[0][0]
        slope = slope_per_s * 60.0
        trend = Trend(
            slope,
            r_squared,
            span,
            len(points),
            False,
            self.window_seconds,
            starting_up=points[0][0] < self.judge_after,
        )
        suspected = (
            trend.judged
            and slope > self.slope_bytes_per_min
            and r_squared is not None
            and r_squared >= self.min_r_squared
        )
        return dataclasses.replace(trend, leak_suspected=suspected)


def warmup_end(warmup_seconds: float = LEAK_WARMUP_SECONDS) -> float:
    """Return the monotonic time at which this process is ``warmup_seconds`` old."""
    try:
        age = time.time() - psutil.Process().create_time()
    except psutil.Error:
        age = 0.0
    return time.monotonic() + max(0.0, warmup_seconds - age)


def least_squares(
    points: list[tuple[float, int]],
) -> tuple[float, float | None] | None:
    """Return (slope per second, R²) of a straight-line fit, or None if flat in time.

    R² is None when every value is equal: a flat series has no variance for
    the line to explain.
    """
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    if var_t <= 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    slope = cov / var_t
    var_v = sum((v - mean_v) ** 2 for _, v in points)
    r_squared = None if var_v == 0 else (cov * cov) / (var_t * var_v)
    return slope, r_squared


@dataclasses.dataclass(frozen=True, slots=True)
class GcGeneration:
    generation: int
    count: int
    """Allocations (generation 0) or collections of the younger generation."""
    threshold: int
    collections: int
    collected: int
    uncollectable: int


def gc_stats() -> list[GcGeneration]:
    """Return the garbage collector's per-generation statistics."""
    counts = gc.get_count()
    thresholds = gc.get_threshold()
    stats = gc.get_stats()
    return [
        GcGeneration(
            index,
            counts[index] if index < len(counts) else 0,
            thresholds[index] if index < len(thresholds) else 0,
            int(stat.get("collections", 0)),
            int(stat.get("collected", 0)),
            int(stat.get("uncollectable", 0)),
        )
        for index, stat in enumerate(stats)
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class AllocationSite:
    file: str
    line: int
    size_bytes: int
    count: int


TRACE_FRAMES = 1
"""Frames that tracemalloc stores per allocation.

Each traced allocation copies this many frames, and each snapshot copies
every trace, so the cost of both grows with it. The top sites are grouped
by line, which needs only the innermost frame.
"""

ALLOCATION_SITES_INTERVAL_SECONDS = 30.0
"""Minimum time between two tracemalloc snapshots on the dashboard.

A snapshot copies every live trace while it holds the GIL, so it stalls
the UI thread for as long as the copy takes, which grows with the number
of live traces.
"""


def start_tracing(frames: int = TRACE_FRAMES) -> bool:
    """Start tracemalloc; return False when it was already tracing."""
    if tracemalloc.is_tracing():
        return False
    tracemalloc.start(frames)
    return True


def is_tracing() -> bool:
    return tracemalloc.is_tracing()


def stop_tracing() -> None:
    tracemalloc.stop()


def top_allocations(limit: int = 10) -> list[AllocationSite] | None:
    """Return the largest allocation sites by line, or None when not tracing."""
    if not tracemalloc.is_tracing():
        return None
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        )
    )
    sites = []
    for stat in snapshot.statistics("lineno")[:limit]:
        frame = stat.traceback[0]
        sites.append(
            AllocationSite(frame.filename, frame.lineno, stat.size, stat.count)
        )
    return sites


class AllocationSites:
    """Top allocation sites, read from tracemalloc at most once per interval.

    ``interval_seconds`` 0 reads on every call. While ``enabled`` is False,
    :meth:`read` takes no snapshot and returns the last sites read.
    """

    def __init__(self, interval_seconds: float = 0.0) -> None:
        self.interval_seconds = interval_seconds
        self.enabled = True
        self._sites: list[AllocationSite] | None = None
        self._read_at: float | None = None

    def read(self, now: float) -> list[AllocationSite] | None:
        """Return the top sites, taking a snapshot when enabled and due.

        ``now`` is a ``time.monotonic()`` reading. Returns None while
        tracemalloc is off, or before the first snapshot of this tracing.
        """
        if not tracemalloc.is_tracing():
            self._sites = None
            self._read_at = None
            return None
        due = self._read_at is None or now - self._read_at >= self.interval_seconds
        if self.enabled and due:
            self._sites = top_allocations()
            self._read_at = now
        return self._sites


@dataclasses.dataclass(frozen=True, slots=True)
class ServerLocality:
    """Whether the server's processes can be read on this machine, and why not."""

    local: bool
    reason: str | None = None


def judge_locality(
    server_address: str | None,
    backend_pid: int | None,
    *,
    factory: ProcessFactory = psutil.Process,
) -> ServerLocality:
    """Decide whether per-backend OS figures can be shown.

    The server is local when the connection uses a unix socket or a loopback
    address and the poll's own backend pid is a visible ``postgres`` process.
    """
    if server_address is not None:
        try:
            loopback = ipaddress.ip_address(server_address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return ServerLocality(
                False,
                f"the server at {server_address} runs on another host;"
                " per-backend memory and CPU are hidden",
            )
    if backend_pid is None:
        return ServerLocality(False, "the server's backend pid is unknown")
    try:
        name = factory(backend_pid).name()
    except psutil.NoSuchProcess:
        return ServerLocality(
            False,
            f"backend pid {backend_pid} is not a process on this machine"
            " (a container or another host); per-backend figures are hidden",
        )
    except psutil.AccessDenied:
        return ServerLocality(
            False,
            f"no permission to read backend pid {backend_pid};"
            " run as the server's user or root to see per-backend figures",
        )
    if "postgres" not in name and "postmaster" not in name:
        return ServerLocality(
            False,
            f"pid {backend_pid} here is {name!r}, not a PostgreSQL backend"
            " (another pid namespace); per-backend figures are hidden",
        )
    return ServerLocality(True)


def own_pid() -> int:
    return os.getpid()

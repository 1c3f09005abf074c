"""Regression baselines, the alert log and alert evidence in one SQLite file.

Each monitored database has its own file
(:func:`evedmv_tui.store.target.baseline_file`), which may be shared by
several dashboards and commands on one machine. It runs in WAL mode,
so readers never block the writer. Each store has one writer task that opens
every write transaction with ``BEGIN IMMEDIATE``: the write lock is taken at
the start, so a transaction never fails half-way on a lock upgrade, and a busy
file is retried after the busy timeout instead of raising ``database is
locked``.

Rows from several writers are merged, never clobbered. A baseline row carries
an ``epoch`` that ``evedmv baseline reset`` and ``accept`` raise, and a writer
holding an older epoch cannot overwrite it. An open alert is one row per key,
whichever process opened it. Each write transaction compares the stored row
with the write, and logs an opening, escalation or clearing only when the
row changes state, so two dashboards that see the same change log it once.
Openings and clearings raise the revision counter, so the other processes
read the open rows again and adopt them. Events are only ever appended.

:func:`open_store` never raises. A missing directory is created, a damaged
file is moved aside and replaced, and a read-only file is copied into memory.
A file from a newer version, or one that cannot be opened at all, is left
alone and the store runs in memory. :attr:`BaselineStore.status` says which
case applied.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = 4
"""The ``PRAGMA user_version`` that :data:`MIGRATIONS` brings a file to."""

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE meta (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) STRICT;
        INSERT INTO meta (name, value) VALUES ('revision', 0);

        CREATE TABLE baseline (
            key TEXT PRIMARY KEY,
            label TEXT NOT NULL DEFAULT '',
            count INTEGER NOT NULL,
            mean REAL NOT NULL,
            variance REAL NOT NULL,
            warmup TEXT NOT NULL DEFAULT '[]',
            last_value REAL,
            updated_at REAL NOT NULL,
            regressed INTEGER NOT NULL DEFAULT 0,
            epoch INTEGER NOT NULL DEFAULT 0
        ) STRICT;

        CREATE TABLE alert (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL,
            severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
            opened_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            cleared_at REAL,
            baseline REAL NOT NULL,
            value REAL NOT NULL,
            peak REAL NOT NULL,
            size REAL NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            acknowledged_at REAL,
            acknowledged_severity INTEGER,
            acknowledged_size REAL,
            suppressed TEXT NOT NULL DEFAULT ''
        ) STRICT;
        CREATE UNIQUE INDEX alert_open_key ON alert (key) WHERE cleared_at IS NULL;
        CREATE INDEX alert_key ON alert (key, id);
        CREATE INDEX alert_updated ON alert (updated_at);

        CREATE TABLE alert_event (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER REFERENCES alert (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            at REAL NOT NULL,
            event TEXT NOT NULL,
            severity INTEGER,
            value REAL,
            note TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX alert_event_alert ON alert_event (alert_id, at);

        CREATE TABLE sample (
            key TEXT NOT NULL,
            at REAL NOT NULL,
            value REAL NOT NULL,
            interval REAL NOT NULL,
            trusted INTEGER NOT NULL,
            pid INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX sample_key_at ON sample (key, at);
        CREATE INDEX sample_at ON sample (at);
        """,
    ),
    (
        2,
        """
        ALTER TABLE alert ADD COLUMN opened_value REAL;
        """,
    ),
    (
        3,
        """
        ALTER TABLE baseline ADD COLUMN rows_per_call REAL;
        """,
    ),
    (
        4,
        """
        ALTER TABLE baseline ADD COLUMN accepted REAL;
        """,
    ),
)
"""Ordered ``(version, script)`` pairs; append new versions, never edit old ones."""

_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


@dataclasses.dataclass(frozen=True, slots=True)
class StoreStatus:
    """Whether baselines and alerts reach the file, and why not if they do not."""

    persistent: bool
    """True while writes reach the file."""
    path: Path | None
    message: str
    """One sentence for the status bar; empty when all is well."""
    level: Literal["ok", "warning", "error"] = "ok"
    moved_to: Path | None = None
    """The new path of a damaged file that a new, empty file replaced."""
    read_file: bool = True
    """False when the store started empty because the file could not be read
    (locked, unreadable, newer schema); True for a read-only file, whose
    baselines are used without saving."""
    hint: str = ""
    """The user's fix for :attr:`message`; empty when nothing is wrong or
    nothing needs doing."""

    @property
    def text(self) -> str:
        """The message, followed by its hint when there is one."""
        if not self.hint:
            return self.message
        return f"{self.message}. Hint: {self.hint}"


@dataclasses.dataclass(frozen=True, slots=True)
class Baseline:
    """The learned normal of one sample key."""

    key: str
    label: str = ""
    count: int = 0
    """Samples learned since the baseline was created, reset or accepted."""
    mean: float = 0.0
    variance: float = 0.0
    warmup: tuple[float, ...] = ()
    """Values kept until ``count`` reaches the detector's minimum sample count."""
    last_value: float | None = None
    """Most recent trusted value, learned or not; ``baseline accept`` adopts it."""
    updated_at: float = 0.0
    regressed: bool = False
    """True while the key is in regression; the detector then learns nothing."""
    epoch: int = 0
    """Raised by reset and accept; a writer with an older epoch is ignored."""
    rows_per_call: float | None = None
    """Typical rows per call of a statement's ``mean_ms`` baseline, at least 1.
    None for other keys, before the first learned sample, and in rows from
    schema version 2 until a sample is learned."""
    accepted: float | None = None
    """Level that ``baseline accept`` last made normal, or None. The detector
    judges values against the worse of it and the mean (the higher for a
    time), so values up to an accepted level do not alert again after the
    mean has fallen back."""


@dataclasses.dataclass(frozen=True, slots=True)
class StoredAlert:
    """One alert row: a regression of one key from its opening to its clearing."""

    key: str
    label: str
    kind: str
    """``level`` for a shift of the value, ``trend`` for steady growth."""
    severity: int
    """1 low, 2 medium, 3 high, 4 critical."""
    opened_at: float
    updated_at: float
    baseline: float
    value: float
    """Latest value of the key, or the value that cleared it once the alert cleared."""
    peak: float
    size: float
    """Deviation in the key's rule measure: a ratio, a difference or a growth rate."""
    detail: str = ""
    cleared_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_severity: int | None = None
    acknowledged_size: float | None = None
    suppressed: str = ""
    """Why no notification was sent (``flapping``, ``rate limit``) or empty."""
    opened_value: float | None = None
    """Value of the key when the alert opened, or None in rows from schema version 1."""
    id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AlertEvent:
    """One line of the alert log."""

    key: str
    at: float
    event: str
    """opened, reopened, escalated, cleared, acknowledged, unacknowledged,
    suppressed, rate limited, accepted or reset."""
    severity: int | None = None
    value: float | None = None
    note: str = ""
    pid: int = dataclasses.field(default_factory=os.getpid)
    alert_id: int | None = None
    id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RecordedSample:
    """A sample kept as evidence for an alert."""

    key: str
    at: float
    value: float
    interval: float
    trusted: bool = True
    pid: int = dataclasses.field(default_factory=os.getpid)


@dataclasses.dataclass(frozen=True, slots=True)
class AlertWrite:
    """The state of one alert as its writer last computed it.

    ``reopen`` lets the latest cleared row of the key become open again instead
    of inserting a new row. Acknowledgement columns are written only when
    ``write_acknowledgement`` is true, so a writer never erases an
    acknowledgement that another process stored. An open row keeps the
    baseline of a level alert that it opened with, whichever process writes.
    """

    alert: StoredAlert
    reopen: bool = False
    write_acknowledgement: bool = False
    lower_is_worse: bool = False
    """Whether lower values of the key are worse (a hit ratio), so the stored
    peak keeps the lowest value instead of the highest."""
    update_only: bool = False
    """The write updates an alert that its writer has open. When another
    process cleared that alert, nothing is written."""


@dataclasses.dataclass(frozen=True, slots=True)
class SaveBatch:
    """Everything one poll changes, written in one transaction."""

    baselines: Sequence[Baseline] = ()
    alerts: Sequence[AlertWrite] = ()
    events: Sequence[AlertEvent] = ()
    samples: Sequence[RecordedSample] = ()
    prune_samples_before: float | None = None

    def __bool__(self) -> bool:
        return bool(self.baselines or self.alerts or self.events or self.samples)


class StoreUnavailable(Exception):
    """A write to the baseline file failed; the caller keeps its state in memory."""


def is_busy(exc: BaseException) -> bool:
    """Tell whether ``exc`` is SQLite's ``database is locked`` or ``busy``."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text


@dataclasses.dataclass(slots=True)
class _Job:
    run: Callable[[aiosqlite.Connection], Awaitable[Any]]
    future: asyncio.Future[Any]


_BASELINE_COLUMNS = (
    "key, label, count, mean, variance, warmup, last_value, updated_at,"
    " regressed, epoch, rows_per_call, accepted"
)
_ALERT_COLUMNS = (
    "id, key, label, kind, severity, opened_at, updated_at, cleared_at, baseline,"
    " value, peak, size, detail, acknowledged_at, acknowledged_severity,"
    " acknowledged_size, suppressed, opened_value"
)
_EVENT_COLUMNS = "id, alert_id, key, at, event, severity, value, note, pid"


def _baseline_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Baseline:
    (
        key,
        label,
        count,
        mean,
        variance,
        warmup,
        last,
        updated,
        regressed,
        epoch,
        rows_per_call,
        accepted,
    ) = row
    return Baseline(
        key,
        label,
        count,
        mean,
        variance,
        tuple(float(v) for v in json.loads(warmup)),
        last,
        updated,
        bool(regressed),
        epoch,
        rows_per_call,
        accepted,
    )


def _alert_from_row(row: sqlite3.Row | tuple[Any, ...]) -> StoredAlert:
    (
        alert_id,
        key,
        label,
        kind,
        severity,
        opened_at,
        updated_at,
        cleared_at,
        baseline,
        value,
        peak,
        size,
        detail,
        ack_at,
        ack_severity,
        ack_size,
        suppressed,
        opened_value,
    ) = row
    return StoredAlert(
        key,
        label,
        kind,
        severity,
        opened_at,
        updated_at,
        baseline,
        value,
        peak,
        size,
        detail,
        cleared_at,
        ack_at,
        ack_severity,
        ack_size,
        suppressed,
        opened_value,
        id=alert_id,
    )


def _event_from_row(row: sqlite3.Row | tuple[Any, ...]) -> AlertEvent:
    event_id, alert_id, key, at, event, severity, value, note, pid = row
    return AlertEvent(key, at, event, severity, value, note, pid, alert_id, event_id)


class BaselineStore:
    """Asynchronous access to one baseline file, or to an in-memory stand-in.

    Reads use their own connection, so they see committed rows only. Writes
    are queued to the single writer task, batched, and each batch runs in one
    ``BEGIN IMMEDIATE`` transaction with a savepoint per job, so one failing
    job does not lose the others.
    """

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        status: StoreStatus,
        *,
        max_busy_wait: float = 30.0,
    ) -> None:
        self._writer_conn = writer
        self._reader = reader
        self.status = status
        self._opened_status = status
        self.max_busy_wait = max_busy_wait
        """Seconds a batch keeps retrying a busy file before it fails."""
        self.busy_retries = 0
        """Transactions retried because another process held the write lock."""
        self.failed_writes = 0
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._write_loop(), name="baseline-writer"
        )
        self._closed = False
        self._failure_status: StoreStatus | None = None
        self._identity = (
            _file_identity(status.path)
            if status.persistent and status.path is not None
            else None
        )
        """Device and inode of the file when it was opened."""

    @property
    def persistent(self) -> bool:
        return self.status.persistent

    def replaced(self) -> bool:
        """Return True when the store's path now leads to another file.

        ``evedmv regressions`` moves a damaged file aside and creates a new
        one, while this store's connections still write to the old file.
        """
        path = self.status.path
        if self._identity is None or path is None or self._closed:
            return False
        current = _file_identity(path)
        return current is not None and current != self._identity

    def note(self, message: str) -> None:
        """Show ``message`` as a warning while the file is written normally."""
        self.status = self._opened_status = dataclasses.replace(
            self.status, message=message, level="warning"
        )

    def check_file(self) -> None:
        """Note in :attr:`status` when the file was removed while in use.

        SQLite keeps writing to the open, unlinked file, so nothing written
        after the removal survives a restart.
        """
        path = self.status.path
        if self.status.persistent and path is not None and not path.exists():
            log.warning("baseline file %s was removed while in use", path)
            self.status = StoreStatus(
                False,
                path,
                f"{path} was removed while in use; baselines are kept in memory"
                " until restart",
                "warning",
            )

    # Writing -----------------------------------------------------------------

    def submit(
        self, run: Callable[[aiosqlite.Connection], Awaitable[T]]
    ) -> asyncio.Future[T]:
        """Queue ``run`` for the writer; return a future of its result.

        ``run`` gets the writer connection inside an open transaction and must
        not commit or roll back itself.
        """
        if self._closed:
            raise StoreUnavailable("the baseline store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(run, future))
        return future

    async def write(self, run: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``run`` in a write transaction and wait for its commit."""
        result: T = await self.submit(run)
        return result

    async def flush(self) -> None:
        """Wait until every queued write has committed or failed.

        Returns at once when the writer task has ended, as it does when the
        event loop cancels its tasks at shutdown: nothing would ever take the
        queued jobs, so waiting for them would never end.
        """
        task = self._task
        if task is None or task.done():
            return
        joined = asyncio.ensure_future(self._queue.join())
        try:
            await asyncio.wait({joined, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            joined.cancel()

    async def _write_loop(self) -> None:
        while True:
            job = await self._queue.get()
            if job is None:
                self._queue.task_done()
                return
            jobs = [job]
            stop = False
            while len(jobs) < 64 and not self._queue.empty():
                extra = self._queue.get_nowait()
                if extra is None:
                    stop = True
                    break
                jobs.append(extra)
            try:
                await self._run_batch(jobs)
            finally:
                for _ in jobs:
                    self._queue.task_done()
                if stop:
                    self._queue.task_done()
            if stop:
                return

    async def _run_batch(self, jobs: list[_Job]) -> None:
        conn = self._writer_conn
        deadline = time.monotonic() + self.max_busy_wait
        delay = 0.01
        while True:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                results = [await self._run_job(conn, job) for job in jobs]
                await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback(conn)
                if is_busy(exc) and time.monotonic() < deadline:
                    self.busy_retries += 1
                    log.debug("baseline file busy, retrying in %.2f s", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.5)
                    continue
                self._fail(jobs, exc)
                return
            if self.status is self._failure_status:
                log.info("baseline file %s written again", self.status.path)
                self.status = self._opened_status
            for job, result in zip(jobs, results, strict=True):
                if job.future.done():
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)
            return

    async def _run_job(self, conn: aiosqlite.Connection, job: _Job) -> Any:
        await conn.execute("SAVEPOINT job")
        try:
            result = await job.run(conn)
        except sqlite3.Error as exc:
            if is_busy(exc):
                raise
            await conn.execute("ROLLBACK TO job")
            await conn.execute("RELEASE job")
            log.warning("baseline write failed: %s", exc)
            return StoreUnavailable(str(exc))
        await conn.execute("RELEASE job")
        return result

    @staticmethod
    async def _rollback(conn: aiosqlite.Connection) -> None:
        if conn.in_transaction:
            try:
                await conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.debug("rollback failed: %s", exc)

    def _fail(self, jobs: list[_Job], exc: sqlite3.Error) -> None:
        self.failed_writes += 1
        if self.status.persistent:
            log.warning("cannot write the baseline file %s: %s", self.status.path, exc)
        self.status = self._failure_status = StoreStatus(
            self.status.persistent,
            self.status.path,
            f"baseline file not written ({exc}); baselines kept in memory",
            "warning",
        )
        error = StoreUnavailable(str(exc))
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(error)

    # Reading -----------------------------------------------------------------

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        deadline = time.monotonic() + self.max_busy_wait
        while True:
            try:
                async with self._reader.execute(sql, params) as cursor:
                    return list(await cursor.fetchall())
            except sqlite3.OperationalError as exc:
                if is_busy(exc) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    continue
                raise

    async def revision(self) -> int:
        """Return the counter that resets, accepts, acknowledgements and the
        opening or clearing of an alert raise."""
        rows = await self._read("SELECT value FROM meta WHERE name = 'revision'")
        return int(rows[0][0]) if rows else 0

    async def load_baselines(self, keys: Iterable[str] | None = None) -> list[Baseline]:
        """Return all baselines, or those of ``keys``, ordered by key."""
        sql = f"SELECT {_BASELINE_COLUMNS} FROM baseline"
        if keys is None:
            rows = await self._read(sql + " ORDER BY key")
        else:
            requested = json.dumps(list(keys))
            rows = await self._read(
                sql + " WHERE key IN (SELECT value FROM json_each(?)) ORDER BY key",
                (requested,),
            )
        return [_baseline_from_row(row) for row in rows]

    async def get_baseline(self, key: str) -> Baseline | None:
        found = await self.load_baselines([key])
        return found[0] if found else None

    async def open_alerts(self) -> list[StoredAlert]:
        """Return the alerts not yet cleared, most severe first."""
        rows = await self._read(
            f"SELECT {_ALERT_COLUMNS} FROM alert WHERE cleared_at IS NULL"
            " ORDER BY severity DESC, opened_at"
        )
        return [_alert_from_row(row) for row in rows]

    async def alerts(self, limit: int = 200) -> list[StoredAlert]:
        """Return open and cleared alerts, open first, then most recent first."""
        rows = await self._read(
            f"SELECT {_ALERT_COLUMNS} FROM alert"
            " ORDER BY cleared_at IS NOT NULL, updated_at DESC LIMIT ?",
            (limit,),
        )
        return [_alert_from_row(row) for row in rows]

    async def events(
        self, key: str | None = None, limit: int = 200
    ) -> list[AlertEvent]:
        """Return the alert log, newest first, for one alert key or all."""
        sql = f"SELECT {_EVENT_COLUMNS} FROM alert_event"
        if key is None:
            rows = await self._read(sql + " ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._read(
                sql + " WHERE key = ? ORDER BY id DESC LIMIT ?", (key, limit)
            )
        return [_event_from_row(row) for row in rows]

    async def alert_events(
        self, key: str, opened_at: float, limit: int = 200
    ) -> list[AlertEvent]:
        """Return the log of the alert of ``key`` opened at ``opened_at``,
        newest first.

        Each event stores the id of its alert row, so the log of an older
        alert of a key leaves out the events of the key's later alerts.
        """
        rows = await self._read(
            f"SELECT {_EVENT_COLUMNS} FROM alert_event WHERE alert_id IN"
            " (SELECT id FROM alert WHERE key = ? AND opened_at = ?)"
            " ORDER BY id DESC LIMIT ?",
            (key, opened_at, limit),
        )
        return [_event_from_row(row) for row in rows]

    async def recent_samples(
        self,
        key: str,
        limit: int = 60,
        *,
        since: float | None = None,
        until: float | None = None,
    ) -> list[RecordedSample]:
        """Return the newest recorded samples of ``key``, oldest first.

        ``since`` and ``until`` limit the samples to those taken in that
        span, both ends included.
        """
        rows = await self._read(
            "SELECT key, at, value, interval, trusted, pid FROM sample"
            " WHERE key = ? AND at >= coalesce(?, at) AND at <= coalesce(?, at)"
            " ORDER BY at DESC LIMIT ?",
            (key, since, until, limit),
        )
        return [
            RecordedSample(k, at, value, interval, bool(trusted), pid)
            for k, at, value, interval, trusted, pid in reversed(rows)
        ]

    async def count_rows(self, table: str) -> int:
        """Return the row count of one of the store's tables."""
        if table not in {"baseline", "alert", "alert_event", "sample"}:
            raise ValueError(f"unknown baseline table {table!r}")
        rows = await self._read(f"SELECT count(*) FROM {table}")
        return int(rows[0][0])

    # Write operations --------------------------------------------------------

    async def save(self, batch: SaveBatch) -> None:
        """Write one poll's changes and wait for the commit."""
        await self.write(lambda conn: _save(conn, batch))

    def save_later(self, batch: SaveBatch) -> asyncio.Future[None] | None:
        """Queue one poll's changes without waiting; failures are logged.

        Return the future of the write, or None when the batch is empty.
        """
        if not batch and batch.prune_samples_before is None:
            return None
        future = self.submit(lambda conn: _save(conn, batch))
        future.add_done_callback(_log_failure)
        return future

    async def reset(self, key: str | None, at: float) -> int:
        """Forget the baseline of ``key``, or of every key; return how many.

        Open alerts of the keys are cleared with a ``reset`` event, because
        without a baseline nothing supports them.
        """
        return int(await self.write(lambda conn: _reset(conn, key, at)))

    async def accept(self, key: str, at: float, level: float | None = None) -> bool:
        """Adopt ``level``, or the latest value of ``key``, as its baseline and
        clear its alerts.

        Return False when neither a baseline nor an open alert has that key.
        """
        return bool(await self.write(lambda conn: _accept(conn, key, at, level)))

    async def acknowledge(self, key: str, at: float) -> StoredAlert | None:
        """Acknowledge the open alert of ``key``; return it, or None if none is open.

        An alert that is acknowledged already is returned as it is, with its
        earlier ``acknowledged_at``, and nothing is written or logged.
        """
        found: StoredAlert | None = await self.write(
            lambda conn: _acknowledge(conn, key, at)
        )
        return found

    async def close(self) -> None:
        """Finish queued writes and close both connections."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            self._queue.put_nowait(None)
            await asyncio.wait({task})
        self._abandon_queued()
        await self._writer_conn.close()
        if self._reader is not self._writer_conn:
            await self._reader.close()

    def _abandon_queued(self) -> None:
        """Fail the jobs a cancelled writer task left in the queue."""
        abandoned = 0
        while not self._queue.empty():
            job = self._queue.get_nowait()
            self._queue.task_done()
            if job is not None and not job.future.done():
                job.future.set_exception(
                    StoreUnavailable("the baseline store closed before this write")
                )
                abandoned += 1
        if abandoned:
            log.warning("baseline store closed with %d writes not done", abandoned)


def _file_identity(path: Path) -> tuple[int, int] | None:
    """Return the device and inode of ``path``, or None when it is missing."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _log_failure(future: asyncio.Future[Any]) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        log.debug("queued baseline write failed: %s", exc)


async def _bump_revision(conn: aiosqlite.Connection) -> None:
    await conn.execute("UPDATE meta SET value = value + 1 WHERE name = 'revision'")


async def _save(conn: aiosqlite.Connection, batch: SaveBatch) -> None:
    if batch.baselines:
        await conn.executemany(
            f"INSERT INTO baseline ({_BASELINE_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET label = excluded.label,"
            " count = excluded.count, mean = excluded.mean,"
            " variance = excluded.variance, warmup = excluded.warmup,"
            " last_value = excluded.last_value, updated_at = excluded.updated_at,"
            " regressed = excluded.regressed, epoch = excluded.epoch,"
            " rows_per_call = excluded.rows_per_call, accepted = excluded.accepted"
            " WHERE excluded.epoch > baseline.epoch"
            " OR (excluded.epoch = baseline.epoch"
            " AND excluded.updated_at >= baseline.updated_at)",
            [
                (
                    b.key,
                    b.label,
                    b.count,
                    b.mean,
                    b.variance,
                    json.dumps(list(b.warmup)),
                    b.last_value,
                    b.updated_at,
                    int(b.regressed),
                    b.epoch,
                    b.rows_per_call,
                    b.accepted,
                )
                for b in batch.baselines
            ],
        )
    before: dict[str, _RowState] = {}
    changed_state = False
    for write in batch.alerts:
        state = await _write_alert(conn, write)
        before.setdefault(write.alert.key, state)
        opened = write.alert.cleared_at is None and not state.open
        cleared = write.alert.cleared_at is not None and state.open
        if (opened and not _cleared_elsewhere(write, state)) or cleared:
            changed_state = True
    if changed_state:
        # Other dashboards read the open alerts again and adopt these rows.
        await _bump_revision(conn)
    events = [e for e in batch.events if _event_applies(e, before.get(e.key))]
    if events:
        await conn.executemany(
            "INSERT INTO alert_event"
            " (alert_id, key, at, event, severity, value, note, pid)"
            " VALUES ((SELECT max(id) FROM alert WHERE key = ?),"
            " ?, ?, ?, ?, ?, ?, ?)",
            [
                (e.key, e.key, e.at, e.event, e.severity, e.value, e.note, e.pid)
                for e in events
            ],
        )
    if batch.samples:
        await conn.executemany(
            "INSERT INTO sample (key, at, value, interval, trusted, pid)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (s.key, s.at, s.value, s.interval, int(s.trusted), s.pid)
                for s in batch.samples
            ],
        )
    if batch.prune_samples_before is not None:
        await conn.execute(
            "DELETE FROM sample WHERE at < ?", (batch.prune_samples_before,)
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _RowState:
    """The key's latest alert row before a write, as the write transaction saw it."""

    open: bool
    severity: int = 0
    acknowledged: bool = False
    cleared_at: float | None = None


def _cleared_elsewhere(write: AlertWrite, before: _RowState) -> bool:
    """Tell whether ``write`` updates an alert that another process cleared.

    A row cleared before the alert opened means that the alert's opening
    write was lost, so the update inserts it instead.
    """
    return (
        write.update_only
        and before.cleared_at is not None
        and before.cleared_at >= write.alert.opened_at
    )


_OPENING_EVENTS = frozenset({"opened", "reopened", "suppressed"})
_CLEARING_EVENTS = frozenset({"cleared", "expired"})


def _event_applies(event: AlertEvent, before: _RowState | None) -> bool:
    """Tell whether ``event`` describes a change of the stored alert row.

    Every dashboard on the file judges the same keys, so several of them
    open, escalate and clear the same alert. Only the first writer, the one
    whose transaction found the row in the old state, logs the change.
    ``before`` is None when the batch wrote no alert of the event's key.
    """
    if before is None:
        return True
    severity = event.severity or 0
    if event.event in _OPENING_EVENTS:
        return not before.open
    if event.event in _CLEARING_EVENTS:
        return before.open
    if event.event == "escalated":
        return before.open and severity > before.severity
    if event.event == "unacknowledged":
        return before.open and before.acknowledged
    if event.event == "rate limited":
        return not before.open or severity > before.severity or before.acknowledged
    return True


async def _write_alert(conn: aiosqlite.Connection, write: AlertWrite) -> _RowState:
    """Write one alert; return the state of the key's latest row before it."""
    alert = write.alert
    async with conn.execute(
        "SELECT id, cleared_at, severity, acknowledged_at FROM alert"
        " WHERE key = ? ORDER BY id DESC LIMIT 1",
        (alert.key,),
    ) as cursor:
        latest = await cursor.fetchone()
    if latest is None:
        before = _RowState(False)
    elif latest[1] is None:
        before = _RowState(True, int(latest[2]), latest[3] is not None)
    else:
        before = _RowState(False, cleared_at=latest[1])
    if alert.cleared_at is not None:
        if before.open:
            assert latest is not None
            await conn.execute(
                "UPDATE alert SET cleared_at = ?, updated_at = ?, value = ?,"
                " detail = ? WHERE id = ?",
                (
                    alert.cleared_at,
                    alert.updated_at,
                    alert.value,
                    alert.detail,
                    latest[0],
                ),
            )
        return before
    if _cleared_elsewhere(write, before):
        return before
    ack_columns = ""
    ack_params: tuple[Any, ...] = ()
    if write.write_acknowledgement:
        ack_columns = (
            ", acknowledged_at = ?, acknowledged_severity = ?, acknowledged_size = ?"
        )
        ack_params = (
            alert.acknowledged_at,
            alert.acknowledged_severity,
            alert.acknowledged_size,
        )
    if latest is not None and (latest[1] is None or write.reopen):
        # Another process may have stored a worse peak, so keep the worse one.
        # A level alert is judged against the baseline it opened with, so an
        # open row keeps it; the expressions read the row before the update.
        worse = "min" if write.lower_is_worse else "max"
        await conn.execute(
            "UPDATE alert SET cleared_at = NULL, label = ?, updated_at = ?,"
            " severity = max(severity, ?),"
            " baseline = CASE WHEN cleared_at IS NULL AND kind = 'level'"
            "   THEN baseline ELSE ? END, value = ?,"
            f" peak = {worse}(peak, ?), size = ?, detail = ?, suppressed = ?,"
            " opened_value = coalesce(opened_value, ?)"
            f"{ack_columns} WHERE id = ?",
            (
                alert.label,
                alert.updated_at,
                alert.severity,
                alert.baseline,
                alert.value,
                alert.peak,
                alert.size,
                alert.detail,
                alert.suppressed,
                alert.opened_value,
                *ack_params,
                latest[0],
            ),
        )
        return before
    await conn.execute(
        "INSERT INTO alert (key, label, kind, severity, opened_at, updated_at,"
        " baseline, value, peak, size, detail, acknowledged_at,"
        " acknowledged_severity, acknowledged_size, suppressed, opened_value)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            alert.key,
            alert.label,
            alert.kind,
            alert.severity,
            alert.opened_at,
            alert.updated_at,
            alert.baseline,
            alert.value,
            alert.peak,
            alert.size,
            alert.detail,
            alert.acknowledged_at,
            alert.acknowledged_severity,
            alert.acknowledged_size,
            alert.suppressed,
            alert.opened_value,
        ),
    )
    return before


async def _clear_alerts(
    conn: aiosqlite.Connection,
    keys_sql: str,
    params: Sequence[Any],
    at: float,
    event: str,
) -> None:
    await conn.execute(
        "INSERT INTO alert_event (alert_id, key, at, event, severity, value, pid)"
        f" SELECT id, key, ?, ?, severity, value, ? FROM alert"
        f" WHERE cleared_at IS NULL AND {keys_sql}",
        (at, event, os.getpid(), *params),
    )
    await conn.execute(
        f"UPDATE alert SET cleared_at = ?, updated_at = ?"
        f" WHERE cleared_at IS NULL AND {keys_sql}",
        (at, at, *params),
    )


async def _reset(conn: aiosqlite.Connection, key: str | None, at: float) -> int:
    where, params = ("key = ?", (key,)) if key is not None else ("1", ())
    cursor = await conn.execute(
        "UPDATE baseline SET count = 0, mean = 0, variance = 0, warmup = '[]',"
        " rows_per_call = NULL, accepted = NULL, regressed = 0, epoch = epoch + 1,"
        " updated_at = ?"
        f" WHERE {where}",
        (at, *params),
    )
    changed = cursor.rowcount
    if key is None:
        await _clear_alerts(conn, "1", (), at, "reset")
    else:
        await _clear_alerts(
            conn, "(key = ? OR key = ?)", (key, f"{key}:trend"), at, "reset"
        )
    await _bump_revision(conn)
    return changed


async def _accept(
    conn: aiosqlite.Connection, key: str, at: float, level: float | None
) -> bool:
    # The spread is kept relative to the level: a query that became ten times
    # slower is assumed to vary ten times as much in absolute terms. The rows
    # per call stay: after its warmup, the detector sets the latest value only
    # from samples whose rows per call are close to the baseline's. The
    # accepted level stays after the mean falls back, until a reset.
    cursor = await conn.execute(
        "UPDATE baseline SET accepted = coalesce(:level, last_value, mean),"
        " variance = CASE WHEN mean > 0 AND coalesce(:level, last_value) IS NOT NULL"
        "   THEN variance * (coalesce(:level, last_value) / mean)"
        "     * (coalesce(:level, last_value) / mean)"
        "   ELSE variance END,"
        " mean = coalesce(:level, last_value, mean), warmup = '[]', regressed = 0,"
        " epoch = epoch + 1, updated_at = :at"
        " WHERE key = :key",
        {"level": level, "at": at, "key": key},
    )
    changed = cursor.rowcount > 0
    async with conn.execute(
        "SELECT count(*) FROM alert WHERE cleared_at IS NULL AND key = ?", (key,)
    ) as found:
        row = await found.fetchone()
    open_alerts = int(row[0]) if row else 0
    # The accepted level is the value that cleared the alert. A trend alert's
    # key has no baseline row and keeps its value.
    await conn.execute(
        "UPDATE alert SET value = coalesce("
        "   (SELECT accepted FROM baseline WHERE key = :key), value)"
        " WHERE cleared_at IS NULL AND key = :key",
        {"key": key},
    )
    await _clear_alerts(conn, "key = ?", (key,), at, "accepted")
    if changed or open_alerts:
        await _bump_revision(conn)
    return changed or open_alerts > 0


async def _acknowledge(
    conn: aiosqlite.Connection, key: str, at: float
) -> StoredAlert | None:
    # A worsened alert has its acknowledgement removed, so only an alert that
    # is quiet now keeps acknowledged_at.
    cursor = await conn.execute(
        "UPDATE alert SET acknowledged_at = ?, acknowledged_severity = severity,"
        " acknowledged_size = size"
        " WHERE key = ? AND cleared_at IS NULL AND acknowledged_at IS NULL",
        (at, key),
    )
    updated = cursor.rowcount
    await cursor.close()
    async with conn.execute(
        f"SELECT {_ALERT_COLUMNS} FROM alert WHERE key = ? AND cleared_at IS NULL",
        (key,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    alert = _alert_from_row(row)
    if not updated:
        return alert
    await conn.execute(
        "INSERT INTO alert_event (alert_id, key, at, event, severity, value, pid)"
        " VALUES (?, ?, ?, 'acknowledged', ?, ?, ?)",
        (alert.id, key, at, alert.severity, alert.value, os.getpid()),
    )
    await _bump_revision(conn)
    return alert


# Opening -------------------------------------------------------------------


class _NewerSchema(Exception):
    pass


async def _connect(target: str, busy_timeout: float, *, uri: bool = False) -> Any:
    conn = aiosqlite.connect(
        target, timeout=busy_timeout, isolation_level=None, uri=uri
    )
    # aiosqlite 0.22 runs each connection in a non-daemon thread, which keeps
    # the interpreter from exiting when a store was never closed. WAL makes a
    # transaction cut off at exit harmless, so a daemon thread fails better.
    thread = getattr(conn, "_thread", None)
    if thread is not None:
        thread.daemon = True
    await conn
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn


async def _migrate(conn: aiosqlite.Connection, deadline: float) -> int:
    """Bring the file to :data:`SCHEMA_VERSION`; return the version found."""
    while True:
        try:
            await conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if is_busy(exc) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                continue
            raise
    try:
        async with conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise _NewerSchema(str(found))
        for version, script in MIGRATIONS:
            if version > found:
                for statement in _statements(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {version}")
        await conn.execute("COMMIT")
        return found
    except BaseException:
        await conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


async def _check(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA quick_check") as cursor:
        rows = await cursor.fetchall()
    problems = [str(row[0]) for row in rows if row[0] != "ok"]
    if problems:
        raise sqlite3.DatabaseError("integrity check failed: " + "; ".join(problems))
    # A file of the right version must still have the tables this code uses.
    async with conn.execute(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
        " AND name IN ('meta', 'baseline', 'alert', 'alert_event', 'sample')"
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or row[0] != 5:
        raise sqlite3.DatabaseError("tables of the baseline schema are missing")


async def _open_file(path: Path, busy_timeout: float, deadline: float) -> Any:
    conn = await _connect(str(path), busy_timeout)
    try:
        while True:
            try:
                async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                    row = await cursor.fetchone()
                break
            except sqlite3.OperationalError as exc:
                if is_busy(exc) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    continue
                raise
        if row is None or str(row[0]).lower() != "wal":
            log.warning("baseline file %s is not in WAL mode (%s)", path, row)
        await conn.execute("PRAGMA synchronous = NORMAL")
        await _migrate(conn, deadline)
        await _check(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


MEMORY_ONLY = "baselines and alerts are kept in memory only, not saved"
"""The ending of every message of a store that fell back to memory."""
OTHER_STATE_DIR = "or set EVEDMV_STATE_DIR to another folder"
"""The way out that every hint of an unusable baseline file offers last."""


async def _memory_store(
    message: str,
    level: Literal["warning", "error"],
    path: Path | None,
    seed: Any,
    *,
    hint: str = "",
    log_status: bool = True,
) -> BaselineStore:
    conn = await _connect(":memory:", 1.0)
    if seed is not None:
        await seed.backup(conn)
    await _migrate(conn, time.monotonic() + 1.0)
    status = StoreStatus(
        False, path, message, level, read_file=seed is not None, hint=hint
    )
    if log_status:
        log.warning("%s", status.text)
    return BaselineStore(conn, conn, status)


def creation_problem(path: Path) -> tuple[str, str] | None:
    """Return why the folders of ``path`` cannot be created, and the fix.

    None when the folder of ``path`` exists or its first existing ancestor
    is a folder this process may write to.
    """
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return (
            f"{folder} is a file, where the folder of {path.name} should be",
            f"remove or rename the file {folder}, {OTHER_STATE_DIR}",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"the folder {folder} is not writable",
            f"make {folder} writable, {OTHER_STATE_DIR}",
        )
    return None


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


async def _copy_read_only(path: Path) -> Any:
    """Open ``path`` read-only, or return None when that fails too."""
    try:
        conn = await _connect(f"file:{path}?mode=ro", 1.0, uri=True)
    except sqlite3.Error:
        return None
    try:
        async with conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        if row is None or int(row[0]) > SCHEMA_VERSION:
            await conn.close()
            return None
        await _check(conn)
    except sqlite3.Error:
        await conn.close()
        return None
    return conn


async def open_store(
    path: Path | None,
    *,
    busy_timeout: float = 5.0,
    open_wait: float = 15.0,
    log_status: bool = True,
) -> BaselineStore:
    """Open the baseline file at ``path``, or fall back to memory; never raise.

    ``busy_timeout`` is SQLite's wait for a lock, in seconds, per statement.
    ``open_wait`` bounds the whole opening, in seconds, while another process
    holds the file. ``path=None`` gives an in-memory store. With
    ``log_status=False`` a degraded start is not logged, for a caller that
    reports :attr:`BaselineStore.status` itself.
    """
    fallback = functools.partial(_memory_store, log_status=log_status)
    if path is None:
        return await fallback("baselines kept in memory only", "warning", None, None)
    deadline = time.monotonic() + open_wait
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # "File exists" does not say that a file is in the way of a folder.
        reason, hint = creation_problem(path) or (
            exc.strerror or str(exc),
            f"check the permissions of {path.parent}, {OTHER_STATE_DIR}",
        )
        return await fallback(
            f"cannot create {path.parent} ({reason}); {MEMORY_ONLY}",
            "error",
            path,
            None,
            hint=hint,
        )
    writable = f"make {path} and its folder writable, {OTHER_STATE_DIR}"
    moved: Path | None = None
    for attempt in range(2):
        try:
            conn = await _open_file(path, busy_timeout, deadline)
        except _NewerSchema as exc:
            return await fallback(
                f"{path} has schema version {exc}, newer than this evedmv"
                f" ({SCHEMA_VERSION}); it is left alone and {MEMORY_ONLY}",
                "error",
                path,
                None,
                hint=f"run the newer evedmv, {OTHER_STATE_DIR}",
            )
        except sqlite3.DatabaseError as exc:
            if is_busy(exc):
                return await fallback(
                    f"{path} stayed locked by another process for {open_wait:.0f} s;"
                    f" {MEMORY_ONLY}",
                    "warning",
                    path,
                    None,
                    hint="restart the dashboard once the other process is done",
                )
            if _is_permission_problem(exc):
                seed = await _copy_read_only(path)
                if seed is None:
                    in_the_way = (
                        f"remove or rename the folder {path}, {OTHER_STATE_DIR}"
                    )
                    return await fallback(
                        f"cannot open {path} ({exc}); {MEMORY_ONLY}",
                        "error",
                        path,
                        None,
                        hint=in_the_way if path.is_dir() else writable,
                    )
                try:
                    return await fallback(
                        f"{path} is read-only ({exc}); its baselines are used, but"
                        f" {MEMORY_ONLY}",
                        "warning",
                        path,
                        seed,
                        hint=writable,
                    )
                finally:
                    await seed.close()
            if attempt == 0 and path.is_file():
                try:
                    moved = _move_aside(path)
                except OSError as move_error:
                    return await fallback(
                        f"{path} is damaged ({exc}) and cannot be moved aside"
                        f" ({move_error.strerror}); {MEMORY_ONLY}",
                        "error",
                        path,
                        None,
                        hint=f"move {path} away by hand, {OTHER_STATE_DIR}",
                    )
                if log_status:
                    log.warning(
                        "baseline file %s damaged (%s); moved to %s", path, exc, moved
                    )
                continue
            return await fallback(
                f"cannot open {path} ({exc}); {MEMORY_ONLY}",
                "error",
                path,
                None,
                hint=f"move {path} away, {OTHER_STATE_DIR}",
            )
        else:
            break
    reader = await _connect(str(path), busy_timeout)
    if moved is not None:
        message = f"baseline file was damaged and moved to {moved.name}; learning anew"
        status = StoreStatus(True, path, message, "warning", moved)
    else:
        status = StoreStatus(True, path, "")
    return BaselineStore(conn, reader, status)


def _is_permission_problem(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "readonly" in text or "unable to open" in text

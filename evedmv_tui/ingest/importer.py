"""Import killmails from files, archives, folders and decoded documents.

:func:`import_paths` reads files (see :mod:`evedmv_tui.ingest.sources`),
parses each document (:mod:`evedmv_tui.ingest.shapes`) and writes batches
(:mod:`evedmv_tui.ingest.writer`), each in one transaction. After every
committed batch the ``after_batch`` hooks run with the batch's
:class:`~evedmv_tui.ingest.hooks.BatchResult`. :func:`import_records` does
the same for documents that are already in memory (live feeds, ESI).

Large inputs are read in a second process, which decompresses bzip2 and
xz in one thread while another parses and encodes, so reading overlaps the
writes. Killmails without zkb values are valued as they are encoded, from
the prices that :class:`~evedmv_tui.ingest.writer.BatchWriter` loads when
it starts. An import that is large next to what is stored drops the
secondary indexes of ``attackers`` while it runs and builds them at the end
(:mod:`evedmv_tui.ingest.indexes`).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import datetime as dt
import gc
import logging
import os
import time
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from pathlib import Path
from typing import Any, cast

import psycopg

from evedmv_tui.errors import DatabaseUnavailable, EvedmvError
from evedmv_tui.ingest import IMPORT_LOCK_CLASS
from evedmv_tui.ingest.encode import WritableRecord, prepare_document
from evedmv_tui.ingest.hooks import BatchHook, hook_label, run_hooks
from evedmv_tui.ingest.indexes import deferred_indexes, restore, should_defer
from evedmv_tui.ingest.parallel import ReadEvent, read_here, read_in_processes
from evedmv_tui.ingest.shapes import CUT_OFF_REASON, RejectedRecord
from evedmv_tui.ingest.sources import (
    ARCHIVE_SUFFIXES,
    COMPRESSED_SUFFIXES,
    DOCUMENT_SUFFIXES,
    FileReader,
    InputError,
    expand_paths,
    is_blank,
)
from evedmv_tui.ingest.writer import BatchOutcome, BatchWriter
from evedmv_tui.store.db import (
    BORROW_PROBE_SECONDS,
    Database,
    connect_reason,
    load_sql,
)
from evedmv_tui.store.telemetry import operation

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
"""Killmails per transaction: large enough for COPY to dominate, small
enough that a failed batch loses little and memory stays bounded."""
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
"""Inputs smaller than this are read in-process; a reader process costs
more to start than it saves."""

IMPORT_BORROW_TIMEOUT = 5.0
"""Seconds a file import waits for a pooled connection before it checks the
server. The import borrows one connection at a time, so a longer wait means
that the pool cannot reach the server, not that its connections are busy."""

_SQL = "evedmv_tui.ingest"


@dataclasses.dataclass(frozen=True, slots=True)
class FileSummary:
    """Counts of one input file."""

    path: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    pending: int = 0
    rejected: int = 0
    rejected_killmails: int = 0
    """Rejects with the keys of a killmail document, which failed validation;
    the other rejects are not JSON, no killmail document, or unreadable."""
    cut_off: int = 0
    """Rejects of records whose text ends inside a value, as the last record
    of a file cut off by an unfinished download or copy does."""
    damaged: bool = False
    """Whether the rest of the file could not be read (a truncated or corrupt
    file). One of its rejects gives the byte where reading stopped."""
    misnamed: str | None = None
    """The reason nothing of the file was read, and what to do, for a file
    whose name promises a compressor its content lacks or for text in UTF-16
    or UTF-32 (see :class:`~evedmv_tui.ingest.sources.UnreadableFile`)."""
    invalid: int = 0
    """References to killmails whose id and hash ESI rejected before, which
    are not fetched again."""
    stored_rejects: int = 0
    """Rejects of records whose killmail is stored from another record, so
    they are resolved already and a fixed copy would be a duplicate."""

    @property
    def unreadable(self) -> bool:
        """True when all or the rest of the file could not be read.

        Such a file has one reject that is not a record read: ``rejected``
        counts it, ``read`` does not.
        """
        return self.damaged or self.misnamed is not None


@dataclasses.dataclass(frozen=True, slots=True)
class ImportSummary:
    """Totals of one import, and per-file details."""

    read: int
    """Records read: killmails, references without a body, and rejects."""
    inserted: int
    """Killmails whose body was stored for the first time."""
    updated: int
    """Stored killmails whose zkb values changed."""
    duplicates: int
    """Records that changed nothing."""
    pending: int
    """New references whose body must still be fetched from ESI."""
    rejected: int
    """Rejected records, plus one reject per file in :attr:`unreadable_files`."""
    files: tuple[FileSummary, ...] = ()
    import_id: int | None = None
    seconds: float = 0.0
    fetched: Any = None
    """The pending fetcher's summary when bodies were fetched, else None."""
    not_updated: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Killmails whose batch hook failed, by what the hook keeps up to date
    (``battles``, ``entity totals``, ``watch matches``). 'evedmv repair'
    updates battles and totals."""
    repair_advice: tuple[str, ...] = ()
    """Advice naming the role that can run 'evedmv repair', one for each
    distinct privilege that the connected role lacked for a hook. Empty when
    this role can run it."""
    invalid: int = 0
    """References to killmails whose id and hash ESI rejected before, which
    are not fetched again and store nothing."""

    @property
    def update_advice(self) -> str | None:
        """What brings battles and entity totals up to date, or None when no
        batch hook failed."""
        if not self.not_updated:
            return None
        # A role that lacked a privilege for a hook lacks it for the repair.
        return " and ".join(self.repair_advice) or "run 'evedmv repair'"

    @property
    def unreadable_files(self) -> int:
        """Files that could not be read to the end, each with one reject."""
        return sum(1 for f in self.files if f.unreadable)

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready values."""
        result: dict[str, Any] = {
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "pending": self.pending,
            "invalid": self.invalid,
            "rejected": self.rejected,
            "unreadable_files": self.unreadable_files,
            "import_id": self.import_id,
            "seconds": round(self.seconds, 3),
            "files": [dataclasses.asdict(f) for f in self.files],
            "not_updated": dict(self.not_updated),
            "update_advice": self.update_advice,
        }
        if self.fetched is not None:
            fetched = self.fetched
            if dataclasses.is_dataclass(fetched) and not isinstance(fetched, type):
                result["fetched"] = dataclasses.asdict(fetched)
            else:
                result["fetched"] = str(fetched)
        return result


@dataclasses.dataclass(frozen=True, slots=True)
class ImportProgress:
    """A snapshot of a running import, for a progress bar or a log line."""

    files_done: int
    files_total: int
    current_file: str | None
    bytes_done: int
    bytes_total: int
    read: int
    inserted: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Records read per second so far."""
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining_seconds(self) -> float | None:
        """Estimated seconds left, from the share of input bytes consumed."""
        if self.bytes_done <= 0 or self.bytes_total <= 0 or self.elapsed <= 0:
            return None
        share = min(1.0, self.bytes_done / self.bytes_total)
        return self.elapsed * (1 - share) / share


class ImportConnectionLost(DatabaseUnavailable):
    """The server became unreachable during a file import, which then stopped."""

    def __init__(self, import_id: int, reason: str) -> None:
        super().__init__(
            "database connection lost",
            f"import {import_id} stopped because the server became unreachable"
            f" ({reason}); the batches that finished are stored, but battles"
            " and entity totals may lack the last of them",
            "once the server runs again ('evedmv db status'), run 'evedmv"
            " repair' and import the files again (what is stored is skipped)",
        )
        self.import_id = import_id
        self.reason = reason


CONNECTION_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    DatabaseUnavailable,
)
"""Errors after which the importer checks whether the server is still there."""


def unreachable_reason(db: Database) -> str | None:
    """Return why a new connection to ``db``'s server fails, or None if it works.

    A server that is shutting down counts as unreachable, because it will
    not take the import's next batch.
    """
    kwargs: dict[str, Any] = {"application_name": db.application_name}
    if "connect_timeout" not in psycopg.conninfo.conninfo_to_dict(db.conninfo):
        kwargs["connect_timeout"] = max(round(BORROW_PROBE_SECONDS), 1)
    try:
        psycopg.connect(db.conninfo, **kwargs).close()
    except psycopg.OperationalError as exc:
        return connect_reason(exc)
    return None


ProgressCallback = Callable[[ImportProgress], None]
FetchPending = Callable[[Database, Sequence[BatchHook]], Any]
"""Fetch bodies of pending killmails; called with the database and hooks."""


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often during an import.

    Parsing creates millions of short-lived acyclic objects; with the
    default thresholds, collections take about half of the parse time.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 50_000), before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _load_malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's ``malloc_trim``, or None where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast(Callable[[int], int], trim)


_malloc_trim = _load_malloc_trim()


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the operating system (glibc only).

    Each batch frees megabytes of row buffers and parsed records, but glibc
    keeps freed heap pages resident unless they sit at the top of the heap.
    Trimming after each batch lowers the resident size between batches and
    after the import, not the peak within a batch. Other C libraries have no
    ``malloc_trim``.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


@dataclasses.dataclass(slots=True)
class _Counts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    pending: int = 0
    rejected: int = 0
    rejected_killmails: int = 0
    cut_off: int = 0
    damaged: bool = False
    misnamed: str | None = None
    invalid: int = 0

    def freeze(self, path: str) -> FileSummary:
        return FileSummary(
            path,
            self.read,
            self.inserted,
            self.updated,
            self.duplicates,
            self.pending,
            self.rejected,
            self.rejected_killmails,
            self.cut_off,
            self.damaged,
            self.misnamed,
            self.invalid,
        )


class _Batcher:
    """Collect parsed records into batches, write them, and attribute counts."""

    def __init__(
        self,
        db: Database,
        writer: BatchWriter,
        hooks: Sequence[BatchHook],
        batch_size: int,
        *,
        import_id: int | None = None,
    ) -> None:
        self.db = db
        self.writer = writer
        self.hooks = hooks
        self.batch_size = max(1, batch_size)
        self.import_id = import_id
        """The file import's id; with it, a lost server ends the import."""
        self.records: list[WritableRecord] = []
        self.owners: list[int] = []
        self.files: list[_Counts] = []
        self.total = _Counts()
        self.not_updated: dict[str, int] = {}
        """Killmails of batches whose hook failed, by :func:`hook_label`."""
        self.repair_advice: dict[str, None] = {}
        """Distinct :attr:`HookFailure.repair_advice` texts, in order."""
        self.systems: set[int] = set()
        """Solar systems of the inserted and updated killmails."""
        self.ship_types: set[int] = set()
        """Victim ship types of the inserted killmails."""

    def add_file(self) -> int:
        self.files.append(_Counts())
        return len(self.files) - 1

    def add(self, file_index: int, records: Iterable[WritableRecord]) -> None:
        for record in records:
            self.records.append(record)
            self.owners.append(file_index)
            if len(self.records) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        if not self.records:
            return
        records, owners = self.records, self.owners
        self.records, self.owners = [], []
        try:
            outcome = self.writer.write(records)
        except CONNECTION_ERRORS:
            self._stop_if_server_lost()
            raise
        self._attribute(records, owners, outcome)
        del records, owners
        self.systems.update(outcome.result.solar_system_ids)
        self.ship_types.update(outcome.result.victim_ship_type_ids)
        if outcome.result.killmail_ids:
            # One hook at a time: after a hook failed because the server went
            # away, the next one would wait for a pooled connection in vain.
            for hook in self.hooks:
                failures = run_hooks(self.db, [hook], outcome.result)
                if not failures:
                    continue
                label = hook_label(hook)
                self.not_updated[label] = self.not_updated.get(label, 0) + len(
                    outcome.result.killmail_ids
                )
                for failure in failures:
                    if failure.repair_advice is not None:
                        self.repair_advice[failure.repair_advice] = None
                if any(
                    isinstance(failure.error, CONNECTION_ERRORS) for failure in failures
                ):
                    self._stop_if_server_lost()
        release_free_memory()

    def _stop_if_server_lost(self) -> None:
        """Raise :class:`ImportConnectionLost` when the server cannot be reached.

        Without this, each later statement of the import would wait for the
        pool's borrow timeout before it failed.
        """
        if self.import_id is None:
            return
        reason = unreachable_reason(self.db)
        if reason is not None:
            raise ImportConnectionLost(self.import_id, reason)

    def _attribute(
        self,
        records: Sequence[WritableRecord],
        owners: Sequence[int],
        outcome: BatchOutcome,
    ) -> None:
        inserted = set(outcome.result.inserted_ids)
        updated = set(outcome.result.updated_ids)
        pending = set(outcome.pending_ids)
        invalid = set(outcome.invalid_ids)
        hash_rejected = outcome.hash_rejected
        # A killmail seen twice in one batch counts once, for its last record
        # that was not rejected.
        last: dict[int, int] = {}
        for position, record in enumerate(records):
            if not isinstance(record, RejectedRecord) and position not in hash_rejected:
                last[record.killmail_id] = position
        tally: collections.Counter[tuple[int, str]] = collections.Counter()
        rejected_killmails: collections.Counter[int] = collections.Counter()
        for position, (record, owner) in enumerate(zip(records, owners, strict=True)):
            if isinstance(record, RejectedRecord) or position in hash_rejected:
                outcome_name = "rejected"
                if not isinstance(record, RejectedRecord) or record.killmail_shaped:
                    rejected_killmails[owner] += 1
            elif last[record.killmail_id] != position:
                outcome_name = "duplicates"
            elif record.killmail_id in inserted:
                outcome_name = "inserted"
            elif record.killmail_id in updated:
                outcome_name = "updated"
            elif record.killmail_id in pending:
                outcome_name = "pending"
            elif record.killmail_id in invalid:
                outcome_name = "invalid"
            else:
                outcome_name = "duplicates"
            tally[owner, outcome_name] += 1
        for (owner, outcome_name), count in tally.items():
            for target in (self.files[owner], self.total):
                target.read += count
                setattr(target, outcome_name, getattr(target, outcome_name) + count)
        for owner, record in zip(owners, records, strict=True):
            if not isinstance(record, RejectedRecord):
                continue
            if not record.is_record:
                self.files[owner].read -= 1
                self.total.read -= 1
            elif record.reason.endswith(CUT_OFF_REASON):
                self.files[owner].cut_off += 1
                self.total.cut_off += 1
        for owner, count in rejected_killmails.items():
            self.files[owner].rejected_killmails += count
            self.total.rejected_killmails += count


@contextlib.contextmanager
def _import_record(db: Database, paths: Sequence[str]) -> Iterator[_ImportRecord]:
    """Open the ``imports`` row and hold its lock until the block ends.

    A connection outside the pool holds the session lock
    (:data:`~evedmv_tui.ingest.IMPORT_LOCK_CLASS`), so the pool's
    connections stay free for the batches. The lock ends with the
    connection, also when the importer dies.
    """
    with psycopg.connect(
        db.conninfo, autocommit=True, application_name=db.application_name
    ) as conn:
        row = db.fetch_one(
            load_sql(_SQL, "start_import"),
            {"paths": list(paths), "lock_class": IMPORT_LOCK_CLASS},
            conn=conn,
        )
        assert row is not None
        yield _ImportRecord(db, conn, int(row[0]))


@dataclasses.dataclass(frozen=True, slots=True)
class _ImportRecord:
    db: Database
    conn: psycopg.Connection[Any]
    import_id: int

    def finish(self, total: _Counts, *, failed: bool = False) -> None:
        """Store the totals and the end time of the import.

        ``failed`` marks an import that an error ended before it read every
        file, so that no reject of an unread file counts as resolved by it.
        """
        self.db.execute(
            load_sql(_SQL, "finish_import"),
            {"import_id": self.import_id, **dataclasses.asdict(total)},
            conn=self.conn,
        )
        if failed:
            # A statement of its own, so that a finished import needs no
            # column newer than the imports table itself.
            self.db.execute(
                load_sql(_SQL, "fail_import"),
                {"import_id": self.import_id},
                conn=self.conn,
            )


def interrupted_imports(db: Database) -> list[int]:
    """Return the ids of the imports that stopped early and await a repair.

    An import that still runs holds its lock and is left out.
    """
    rows = db.fetch_all(
        load_sql(_SQL, "interrupted_imports"), {"lock_class": IMPORT_LOCK_CLASS}
    )
    return [int(row[0]) for row in rows]


def mark_repaired(db: Database, import_ids: Sequence[int]) -> None:
    """Record that a repair brought the derived data of these imports up to date.

    Call it with the ids that :func:`interrupted_imports` returned before the
    repair began, so an import that stops during the repair stays unrepaired.
    """
    if import_ids:
        db.execute(load_sql(_SQL, "mark_repaired"), {"import_ids": list(import_ids)})


@contextlib.contextmanager
def _borrow_timeout(db: Database, seconds: float) -> Iterator[None]:
    """Wait at most ``seconds`` for each pooled connection within the block."""
    before = db.borrow_timeout
    db.borrow_timeout = min(before, seconds)
    try:
        yield
    finally:
        db.borrow_timeout = before


SHOWN_UNKNOWN_IDS = 5
"""Unknown ids of each kind that the warning lists; it counts the rest."""


def warn_unknown_static(
    db: Database, systems: Collection[int], ship_types: Collection[int]
) -> None:
    """Log a warning naming the systems and ship types the static data lacks.

    Their killmails are stored, but they show ids without names, and ships
    without a class, until an SDE that lists them is imported. Nothing is
    logged when all are known or no static data is loaded. The hint depends
    on what is loaded: with the demo's built-in universe it requests a first
    SDE, and with an imported SDE a newer one.
    """
    if not systems and not ship_types:
        return
    row = db.fetch_one(
        load_sql(_SQL, "unknown_static"),
        {"systems": sorted(systems), "types": sorted(ship_types)},
    )
    if row is None:
        return
    parts = []
    for kind, ids in (("solar systems", row[0]), ("ship types", row[1])):
        if not ids:
            continue
        listed = ", ".join(str(i) for i in ids[:SHOWN_UNKNOWN_IDS])
        more = len(ids) - SHOWN_UNKNOWN_IDS
        parts.append(f"{kind} {listed}" + (f" and {more:,} more" if more > 0 else ""))
    if not parts:
        return
    if _only_builtin_static(db):
        log.warning(
            "the built-in demo universe lists no %s: their killmails are"
            " stored, but show ids without names and ships without a class."
            " No static data export (SDE) is imported yet; import the static"
            " data export: evedmv sde import PATH",
            "; no ".join(parts),
        )
        return
    log.warning(
        "the static data lists no %s: their killmails are stored, but show"
        " ids without names and ships without a class; import a newer SDE"
        " with 'evedmv sde import PATH'",
        "; no ".join(parts),
    )


def _only_builtin_static(db: Database) -> bool:
    """Return whether the stored systems are all of the demo's built-in universe.

    ``evedmv demo`` stores that small universe when no SDE is given. Every
    SDE lists thousands of systems beyond it, so one system outside it
    shows that an SDE was imported.
    """
    from evedmv_tui.generate.universe import builtin_static_tables

    builtin = [row[0] for row in builtin_static_tables()["solar_systems"]]
    outside = db.fetch_value(
        "SELECT EXISTS (SELECT 1 FROM solar_systems"
        " WHERE solar_system_id <> ALL(%s::bigint[]))",
        (builtin,),
    )
    return not outside


def default_workers(files: int, total_bytes: int) -> int:
    """Return how many reader processes suit an input of this size.

    None below :data:`PARALLEL_MIN_BYTES`; else one per file, at most one
    less than the CPUs, because this process and PostgreSQL need a core.
    """
    if total_bytes < PARALLEL_MIN_BYTES or files == 0:
        return 0
    return max(1, min(files, (os.cpu_count() or 2) - 1))


@contextlib.contextmanager
def _index_upkeep(
    db: Database, total_bytes: int, defer: bool | None
) -> Iterator[list[str]]:
    """Drop the secondary indexes of ``attackers`` for the import, if it should.

    ``defer`` None leaves the choice to :func:`should_defer`. An import that
    keeps the indexes builds any that an earlier import left dropped.
    Yields the names of the dropped indexes.
    """
    if defer is None:
        defer = should_defer(db, total_bytes)
    if not defer:
        restore(db)
        yield []
        return
    with deferred_indexes(db) as dropped:
        yield dropped


def _events(
    files: Sequence[Path], workers: int, prices: Mapping[int, float]
) -> Iterator[ReadEvent]:
    if workers > 0:
        return read_in_processes(files, workers, prices=prices)
    return read_here(files, prices=prices)


def no_killmail_files(paths: Sequence[str | os.PathLike[str]]) -> InputError:
    """Return the error for ``paths`` (folders) that contain no file to import."""
    names = [str(Path(path).absolute()) for path in paths]
    if len(names) == 1:
        where = f"{names[0]} contains no killmail files"
    else:
        where = f"none of {', '.join(names)} contains a killmail file"
    return InputError(
        "nothing to import",
        where,
        "the import reads files ending in"
        f" {', '.join(DOCUMENT_SUFFIXES)}, each also compressed as"
        f" {', '.join(COMPRESSED_SUFFIXES)}, and tar archives ending in"
        f" {', '.join(ARCHIVE_SUFFIXES)}",
    )


def import_paths(
    db: Database,
    paths: Iterable[str | os.PathLike[str]],
    *,
    offline: bool = False,
    fetch_pending: FetchPending | None = None,
    after_batch: Sequence[BatchHook] = (),
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    defer_indexes: bool | None = None,
) -> ImportSummary:
    """Import every killmail document in ``paths`` (files and folders).

    Killmails without a body are kept as pending; unless ``offline``,
    ``fetch_pending`` is called once the files are read to fetch them.
    ``workers`` is the number of reader processes: 0 reads in this process,
    None picks :func:`default_workers`. ``defer_indexes`` drops the
    secondary indexes of ``attackers`` during the import and builds them
    after it (see :mod:`evedmv_tui.ingest.indexes`); None decides by the
    input's size next to what is stored.
    Raise :class:`~evedmv_tui.ingest.sources.InputError` for a missing path,
    or for paths that hold no killmail file, before anything is written.
    """
    paths = list(paths)
    files = expand_paths(paths)
    if not files:
        raise no_killmail_files(paths)
    total_bytes = sum(path.stat().st_size for path in files)
    if workers is None:
        workers = default_workers(len(files), total_bytes)
    started = time.perf_counter()
    with (
        operation("import"),
        _fewer_collections(),
        _index_upkeep(db, total_bytes, defer_indexes),
        _import_record(db, [str(path) for path in files]) as record,
        _borrow_timeout(db, IMPORT_BORROW_TIMEOUT),
    ):
        import_id = record.import_id
        writer = BatchWriter(db, import_id=import_id)
        batcher = _Batcher(db, writer, after_batch, batch_size, import_id=import_id)
        for _ in files:
            batcher.add_file()
        done_files = 0
        done_bytes = 0
        try:
            for event in _events(files, workers, writer.prices):
                index = event.file_index
                name = str(files[index])
                batcher.add(index, event.records)
                bytes_read = event.bytes_read
                if event.kind == "error":
                    log.warning(
                        "cannot read %s%s: %s",
                        "all of " if event.damaged else "",
                        name,
                        event.error,
                    )
                    batcher.add(index, [_read_failure(name, event)])
                    batcher.files[index].damaged = event.damaged
                    if not event.damaged:
                        batcher.files[index].misnamed = event.error
                if event.kind in ("end", "error"):
                    done_files += 1
                    done_bytes += files[index].stat().st_size
                    bytes_read = 0
                    log.info("finished reading %s", name)
                if progress is not None:
                    progress(
                        ImportProgress(
                            done_files,
                            len(files),
                            name,
                            done_bytes + bytes_read,
                            total_bytes,
                            batcher.total.read + len(batcher.records),
                            batcher.total.inserted,
                            time.perf_counter() - started,
                        )
                    )
            batcher.flush()
        except ImportConnectionLost:
            # The row keeps the counts of the committed batches, and its free
            # lock shows the import as interrupted.
            raise
        except Exception:
            # The import ended by itself, so record the totals of what landed
            # before the failure. KeyboardInterrupt (Ctrl-C) and SystemExit
            # do not derive from Exception and skip this. Their row keeps
            # finished_at NULL and the counts of the committed batches, so it
            # shows as interrupted.
            try:
                record.finish(batcher.total, failed=True)
            except Exception as exc:
                log.warning(
                    "cannot close the record of import %d: %s",
                    import_id,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
            raise
        record.finish(batcher.total)
    for path, counts in zip(files, batcher.files, strict=True):
        if counts.read == 0 and counts.rejected == 0:
            # A file that could not be read has its reject, not a record read.
            _warn_no_killmails(path)
    warn_unknown_static(db, batcher.systems, batcher.ship_types)
    fetched = None
    if not offline and fetch_pending is not None and _has_pending(db):
        with operation("import.fetch_pending"):
            fetched = fetch_pending(db, after_batch)
    total = batcher.total
    stored_rejects = _count_stored_rejects(db, import_id) if total.rejected else {}
    return ImportSummary(
        read=total.read,
        inserted=total.inserted,
        updated=total.updated,
        duplicates=total.duplicates,
        pending=total.pending,
        rejected=total.rejected,
        files=tuple(
            dataclasses.replace(
                counts.freeze(str(path)),
                stored_rejects=stored_rejects.get(str(path), 0),
            )
            for path, counts in zip(files, batcher.files, strict=True)
        ),
        import_id=import_id,
        seconds=time.perf_counter() - started,
        fetched=fetched,
        not_updated=batcher.not_updated,
        repair_advice=tuple(batcher.repair_advice),
        invalid=total.invalid,
    )


def _read_failure(name: str, event: ReadEvent) -> RejectedRecord:
    """Return a reject for the unreadable rest of a file, or the whole file."""
    reason = str(event.error)
    if event.damaged:
        reason = f"the rest of the file cannot be read: {reason}"
    return RejectedRecord(
        name, f"byte {event.bytes_read}", None, None, reason, "", is_record=False
    )


def _warn_no_killmails(path: Path) -> None:
    """Warn about a file that had text but gave no record at all.

    Every document yields a killmail, a reference or a reject, except an
    empty RedisQ poll (``{"package": null}``), so such a file contains only
    those polls, or no document at all. Empty and whitespace-only files
    were named when the paths were expanded.
    """
    if path.stat().st_size == 0 or is_blank(path):
        return
    try:
        documents = sum(1 for _ in FileReader(path).documents())
    except (OSError, EvedmvError):
        return
    if documents == 0:
        log.warning(
            "file %s is empty: it contains no JSON document (an empty array"
            " or archive), so no killmails",
            path,
        )
        return
    noun = (
        "document is an empty RedisQ poll"
        if documents == 1
        else (f"{documents:,} documents are empty RedisQ polls")
    )
    log.warning(
        'file %s is empty: its %s ({"package": null}), so no killmails;'
        " RedisQ sends that when no killmail arrived during the poll",
        path,
        noun,
    )


def _count_stored_rejects(db: Database, import_id: int) -> dict[str, int]:
    """Return, by file, the rejects of an import whose killmail is stored."""
    rows = db.fetch_all(
        load_sql(_SQL, "count_stored_rejects"), {"import_id": import_id}
    )
    return {str(row[0]): int(row[1]) for row in rows}


def _has_pending(db: Database) -> bool:
    return bool(db.fetch_value(load_sql(_SQL, "has_pending")))


def import_records(
    db: Database,
    records: Iterable[bytes | Mapping[str, Any]],
    *,
    source: str,
    after_batch: Sequence[BatchHook] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    positions: Sequence[str] | None = None,
) -> ImportSummary:
    """Import documents already in memory: raw JSON bytes or decoded objects.

    ``source`` names their origin (``esi``, ``r2z2``, ``redisq``); it is
    stored with each killmail, and rejects name ``<source>`` as their file.
    A reject's position is the record's entry in ``positions`` (for example
    its feed sequence number), or ``record N`` without them. A killmail read
    at a position named in ``positions`` also names the earlier rejects there
    that have no killmail id, so they resolve once its body is stored.
    """
    started = time.perf_counter()
    source_file = f"<{source}>"
    read_at: dict[str, int] = {}
    with operation(f"import.{source}"):
        writer = BatchWriter(db)
        batcher = _Batcher(db, writer, after_batch, batch_size)
        index = batcher.add_file()
        seen_at = dt.datetime.now(dt.UTC)
        for number, document in enumerate(records, start=1):
            position = positions[number - 1] if positions else f"record {number}"
            prepared = prepare_document(
                document,
                source_file=source_file,
                position=position,
                seen_at=seen_at,
                prices=writer.prices,
                source=source,
            )
            batcher.add(index, prepared)
            if positions and len(prepared) == 1:
                (record,) = prepared
                if not isinstance(record, RejectedRecord):
                    read_at[position] = record.killmail_id
        batcher.flush()
        if read_at:
            _name_rejects_by_position(db, source_file, read_at)
    total = batcher.total
    return ImportSummary(
        read=total.read,
        inserted=total.inserted,
        updated=total.updated,
        duplicates=total.duplicates,
        pending=total.pending,
        rejected=total.rejected,
        files=(total.freeze(source_file),),
        seconds=time.perf_counter() - started,
        not_updated=batcher.not_updated,
        repair_advice=tuple(batcher.repair_advice),
        invalid=total.invalid,
    )


def _name_rejects_by_position(
    db: Database, source_file: str, read_at: Mapping[str, int]
) -> None:
    """Give rejects without a killmail id at these positions the id read there.

    The view ``reject_states`` then resolves such a reject, for example a
    feed sequence whose cut-off body was read again, once that killmail's
    body is stored.
    """
    db.execute(
        load_sql(_SQL, "name_rejects_by_position"),
        {
            "source_file": source_file,
            "position": list(read_at),
            "killmail_id": list(read_at.values()),
        },
    )

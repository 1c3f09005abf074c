"""Reading input files here or in reader processes.

Decompressing, parsing and encoding cost more CPU than PostgreSQL spends
storing the rows, so large imports do that work in spawned reader
processes, which hand encoded records to the importer through bounded
queues while this process only sends them. Each queue contains at most
:data:`QUEUE_MESSAGES` messages of the records of
:data:`DOCUMENTS_PER_MESSAGE` documents, and this process unpickles at most
:data:`RECEIVED_MESSAGES` more ahead, which bounds the memory in flight.
Each reader also decompresses bzip2 and xz input in a thread of its own
(:class:`~evedmv_tui.ingest.sources.FileReader`'s ``decompress_ahead``).
A reader's log records go through the same queue to this process's
loggers, so they reach the log file and stderr like the importer's own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import logging
import logging.handlers
import lzma
import multiprocessing
import os
import queue
import sys
import tarfile
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from evedmv_tui.ingest.encode import (
    EncodedKillmail,
    WritableRecord,
    pack_killmails,
    prepare_document,
    unpack_killmails,
)
from evedmv_tui.ingest.sources import FileReader, InputError, UnreadableFile

log = logging.getLogger(__name__)

DOCUMENTS_PER_MESSAGE = 500
QUEUE_MESSAGES = 8
RECEIVED_MESSAGES = 2
"""Messages the importer's receiving thread unpickles ahead of their use."""
READER_SWITCH_INTERVAL = 0.0002
"""Seconds a reader process's parsing thread holds the GIL while its
decompressing thread waits for it (:func:`sys.setswitchinterval`)."""
_READ_ERRORS = (InputError, OSError, EOFError, zlib.error, lzma.LZMAError)


@dataclasses.dataclass(frozen=True, slots=True)
class ReadEvent:
    """Records read from one file, its end, or the error that stopped it."""

    file_index: int
    kind: str
    """``records``, ``end`` or ``error``. Events of kind ``log`` and ``fatal``
    are handled inside this module."""
    records: Sequence[WritableRecord] = ()
    bytes_read: int = 0
    error: str | None = None
    damaged: bool = True
    """For an error: whether reading stopped part way (a truncated or corrupt
    file), not at the start of a file of which nothing could be read (see
    :class:`~evedmv_tui.ingest.sources.UnreadableFile`)."""
    log_record: logging.LogRecord | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Records that are all encoded killmails, as every record of a valid
        # file is, cross the process boundary as one MessagePack message.
        records = self.records
        if records and all(type(record) is EncodedKillmail for record in records):
            packed = pack_killmails(cast(Sequence[EncodedKillmail], records))
            args = (self.file_index, self.kind, packed, self.bytes_read)
            return (_unpacked_event, args)
        return (
            ReadEvent,
            (
                self.file_index,
                self.kind,
                records,
                self.bytes_read,
                self.error,
                self.damaged,
                self.log_record,
            ),
        )


def _unpacked_event(
    file_index: int, kind: str, packed: bytes, bytes_read: int
) -> ReadEvent:
    """Return the event whose records :meth:`ReadEvent.__reduce__` packed."""
    return ReadEvent(file_index, kind, unpack_killmails(packed), bytes_read)


class _ChannelLogHandler(logging.handlers.QueueHandler):
    """A handler that sends a reader process's log records to the importer."""

    def __init__(self, channel: Any) -> None:
        super().__init__(channel)
        self.channel = channel

    def enqueue(self, record: logging.LogRecord) -> None:
        # Blocks while the queue is full, as the records do, so no record
        # is dropped.
        self.channel.put(ReadEvent(-1, "log", log_record=record))


def _describe(exc: BaseException) -> str:
    """Say why reading stopped in a user's words, with what to do about it."""
    if isinstance(exc, InputError):
        return f"{exc.message}; {exc.hint}" if exc.hint else exc.message
    if isinstance(exc, EOFError):
        return (
            "the file ends inside its compressed data, so it was cut off (an"
            " unfinished download or copy); fetch it again"
        )
    if isinstance(exc, PermissionError):
        return "permission denied; give the user running evedmv read access"
    if isinstance(exc, zlib.error | lzma.LZMAError | tarfile.TarError) or (
        isinstance(exc, OSError) and exc.errno is None
    ):
        # bz2 and gzip raise OSError without an errno for damaged data.
        return f"the compressed data is damaged ({exc}); fetch the file again"
    if isinstance(exc, OSError):
        return f"reading failed: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def read_file(
    index: int, path: Path, *, prices: Mapping[int, float]
) -> Iterator[ReadEvent]:
    """Yield the parsed records of one file in chunks, then its end or error.

    Killmails without zkb ISK values are valued from ``prices``.
    """
    reader = FileReader(path, decompress_ahead=True)
    chunk: list[WritableRecord] = []
    documents = 0
    seen_at = dt.datetime.now(dt.UTC)
    try:
        for document in reader.documents():
            chunk.extend(
                prepare_document(
                    document.raw,
                    source_file=document.source_file,
                    position=document.position,
                    seen_at=seen_at,
                    prices=prices,
                )
            )
            documents += 1
            if documents >= DOCUMENTS_PER_MESSAGE:
                yield ReadEvent(index, "records", chunk, reader.bytes_read)
                chunk = []
                documents = 0
                seen_at = dt.datetime.now(dt.UTC)
    except _READ_ERRORS as exc:
        if chunk:
            yield ReadEvent(index, "records", chunk, reader.bytes_read)
        yield ReadEvent(
            index,
            "error",
            (),
            reader.bytes_read,
            _describe(exc),
            damaged=not isinstance(exc, UnreadableFile),
        )
        return
    if chunk:
        yield ReadEvent(index, "records", chunk, reader.bytes_read)
    yield ReadEvent(index, "end", (), reader.bytes_read)


def read_here(
    files: Sequence[Path], *, prices: Mapping[int, float]
) -> Iterator[ReadEvent]:
    """Read every file in this process."""
    for index, path in enumerate(files):
        yield from read_file(index, path, prices=prices)


def _exit_with_parent() -> None:
    """Start a thread that ends this process when the importer that spawned it dies.

    A killed importer (``kill -9``) runs no cleanup, so without this its
    readers would block forever on a full queue. The thread waits on the
    parent's sentinel, which becomes ready when the parent exits, so it
    costs nothing while the parent lives.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait_for_parent() -> None:
        parent.join()
        # os._exit, not sys.exit: the queue's feeder thread would block the
        # normal exit while it waits to send records that no process reads.
        os._exit(1)

    threading.Thread(
        target=wait_for_parent, name="evedmv-import-parent-watch", daemon=True
    ).start()


def tune_reader_process() -> None:
    """Set the garbage collector and the GIL switch interval for reading.

    Parsing makes millions of short-lived acyclic objects, and frequent
    cyclic collections would cost about as much as the parsing itself.

    The decompressing thread needs the GIL again after each block of
    output. CPython 3.11's ``bz2`` grows its output buffer in steps from
    32 KiB, so a 2 MiB chunk takes five steps. With the default switch
    interval of 5 ms the thread waited up to that long each time while the
    parsing thread ran.
    Decompressing and parsing the seven EVE Ref archives in one process
    took 6.7 to 7.2 s with it and 5.5 s with :data:`READER_SWITCH_INTERVAL`
    (2 cores, load average about 1).
    """
    gc.set_threshold(50_000, 20, 100)
    sys.setswitchinterval(READER_SWITCH_INTERVAL)


def _reader_main(
    files: Sequence[Path],
    first: int,
    step: int,
    channel: Any,
    prices: Mapping[int, float],
    log_level: int = logging.WARNING,
) -> None:
    """Entry point of a reader process: files ``first``, ``first + step``, ...

    Records of ``log_level`` and above go to the importer's loggers.
    """
    _exit_with_parent()
    root = logging.getLogger()
    root.handlers[:] = [_ChannelLogHandler(channel)]
    root.setLevel(log_level)
    tune_reader_process()
    try:
        for index in range(first, len(files), step):
            for event in read_file(index, files[index], prices=prices):
                channel.put(event)
    except BaseException as exc:  # reported to the parent, which raises it
        channel.put(ReadEvent(-1, "fatal", error=_describe(exc)))
        raise
    channel.put(None)


def _next_event(channel: Any, process: Any) -> ReadEvent:
    while True:
        try:
            event: ReadEvent | None = channel.get(timeout=1.0)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"import reader process exited with code {process.exitcode}"
                ) from None
            continue
        if event is None:
            raise RuntimeError("import reader process ended before its files")
        if event.log_record is not None:
            record = event.log_record
            logging.getLogger(record.name).handle(record)
            continue
        if event.kind == "fatal":
            raise RuntimeError(f"import reader process failed: {event.error}")
        return event


def _ordered_events(
    readers: Sequence[tuple[Any, Any]], files: int
) -> Iterator[ReadEvent]:
    """Yield the readers' events file by file, as reader ``index % workers``."""
    for index in range(files):
        channel, process = readers[index % len(readers)]
        while True:
            event = _next_event(channel, process)
            yield event
            if event.kind in ("end", "error"):
                break


def _receive(events: Iterator[ReadEvent], ready: Any, stop: threading.Event) -> None:
    """Move ``events`` into ``ready`` until they end, fail or ``stop`` is set."""
    item: ReadEvent | BaseException | None = None
    try:
        for item in events:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        item = None
    except BaseException as exc:  # raised again in the consuming thread
        item = exc
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def read_in_processes(
    files: Sequence[Path], workers: int, *, prices: Mapping[int, float]
) -> Iterator[ReadEvent]:
    """Read the files in ``workers`` spawned processes; yield events in file order.

    Reader ``k`` reads files ``k``, ``k + workers``, ... in turn, so while
    this process consumes one file, the next file's reader works ahead
    until its queue is full. Events come out in file order either way, so
    the result is the same as reading in this process.

    A thread receives and unpickles the events up to
    :data:`RECEIVED_MESSAGES` ahead, so that work overlaps the caller's
    waits on the database.
    """
    workers = max(1, min(workers, len(files)))
    context = multiprocessing.get_context("spawn")
    readers = []
    for first in range(workers):
        channel = context.Queue(maxsize=QUEUE_MESSAGES)
        process = context.Process(
            target=_reader_main,
            args=(
                list(files),
                first,
                workers,
                channel,
                dict(prices),
                logging.getLogger().getEffectiveLevel(),
            ),
            name=f"evedmv-import-reader-{first}",
            daemon=True,
        )
        process.start()
        readers.append((channel, process))
    log.debug("%d reader process(es) started for %d file(s)", workers, len(files))
    ready: queue.Queue[ReadEvent | BaseException | None] = queue.Queue(
        maxsize=RECEIVED_MESSAGES
    )
    stop = threading.Event()
    receiver = threading.Thread(
        target=_receive,
        args=(_ordered_events(readers, len(files)), ready, stop),
        name="evedmv-import-receiver",
        daemon=True,
    )
    receiver.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        for _, process in readers:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
        receiver.join()
        for channel, _ in readers:
            channel.close()

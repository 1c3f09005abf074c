"""Reading input files here or in a reader process.

Decompressing a bzip2 archive costs about as much CPU as parsing and
writing its killmails, so large imports read and decompress in a spawned
process and hand raw documents to the importer through a bounded queue:
one core decompresses while the other parses and COPYs. The queue holds
at most :data:`QUEUE_MESSAGES` messages of :data:`DOCUMENTS_PER_MESSAGE`
documents, which bounds the memory in flight.
"""

from __future__ import annotations

import dataclasses
import logging
import lzma
import multiprocessing
import queue
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from evedmv_tui.ingest.sources import FileReader, InputError, RawDocument

log = logging.getLogger(__name__)

DOCUMENTS_PER_MESSAGE = 500
QUEUE_MESSAGES = 8
_READ_ERRORS = (InputError, OSError, EOFError, zlib.error, lzma.LZMAError)


@dataclasses.dataclass(frozen=True, slots=True)
class ReadEvent:
    """Documents read from one file, its end, or the error that stopped it."""

    file_index: int
    kind: str
    """``documents``, ``end`` or ``error``."""
    documents: Sequence[RawDocument] = ()
    bytes_read: int = 0
    error: str | None = None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def read_file(index: int, path: Path) -> Iterator[ReadEvent]:
    """Yield the documents of one file in chunks, then its end or error."""
    reader = FileReader(path)
    chunk: list[RawDocument] = []
    try:
        for document in reader.documents():
            chunk.append(document)
            if len(chunk) >= DOCUMENTS_PER_MESSAGE:
                yield ReadEvent(index, "documents", chunk, reader.bytes_read)
                chunk = []
    except _READ_ERRORS as exc:
        if chunk:
            yield ReadEvent(index, "documents", chunk, reader.bytes_read)
        yield ReadEvent(index, "error", (), reader.bytes_read, _describe(exc))
        return
    if chunk:
        yield ReadEvent(index, "documents", chunk, reader.bytes_read)
    yield ReadEvent(index, "end", (), reader.bytes_read)


def read_here(files: Sequence[Path]) -> Iterator[ReadEvent]:
    """Read every file in this process."""
    for index, path in enumerate(files):
        yield from read_file(index, path)


def _reader_main(files: Sequence[Path], channel: Any) -> None:
    """Entry point of the reader process."""
    try:
        for index, path in enumerate(files):
            for event in read_file(index, path):
                channel.put(event)
    except BaseException as exc:  # reported to the parent, which raises it
        channel.put(ReadEvent(-1, "fatal", error=_describe(exc)))
        raise
    channel.put(None)


def read_in_process(files: Sequence[Path]) -> Iterator[ReadEvent]:
    """Read every file in a spawned reader process and yield its events."""
    context = multiprocessing.get_context("spawn")
    channel = context.Queue(maxsize=QUEUE_MESSAGES)
    process = context.Process(
        target=_reader_main,
        args=(list(files), channel),
        name="evedmv-import-reader",
        daemon=True,
    )
    process.start()
    log.debug("reader process %s started for %d file(s)", process.pid, len(files))
    try:
        while True:
            try:
                event = channel.get(timeout=1.0)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(
                        f"import reader process exited with code {process.exitcode}"
                    ) from None
                continue
            if event is None:
                break
            if event.kind == "fatal":
                raise RuntimeError(f"import reader process failed: {event.error}")
            yield event
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)
        channel.close()

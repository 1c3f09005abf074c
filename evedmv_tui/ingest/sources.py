"""Streaming readers that turn files, archives and folders into JSON documents.

The container is detected from the content: bzip2, gzip and xz streams by
their magic bytes, tar by the ``ustar`` marker, and JSON text by its first
line (a ``[`` array, one document, or JSON Lines). Names matter in two
places only. A folder contributes the files whose names end in a killmail
format (:func:`is_killmail_name`), and a file named as compressed that does
not start with that compressor's magic bytes is rejected as misnamed
(:class:`MisnamedFile`), with the name to rename it to when it holds JSON
text, a tar archive, or another compressor's stream. Every reader streams,
so memory stays bounded by the largest single document, whatever the size
of the input.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import logging
import lzma
import os
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import msgspec

from evedmv_tui.errors import EvedmvError

log = logging.getLogger(__name__)

WHOLE_ARRAY_LIMIT = 64 * 1024 * 1024
"""Bytes up to which a JSON array file is decoded in one call, not streamed."""
DOCUMENT_LIMIT = 256 * 1024 * 1024
"""Bytes of the largest single document or line read into memory."""
_CHUNK = 1024 * 1024
_BLOCK = 512
AHEAD_INPUT = 256 * 1024
"""Compressed bytes passed to one call of a background decompressor."""
AHEAD_OUTPUT = 2 * 1024 * 1024
"""Decompressed bytes at most returned by one call of a background decompressor."""
AHEAD_CHUNKS = 4
"""Decompressed chunks a background decompressor may hold ready for the reader."""


class Peekable(Protocol):
    """A binary stream that can show bytes ahead without consuming them."""

    def read(self, size: int = -1, /) -> bytes: ...

    def peek(self, size: int, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


class Readable(Protocol):
    """A binary stream."""

    def read(self, size: int = -1, /) -> bytes: ...


class InputError(EvedmvError):
    """An input path that cannot be read as killmail documents."""

    exit_code = 2


class UnclosedArray(InputError):
    """A JSON array whose text ends before its closing ``]``."""

    def __init__(self, size: int) -> None:
        super().__init__(
            "file cut off",
            f"the JSON array ends at byte {size} without its closing ']',"
            " so the file was cut off (an unfinished download or copy) and the"
            " records after the cut are missing",
            "fetch it again, then import it (what is stored already is skipped)",
        )


class UnreadableFile(InputError):
    """A file of which nothing was read, so it is not damaged part way."""


class MisnamedFile(UnreadableFile):
    """A file whose name promises a compressor that its content lacks."""


class NotUtf8File(UnreadableFile):
    """A file of JSON text in UTF-16 or UTF-32, which JSON parsers reject."""


@dataclasses.dataclass(frozen=True, slots=True)
class RawDocument:
    """One JSON document and where it came from."""

    raw: bytes
    source_file: str
    position: str
    """``line 17`` (where the document starts), ``element 3``, or an archive
    member name."""


DOCUMENT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".tar")
"""Name endings of JSON text and tar archives."""
COMPRESSED_SUFFIXES = {".bz2": "bzip2", ".gz": "gzip", ".xz": "xz"}
"""Name endings of compressed files, with the compressor each one names."""
ARCHIVE_SUFFIXES = {".tbz2": "bzip2", ".tbz": "bzip2", ".tgz": "gzip", ".txz": "xz"}
"""Short names of compressed tar archives, with their compressor."""
SKIPPED_NAMES_SHOWN = 20
"""Skipped files named in the warning; the rest are counted."""


def is_killmail_name(name: str) -> bool:
    """Return whether a file name ends in a format the importer reads.

    The formats are JSON (``.json``), JSON Lines (``.jsonl``, ``.ndjson``)
    and tar (``.tar``), each alone or compressed (``.bz2``, ``.gz``,
    ``.xz``), and the short tar names ``.tbz2``, ``.tbz``, ``.tgz`` and
    ``.txz``. Case is ignored.
    """
    lower = name.lower()
    if lower.endswith(tuple(ARCHIVE_SUFFIXES)):
        return True
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            lower = lower.removesuffix(suffix)
            break
    return lower.endswith(DOCUMENT_SUFFIXES)


def _compressor_named(name: str) -> str | None:
    """Return the compressor a file name promises (``bzip2``...), or None."""
    lower = name.lower()
    for suffix, compressor in (*COMPRESSED_SUFFIXES.items(), *ARCHIVE_SUFFIXES.items()):
        if lower.endswith(suffix):
            return compressor
    return None


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Return the files named by ``paths``, walking folders in name order.

    The files are absolute paths, so that rejects and the record of the
    import name them wherever they are listed from. Symbolic links are not
    resolved, so a file keeps the name it was given. A folder contributes
    only the regular files that :func:`is_killmail_name` accepts. Everything
    else it holds is listed in one warning, by reason:
    other names, symbolic links that point nowhere, pipes, sockets and
    devices, and symbolic links to folders, which are not followed. A file
    named directly is always read, whatever its name. Empty files are read
    too, each with a warning, because they contain no killmail.

    Raise :class:`InputError` for a path that does not exist.
    """
    files: list[Path] = []
    skipped = _Skipped()
    for item in paths:
        path = Path(item).absolute()
        if path.is_dir():
            found = _files_under(path, skipped)
            if not found and skipped.empty_of(path):
                log.warning("folder %s contains no files", path)
            for file in sorted(found):
                if is_killmail_name(file.name):
                    files.append(file)
                else:
                    skipped.unmatched.append(file)
        elif path.is_file():
            files.append(path)
        elif path.exists() or str(item) == "-":
            # Files are read in reader processes by default, which cannot open
            # a pipe that only this process holds, such as bash's <(...).
            source = "standard input" if str(item) == "-" else str(path)
            raise InputError(
                "cannot read input",
                f"{source} is a pipe or device, not a file",
                "save what it gives to a file and import that file",
            )
        else:
            raise InputError(
                "input not found",
                f"{path} is not a file or folder",
                "check the path, or list the folder's files",
            )
    skipped.warn()
    for file in files:
        if file.stat().st_size == 0:
            log.warning("file %s is empty: it contains no killmails", file)
        elif is_blank(file):
            log.warning(
                "file %s is empty: it contains only whitespace, so no killmails", file
            )
    return files


def is_blank(path: Path) -> bool:
    """Return whether a file contains only JSON whitespace, once decompressed.

    Reading stops at the first chunk with other characters, which for most
    files is the first. A file that cannot be opened or decompressed counts
    as not blank, because its reader reports why.
    """
    try:
        with path.open("rb") as handle:
            stream = io.BufferedReader(_CountingReader(handle), _CHUNK)
            decompressed = _decompressed(stream)
            reader = stream if decompressed is None else decompressed
            while chunk := reader.read(_CHUNK):
                if chunk.strip(_JSON_WHITESPACE):
                    return False
    except (OSError, EOFError, lzma.LZMAError):
        return False
    return True


@dataclasses.dataclass
class _Skipped:
    """Folder entries that are not read, by reason."""

    unmatched: list[Path] = dataclasses.field(default_factory=list)
    dangling: list[Path] = dataclasses.field(default_factory=list)
    special: list[Path] = dataclasses.field(default_factory=list)
    linked_folders: list[Path] = dataclasses.field(default_factory=list)

    def _reasons(self) -> list[tuple[list[Path], str, str]]:
        return [
            (
                self.unmatched,
                "Names not in a killmail format (.json, .jsonl, .ndjson, .tar,"
                " compressed or not)",
                "Name such a file on the command line to import it anyway.",
            ),
            (
                self.dangling,
                "Symbolic links that point nowhere",
                "Point them at a file or remove them.",
            ),
            (
                self.special,
                "Not regular files (pipes, sockets or devices)",
                "Copy their data into a file to import it.",
            ),
            (
                self.linked_folders,
                "Symbolic links to folders, which are not followed",
                "Name such a folder on the command line to import it.",
            ),
        ]

    def empty_of(self, folder: Path) -> bool:
        """Tell whether nothing under ``folder`` was skipped either."""
        return not any(
            path.is_relative_to(folder)
            for paths, _, _ in self._reasons()
            for path in paths
        )

    def warn(self) -> None:
        """Log one warning that lists every skipped entry, with a hint per reason."""
        reasons = self._reasons()
        count = sum(len(paths) for paths, _, _ in reasons)
        if not count:
            return
        log.warning(
            "skipped %d %s found in folders. %s",
            count,
            "file" if count == 1 else "files",
            " ".join(
                f"{label}: {_listed(sorted(paths))}. {hint}"
                for paths, label, hint in reasons
                if paths
            ),
        )


def _files_under(folder: Path, skipped: _Skipped) -> list[Path]:
    """Return the regular files under ``folder``, adding the rest to ``skipped``.

    Raise :class:`InputError` for a folder that cannot be listed, which
    ``Path.rglob`` would skip without a word.
    """
    unreadable: list[OSError] = []
    files: list[Path] = []
    for root, folders, names in os.walk(folder, onerror=unreadable.append):
        for name in folders:
            path = Path(root, name)
            if path.is_symlink():
                skipped.linked_folders.append(path)
        for path in (Path(root, name) for name in names):
            if path.is_file():
                files.append(path)
            elif path.is_symlink() and not path.exists():
                skipped.dangling.append(path)
            else:
                skipped.special.append(path)
    if unreadable:
        error = unreadable[0]
        more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
        raise InputError(
            "cannot read folder",
            f"{error.filename}: {error.strerror or error}{more}",
            "give the user running evedmv read and execute permission on it,"
            " or leave it out",
        )
    return files


def _listed(paths: list[Path]) -> str:
    """Return the first :data:`SKIPPED_NAMES_SHOWN` paths, then how many more."""
    listed = ", ".join(str(path) for path in paths[:SKIPPED_NAMES_SHOWN])
    more = len(paths) - SKIPPED_NAMES_SHOWN
    if more > 0:
        listed += f" and {more} more"
    return listed


class _CountingReader(io.RawIOBase):
    """A read-only wrapper that counts the bytes taken from a file."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._handle.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move to ``offset`` and set :attr:`count` to it."""
        self.count = self._handle.seek(offset, whence)
        return self.count

    def tell(self) -> int:
        return self._handle.tell()


class _Seekable(Readable, Protocol):
    """A binary stream that can be read again from an earlier offset."""

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int: ...


class _Decompressor(Protocol):
    """The interface shared by ``bz2.BZ2Decompressor`` and ``lzma.LZMADecompressor``."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


_End = object()
"""Queue item that marks the end of the decompressed data."""


class _AheadReader(io.RawIOBase):
    """Decompress a bzip2 or xz stream in a background thread, ahead of the reader.

    The bz2 and lzma modules release the GIL while they decompress, so the
    thread runs on another core while the reading thread parses. Each call
    decompresses :data:`AHEAD_INPUT` compressed bytes. ``BZ2File`` passes
    8 KiB per call, about 3 ms of bzip2 work (an estimate from the EVE Ref
    archives' rate), and then the thread would wait for the GIL, up to the
    5 ms switch interval, after each call.

    A call that meets damaged data raises and returns none of the output it
    decoded before the damage, up to :data:`AHEAD_INPUT` compressed bytes'
    worth. So after such an error the stream is decompressed again from its
    start, one byte at a time from the last point all input was accepted
    (:meth:`_recover`). For bzip2 that hands out every block that passes its
    CRC check before the damage, and :attr:`consumed` becomes the offset of
    the byte where decompressing failed. This costs up to a second
    decompression of the stream, on the error path only.

    NOTE: xz checks its data only at the end of a block, so the output
    decoded from damaged xz data before the error shows is handed out, as
    ``LZMAFile`` hands it out.

    Concatenated streams and the end of data follow ``BZ2File`` and
    ``LZMAFile``: data after the last stream that does not decompress is
    ignored, and a stream cut short raises ``EOFError``. Unlike those, data
    after a stream that starts to decompress and then fails is reported as
    damaged, not ignored.
    """

    def __init__(
        self,
        source: _Seekable,
        factory: Callable[[], _Decompressor],
        data_error: type[Exception],
    ) -> None:
        self._source = source
        self._factory = factory
        self._data_error = data_error
        self._chunks: queue.Queue[object] = queue.Queue(maxsize=AHEAD_CHUNKS)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._done = False
        self._failed_at: int | None = None
        self.consumed = 0
        """Compressed bytes that produced the data handed to the reader so far.

        After damaged data was met, the offset of the compressed byte where
        decompressing failed.
        """
        self._thread = threading.Thread(
            target=self._run, name="evedmv-decompress", daemon=True
        )
        self._thread.start()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._current:
            if self._done:
                return 0
            item = self._chunks.get()
            if item is _End:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                if self._failed_at is not None:
                    self.consumed = self._failed_at
                raise item
            assert isinstance(item, tuple)
            chunk, self.consumed = item
            self._current = memoryview(chunk)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        super().close()

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless the reader stopped; return whether it went."""
        while not self._stop.is_set():
            try:
                self._chunks.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _run(self) -> None:
        try:
            for item in self._decompress():
                if not self._put(item):
                    return
        except Exception as exc:  # raised again in the reading thread
            self._put(exc)
            return
        self._put(_End)

    def _decompress(self) -> Iterator[tuple[bytes, int]]:
        """Yield each decompressed chunk with the compressed bytes read so far.

        Each chunk is held back until the next call succeeds. bzip2 checks a
        block's CRC only once the block's output is complete, and a call that
        stops at :data:`AHEAD_OUTPUT` bytes may end inside a damaged block.
        """
        decompressor = self._factory()
        fed = 0
        stream_start = 0
        # The offset up to which the decompressor took all input without
        # error, and the decompressed bytes of the current stream yielded.
        accepted = 0
        produced = 0
        unconfirmed: tuple[bytes, int] | None = None
        while True:
            if decompressor.eof:
                if unconfirmed is not None:
                    yield unconfirmed
                    unconfirmed = None
                data = decompressor.unused_data
                if not data:
                    data = self._source.read(AHEAD_INPUT)
                    fed += len(data)
                if not data:
                    return
                stream_start = accepted = fed - len(data)
                produced = 0
                decompressor = self._factory()
                try:
                    chunk = decompressor.decompress(data, AHEAD_OUTPUT)
                except self._data_error:
                    if (yield from self._recover(stream_start, accepted, 0)):
                        raise
                    # Trailing data that is not a stream, which BZ2File ignores too.
                    return
            else:
                data = b""
                if decompressor.needs_input:
                    data = self._source.read(AHEAD_INPUT)
                    fed += len(data)
                ended = decompressor.needs_input and not data
                try:
                    # With no input left, this passes out output still held
                    # inside the decompressor.
                    chunk = decompressor.decompress(data, AHEAD_OUTPUT)
                except self._data_error:
                    yield from self._recover(stream_start, accepted, produced)
                    raise
                if ended and not chunk and not decompressor.eof:
                    if unconfirmed is not None:
                        yield unconfirmed
                    raise EOFError(
                        "Compressed file ended before the end-of-stream"
                        " marker was reached"
                    )
            if decompressor.needs_input or decompressor.eof:
                accepted = fed - len(decompressor.unused_data)
            if unconfirmed is not None:
                produced += len(unconfirmed[0])
                yield unconfirmed
            unconfirmed = (chunk, fed) if chunk else None

    def _recover(
        self, start: int, accepted: int, produced: int
    ) -> Generator[tuple[bytes, int], None, bool]:
        """Yield the output of a damaged stream that the failed call lost.

        Decompress the stream at offset ``start`` again with a new
        decompressor, in :data:`AHEAD_INPUT` pieces up to ``accepted`` and
        one byte at a time after it, skipping the ``produced`` bytes already
        yielded. The output of a piece is yielded only once the decompressor
        returns no more for it. bzip2 checks a block's CRC when its output is
        complete, so the output of the block that fails is held back and
        dropped. Return whether any output was yielded, and set
        :attr:`_failed_at` to the offset where decompressing failed.
        """
        self._source.seek(start)
        decompressor = self._factory()
        position = start
        skip = produced
        recovered = False
        while not decompressor.eof:
            size = accepted - position if position < accepted else 1
            data = self._source.read(min(size, AHEAD_INPUT))
            if not data:
                break
            position += len(data)
            pending: list[bytes] = []
            try:
                chunk = decompressor.decompress(data, AHEAD_OUTPUT)
                while chunk:
                    if skip >= len(chunk):
                        skip -= len(chunk)
                    else:
                        pending.append(chunk[skip:])
                        skip = 0
                    if decompressor.eof:
                        break
                    chunk = decompressor.decompress(b"", AHEAD_OUTPUT)
            except self._data_error:
                self._failed_at = position - len(data)
                return recovered
            if pending:
                recovered = True
                yield b"".join(pending), position
        self._failed_at = position
        return recovered


def _signature_compressor(head: bytes) -> str | None:
    """Return the compressor whose signature ``head`` starts with, or None."""
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return None


def _decompressed(
    stream: io.BufferedReader[_CountingReader], *, ahead: bool = False
) -> (
    io.BufferedReader[_AheadReader] | bz2.BZ2File | gzip.GzipFile | lzma.LZMAFile | None
):
    """Return a decompressing reader if ``stream`` starts with a known magic.

    With ``ahead``, bzip2 and xz are decompressed in a background thread.
    """
    head = stream.peek(6)[:6]
    if head.startswith(b"BZh"):
        if ahead:
            reader = _AheadReader(stream, bz2.BZ2Decompressor, OSError)
            return io.BufferedReader(reader, _CHUNK)
        return bz2.BZ2File(stream)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=stream)
    if head.startswith(b"\xfd7zXZ\x00"):
        if ahead:
            reader = _AheadReader(stream, lzma.LZMADecompressor, lzma.LZMAError)
            return io.BufferedReader(reader, _CHUNK)
        return lzma.LZMAFile(stream)
    return None


def _is_tar(head: bytes) -> bool:
    return len(head) >= 263 and head[257:262] == b"ustar"


class FileReader:
    """Read one input file as a stream of :class:`RawDocument`.

    With ``decompress_ahead``, a bzip2 or xz file is decompressed in a
    background thread while the caller handles the documents, so reading
    takes up to two cores. Then :attr:`bytes_read` counts the compressed
    bytes behind the data handed to the reader, not those the thread took
    ahead, so it runs ahead of the documents by at most the input of one
    decompressed chunk and one read buffer (about 3 MB once decompressed).
    """

    def __init__(self, path: Path, *, decompress_ahead: bool = False) -> None:
        self.path = path
        self.name = str(path)
        self.size = path.stat().st_size
        self.decompress_ahead = decompress_ahead
        self._counter: _CountingReader | None = None
        self._ahead: _AheadReader | None = None
        self._nothing_read = False

    @property
    def bytes_read(self) -> int:
        """Bytes of the file consumed so far (compressed bytes for archives).

        A file of which nothing was read (:class:`UnreadableFile`) counts as
        0 bytes, although its start was read to check its signature or
        encoding.
        """
        if self._nothing_read:
            return 0
        if self._ahead is not None:
            return self._ahead.consumed
        return 0 if self._counter is None else self._counter.count

    def documents(self) -> Iterator[RawDocument]:
        """Yield every document of the file in order."""
        try:
            yield from self._read_documents()
        except UnreadableFile:
            self._nothing_read = True
            raise

    def _read_documents(self) -> Iterator[RawDocument]:
        with self.path.open("rb") as handle:
            self._counter = _CountingReader(handle)
            stream = io.BufferedReader(self._counter, _CHUNK)
            self._check_compressor(stream)
            decompressed = _decompressed(stream, ahead=self.decompress_ahead)
            if isinstance(decompressed, io.BufferedReader):
                self._ahead = decompressed.raw
            if decompressed is None:
                self._check_not_compressed(stream)
                yield from self._container(stream, whole_size=self.size)
            else:
                with decompressed:
                    yield from self._container(decompressed, whole_size=None)

    def _check_compressor(self, stream: Peekable) -> None:
        """Raise MisnamedFile when the name promises another compressor.

        Such a file is rejected, not read with the compressor its signature
        shows, so that a name never hides what a file contains.
        """
        named = _compressor_named(self.path.name)
        found = _signature_compressor(stream.peek(6)[:6])
        if named is None or found is None or found == named:
            return
        new_name = _renamed_compressed(self.path.name, found)
        raise MisnamedFile(
            "misnamed file",
            f"{self.name} is not a {named} archive but a {found} archive,"
            f" although its name ends in a {named} suffix",
            f"rename it to {new_name} and import it again",
        )

    def _check_not_compressed(self, stream: Peekable) -> None:
        """Raise MisnamedFile when the name promises compression the bytes lack."""
        compressor = _compressor_named(self.path.name)
        if compressor is None:
            return
        head = stream.peek(_BLOCK)[:_BLOCK]
        if not head:
            # An empty file: expand_paths() already warned about it.
            return
        found = _content_kind(head)
        if found is None:
            raise MisnamedFile(
                "broken archive",
                f"{self.name} is not a {compressor} archive: its name ends in a"
                f" {compressor} suffix, but it does not start with the"
                f" {compressor} signature",
                "check the download and fetch the archive again",
            )
        kind, suffix = found
        new_name = _renamed(self.path.name, suffix)
        raise MisnamedFile(
            "misnamed file",
            f"{self.name} is not a {compressor} archive but {kind}, although"
            f" its name ends in a {compressor} suffix",
            f"rename it to {new_name} and import it again",
        )

    def _container(
        self, stream: Peekable, *, whole_size: int | None
    ) -> Iterator[RawDocument]:
        if _is_tar(stream.peek(_BLOCK)[:_BLOCK]):
            for member, data in iter_tar(stream, self.name):
                if data.count(b"\n", 0, len(data) - 1) == 0:
                    # One JSON document per member, as in EVE Ref archives.
                    yield RawDocument(data, self.name, member)
                    continue
                yield from json_documents(
                    io.BufferedReader(io.BytesIO(data)),
                    self.name,
                    prefix=member,
                    whole_size=len(data),
                )
            return
        yield from json_documents(stream, self.name, prefix="", whole_size=whole_size)


def _content_kind(head: bytes) -> tuple[str, str] | None:
    """Return what an uncompressed file starting with ``head`` is, and its suffix.

    Return None for content other than a tar archive or JSON text. A file
    in a compressor that the reader opens never gets here, whatever its
    name, because the reader detects the compressor from its signature.
    """
    if _is_tar(head):
        return "an uncompressed tar archive", ".tar"
    text = head.removeprefix(UTF8_BOM).lstrip()
    if text[:1] in (b"{", b"["):
        return "plain JSON text", ".json"
    return None


_TAR_SUFFIX_OF = {"bzip2": ".tbz2", "gzip": ".tgz", "xz": ".txz"}


def _renamed_compressed(name: str, compressor: str) -> str:
    """Return ``name`` with its compressor suffix replaced by ``compressor``'s.

    ``a.json.gz`` becomes ``a.json.bz2`` for bzip2, and ``a.tgz`` becomes
    ``a.tbz2``; the case of the rest of the name is kept.
    """
    lower = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)] + _TAR_SUFFIX_OF[compressor]
    right = {named: suffix for suffix, named in COMPRESSED_SUFFIXES.items()}
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)] + right[compressor]
    return name


def _renamed(name: str, suffix: str) -> str:
    """Return ``name`` without its compressor suffix, ending in ``suffix``.

    The old suffix is dropped (``a.json.gz`` to ``a.json``, ``a.tgz`` to
    ``a.tar``), and ``suffix`` replaces a ``.tar`` left over or is added,
    unless the rest of the name already ends in a name of that format.
    """
    lower = name.lower()
    stem = name
    for old in (*COMPRESSED_SUFFIXES, *ARCHIVE_SUFFIXES):
        if lower.endswith(old):
            stem = name[: -len(old)]
            break
    readable = (".tar",) if suffix == ".tar" else (".json", ".jsonl", ".ndjson")
    if stem.lower().endswith(readable):
        return stem
    if stem.lower().endswith(".tar"):
        stem = stem[: -len(".tar")]
    return stem + suffix


def _octal(field: bytes, archive: str, offset: int) -> int:
    if field and field[0] & 0x80:
        # GNU base-256 encoding for sizes of 8 GiB and more.
        return int.from_bytes(field[1:], "big")
    text = field.rstrip(b"\x00 ").strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise InputError(
            "corrupt tar archive",
            f"{archive}: header at byte {offset} has size field {text!r}",
            "check the download; re-fetch the archive",
        ) from None


def _pax_path(data: bytes) -> str | None:
    for record in data.split(b"\n"):
        _, _, entry = record.partition(b" ")
        if entry.startswith(b"path="):
            return entry[5:].decode("utf-8", errors="replace")
    return None


def iter_tar(stream: Peekable, archive: str) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, data)`` of each regular file in a tar stream.

    A small reader of ustar, GNU long names and pax paths instead of
    :mod:`tarfile`: on EVE Ref's 17,000-member day archives it spends a
    tenth of the time that ``tarfile.open(mode="r|")`` spends on headers.
    """
    offset = 0
    long_name: str | None = None
    while True:
        header = stream.read(_BLOCK)
        if len(header) < _BLOCK or header == b"\x00" * _BLOCK:
            return
        if sum(header[:148]) + 256 + sum(header[156:]) != _octal(
            header[148:156], archive, offset
        ):
            raise InputError(
                "corrupt tar archive",
                f"{archive}: bad header checksum at byte {offset}",
                "check the download; re-fetch the archive",
            )
        size = _octal(header[124:136], archive, offset)
        kind = header[156:157]
        padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
        data = stream.read(padded)
        if len(data) < padded:
            raise InputError(
                "truncated tar archive",
                f"{archive}: member at byte {offset} ends early",
                "check the download; re-fetch the archive",
            )
        offset += _BLOCK + padded
        data = data[:size]
        if kind == b"L":
            long_name = data.rstrip(b"\x00").decode("utf-8", errors="replace")
            continue
        if kind == b"x":
            long_name = _pax_path(data) or long_name
            continue
        if kind not in (b"0", b"\x00", b"7"):
            long_name = None
            continue
        name = long_name
        if name is None:
            name = header[:100].rstrip(b"\x00").decode("utf-8", errors="replace")
            prefix = header[345:500].rstrip(b"\x00")
            if header[257:263] == b"ustar\x00" and prefix:
                name = prefix.decode("utf-8", errors="replace") + "/" + name
        long_name = None
        yield name, data


UTF8_BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark."""
_JSON_WHITESPACE = b" \t\r\n"
_OTHER_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)
"""Byte order marks of the UTF-16 and UTF-32 encodings, longest first."""
_JSON_START = frozenset(b"\t\n\r" + bytes(range(0x20, 0x7F)))
"""Bytes a JSON text may start with: whitespace and printable ASCII."""


def other_encoding(head: bytes) -> str | None:
    """Return the encoding of JSON text in UTF-16 or UTF-32, or None.

    The name is one that iconv accepts. Without a byte order mark, the NUL
    bytes around the first character tell the encoding and byte order,
    because JSON text starts with a printable ASCII character or
    whitespace. So a binary file with NULs in that pattern around a control
    byte is not taken for text.
    """
    for bom, encoding in _OTHER_BOMS:
        if head.startswith(bom):
            return encoding
    if len(head) < 4:
        return None
    nuls = tuple(byte == 0 for byte in head[:4])
    if nuls == (True, True, True, False):
        encoding, first = "UTF-32BE", head[3]
    elif nuls == (False, True, True, True):
        encoding, first = "UTF-32LE", head[0]
    elif nuls[:2] == (True, False):
        encoding, first = "UTF-16BE", head[1]
    elif nuls[:2] == (False, True):
        encoding, first = "UTF-16LE", head[0]
    else:
        return None
    return encoding if first in _JSON_START else None


def _check_utf8(stream: Peekable, source_file: str, prefix: str) -> None:
    """Raise :class:`InputError` for JSON text in UTF-16 or UTF-32.

    The error is a :class:`NotUtf8File` for the file itself, of which
    nothing was read, and a plain :class:`InputError` for an archive
    member, which stops reading the archive part way.
    """
    encoding = other_encoding(stream.peek(4)[:4])
    if encoding is None:
        return
    where = f"{source_file}: {prefix}" if prefix else source_file
    error = InputError if prefix else NotUtf8File
    raise error(
        "file not UTF-8",
        f"{where} is {encoding} text, but JSON files must be UTF-8",
        f"convert it with iconv -f {encoding} -t UTF-8 FILE > NEW.json and"
        " import the new file",
    )


def _first_line(stream: Peekable) -> bytes:
    """Return the first non-blank line within the first megabyte, stripped."""
    head = stream.peek(_CHUNK).lstrip()
    end = head.find(b"\n")
    return (head if end < 0 else head[:end]).strip()


def json_documents(
    stream: Peekable,
    source_file: str,
    *,
    prefix: str,
    whole_size: int | None,
) -> Iterator[RawDocument]:
    """Yield the documents of JSON text: an array, one document, or JSON Lines."""
    where = f"{prefix} " if prefix else ""
    if stream.peek(len(UTF8_BOM))[: len(UTF8_BOM)] == UTF8_BOM:
        # Editors on Windows start UTF-8 text with a byte order mark, which
        # JSON parsers reject as a character outside any value.
        stream.read(len(UTF8_BOM))
        whole_size = None if whole_size is None else whole_size - len(UTF8_BOM)
    _check_utf8(stream, source_file, prefix)
    first = _first_line(stream)
    if first.startswith(b"["):
        if whole_size is not None and whole_size <= WHOLE_ARRAY_LIMIT:
            yield from _whole_array(stream.read(), source_file, where)
        else:
            for index, element in enumerate(iter_array(stream)):
                yield RawDocument(element, source_file, f"{where}element {index}")
        return
    if first == b"{" or not first.startswith(b"{"):
        # A pretty-printed document, or text that is not JSON Lines at all.
        # It is named by the line it starts on, as a JSON Lines record is,
        # so that one file's rejects read alike in either layout.
        head = stream.peek(_CHUNK)
        start = head[: len(head) - len(head.lstrip())].count(b"\n") + 1
        data = stream.read(DOCUMENT_LIMIT + 1)
        _check_size(data, source_file, prefix or "the document")
        if data.strip():
            yield RawDocument(data, source_file, prefix or f"line {start}")
        return
    for number, line in enumerate(iter(_line_reader(stream), b""), start=1):
        _check_size(line, source_file, f"{where}line {number}")
        if line.strip():
            yield RawDocument(
                line.rstrip(b"\r\n"), source_file, f"{where}line {number}"
            )


def _line_reader(stream: Peekable) -> Callable[[], bytes]:
    return lambda: stream.readline(DOCUMENT_LIMIT + 1)


def _check_size(data: bytes, source_file: str, what: str) -> None:
    if len(data) > DOCUMENT_LIMIT:
        raise InputError(
            "document too large",
            f"{source_file}: {what} is larger than {DOCUMENT_LIMIT // 2**20} MiB",
            "split it into JSON Lines (one killmail per line) or a JSON array",
        )


def _whole_array(data: bytes, source_file: str, where: str) -> Iterator[RawDocument]:
    try:
        elements = msgspec.json.decode(data, type=list[msgspec.Raw])
    except (msgspec.MsgspecError, RecursionError):
        # Malformed somewhere: the streaming splitter keeps the good elements.
        yield from (
            RawDocument(element, source_file, f"{where}element {index}")
            for index, element in enumerate(iter_array(io.BytesIO(data)))
        )
        return
    for index, element in enumerate(elements):
        yield RawDocument(bytes(element), source_file, f"{where}element {index}")


_TOKENS = re.compile(rb'[\[\]{}",\\]')
_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))


def iter_array(stream: Readable) -> Iterator[bytes]:
    """Yield the raw text of each element of a top-level JSON array.

    Tracks only nesting and strings, so a malformed element is yielded as
    it is (for the parser to reject) and the elements after it survive as
    long as its brackets balance. Text after the array is yielded as one
    more element, so it is rejected rather than ignored.

    Raises :class:`UnclosedArray` after the last element when the text ends
    before the closing ``]``, unless that element itself ends inside a value
    and so is rejected as cut off.
    """
    buffer = b""
    depth = 0
    in_string = False
    skip = -1  # index of a character escaped by a backslash
    start = -1  # index where the current element starts; -1 before "["
    scan = 0
    size = 0
    while chunk := stream.read(_CHUNK):
        buffer += chunk
        size += len(chunk)
        for match in _TOKENS.finditer(buffer, scan):
            position = match.start()
            if position == skip:
                continue
            char = buffer[position]
            if in_string:
                if char == _BACKSLASH:
                    skip = position + 1
                elif char == _QUOTE:
                    in_string = False
            elif char == _QUOTE:
                in_string = True
            elif char in _OPEN:
                if start < 0:
                    start = position + 1
                else:
                    depth += 1
            elif char in _CLOSE and depth > 0:
                depth -= 1
            elif char in _CLOSE and start >= 0:
                element = buffer[start:position].strip()
                if element:
                    yield element
                trailing = (buffer[position + 1 :] + stream.read()).strip()
                if trailing:
                    yield trailing
                return
            elif char == _COMMA and depth == 0 and start >= 0:
                element = buffer[start:position].strip()
                if element:
                    yield element
                start = position + 1
        # Keep only the unfinished element, so memory stays bounded.
        cut = start if start >= 0 else len(buffer)
        buffer = buffer[cut:]
        skip -= cut
        if start >= 0:
            start = 0
        scan = len(buffer)
    if start < 0:
        return
    rest = buffer[start:].strip()
    if rest:
        yield rest
    if not (rest and _ends_inside_value(rest)):
        raise UnclosedArray(size)


def _ends_inside_value(text: bytes) -> bool:
    """Return whether ``text`` is JSON cut off inside a value."""
    try:
        msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        return str(exc) == "Input data was truncated"
    return False

"""Import item prices from an ESI ``GET /markets/prices/`` response.

The response is a JSON array of ``{"type_id", "average_price"?,
"adjusted_price"?}``; ESI leaves ``average_price`` out for types without
market history and reports ``adjusted_price`` 0 for many of them. Rows are upserted
into ``prices``; a type missing from a newer response keeps its old price.
After the import every killmail without zkb values is valued again from
the new prices (see :mod:`evedmv_tui.valuation`).
"""

from __future__ import annotations

import bz2
import dataclasses
import logging
import lzma
import shlex
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from evedmv_tui.errors import EvedmvError
from evedmv_tui.ingest.shapes import Shape, classify, explain_decode_error
from evedmv_tui.ingest.sources import UTF8_BOM, other_encoding
from evedmv_tui.killmails import MAX_ISK, normalize_hash
from evedmv_tui.store.db import Database, NamedSql, load_sql
from evedmv_tui.store.telemetry import operation
from evedmv_tui.valuation import revalue_all

log = logging.getLogger(__name__)


class PriceError(EvedmvError):
    """The price file is missing or is not an ESI ``/markets/prices/`` response."""


class MarketPrice(msgspec.Struct, frozen=True):
    """One row of ESI's ``/markets/prices/`` response."""

    type_id: int
    average_price: float | None = None
    adjusted_price: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PriceReject:
    """A record of a price file that was not stored, and why."""

    position: str
    """``record N`` (1-based), with the record's type id where it has one."""
    field: str | None
    """The JSON path of the invalid field, such as ``$.type_id``, as the
    rejects of killmails store it."""
    reason: str
    raw: str
    """The record's JSON text, as written in the file."""

    def describe(self) -> str:
        """Return ``record N[, field F]: reason``, naming the field once."""
        name = "" if self.field is None else self.field.removeprefix("$")
        name = name.removeprefix(".")
        if not name or self.reason.startswith(name):
            return f"{self.position}: {self.reason}"
        return f"{self.position}, field {name}: {self.reason}"


@dataclasses.dataclass(frozen=True, slots=True)
class PriceSummary:
    path: str
    read: int
    """Records in the file, rejected ones included."""
    inserted: int
    updated: int
    revalued: int
    """Killmails without zkb values whose values changed."""
    rejects: tuple[PriceReject, ...] = ()
    """Records that were not stored; they are kept in ``rejects``."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


STAGE = NamedSql(
    "prices.stage",
    "CREATE TEMP TABLE prices_stage"
    " (type_id bigint, average_price double precision,"
    " adjusted_price double precision) ON COMMIT DROP",
)
COPY = "COPY prices_stage (type_id, average_price, adjusted_price) FROM STDIN"
MERGE = NamedSql(
    "prices.merge",
    """
WITH merged AS (
    INSERT INTO prices (type_id, average_price, adjusted_price, fetched_at)
    SELECT type_id, average_price, adjusted_price, now() FROM prices_stage
    ON CONFLICT (type_id) DO UPDATE
    SET average_price = EXCLUDED.average_price,
        adjusted_price = EXCLUDED.adjusted_price,
        fetched_at = EXCLUDED.fetched_at
    WHERE (prices.average_price, prices.adjusted_price)
          IS DISTINCT FROM (EXCLUDED.average_price, EXCLUDED.adjusted_price)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
FROM merged
""",
)


INSERT_REJECTS = load_sql("evedmv_tui.ingest", "insert_rejects")

MAX_TYPE_ID = 2**63 - 1
"""The largest type id that the ``prices`` table's bigint column can store."""


def _type_id_of(raw: bytes) -> int | None:
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    type_id = value.get("type_id") if isinstance(value, dict) else None
    return (
        type_id if isinstance(type_id, int) and not isinstance(type_id, bool) else None
    )


def _check_record(index: int, raw: bytes) -> MarketPrice | PriceReject:
    """Decode one record, or return why it cannot go into the ``prices`` table.

    A type id outside bigint fails in the database. A price above
    :data:`~evedmv_tui.killmails.MAX_ISK` would swamp or overflow every
    killmail value it enters.
    """
    text = raw.decode("utf-8", "replace")
    try:
        row = msgspec.json.decode(raw, type=MarketPrice)
    except msgspec.ValidationError as exc:
        type_id = _type_id_of(raw)
        position = f"record {index + 1}"
        if type_id is not None:
            position += f" (type_id {type_id})"
        path, reason = explain_decode_error(exc, raw)
        return PriceReject(position, path, reason, text)
    if not 1 <= row.type_id <= MAX_TYPE_ID:
        return PriceReject(
            f"record {index + 1}",
            "$.type_id",
            f"type_id is {row.type_id}, expected a positive bigint"
            f" (1 to {MAX_TYPE_ID})",
            text,
        )
    for field in ("average_price", "adjusted_price"):
        value = getattr(row, field)
        if value is not None and not (0 <= value <= MAX_ISK):
            return PriceReject(
                f"record {index + 1} (type_id {row.type_id})",
                f"$.{field}",
                f"{field} is {value}, expected a finite number of ISK"
                f" from 0 to {MAX_ISK:.0e}",
                text,
            )
    return row


_EXPECTED = (
    "expected ESI's /markets/prices/ response: a JSON array of objects"
    " with type_id, average_price and adjusted_price"
)

_ARCHIVE_MAGIC = (
    (b"PK\x03\x04", "a zip archive", "unzip it"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it with gunzip"),
    (b"BZh", "bzip2-compressed", "decompress it with bunzip2"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it with unxz"),
)
"""File signatures of compressed files: what the file is, and how to open it."""


SDE_FILES = frozenset({"_sde.jsonl", "mapSolarSystems.jsonl", "types.jsonl"})
"""Files of CCP's JSON Lines SDE zip that tell it apart from other zips."""
PEEK_SIZE = 1024 * 1024
"""Decompressed bytes of a compressed file read to tell what it contains."""


def _is_hash(value: object) -> bool:
    try:
        normalize_hash(value)
    except ValueError:
        return False
    return True


def _other_data(document: object, path: Path) -> tuple[str, str] | None:
    """Return what a JSON document is and the command that imports it.

    Return None unless the document is known data other than prices:
    killmail documents of any shape the killmail importer reads, or a
    record of CCP's JSON Lines static data export.
    """
    if not isinstance(document, dict):
        return None
    if "_key" in document:
        # The SDE importer reads the folder of CCP's files, not one file.
        folder = shlex.quote(str(path.parent))
        return "static data (CCP's JSON Lines SDE)", f"evedmv sde import {folder}"
    quoted = shlex.quote(str(path))
    shape = classify(document)
    if shape is Shape.UNKNOWN:
        return None
    if shape is Shape.ZKB_HISTORY and not any(map(_is_hash, document.values())):
        # Labels or names keyed by killmail id: no data evedmv imports.
        return None
    return f"killmail documents ({shape.value})", f"evedmv import {quoted}"


def _not_price_data(path: Path, found: str, command: str) -> PriceError:
    return PriceError(
        "not a price file",
        f"{path} contains {found}, not prices",
        f"import it with '{command}'; prices come from ESI's GET"
        " /markets/prices/, a JSON array of objects with type_id,"
        " average_price and adjusted_price",
    )


def _first_document(text: bytes) -> object:
    """Return the first JSON document of ``text``, or None when it has none.

    The document is the whole text, its first line, or the first element
    of an array that starts with ``[{``.
    """
    text = text.strip()
    candidates = [text, text.split(b"\n", 1)[0]]
    if text.startswith(b"["):
        candidates.append(text[1:].lstrip().split(b"\n", 1)[0].rstrip(b", "))
    for candidate in candidates:
        try:
            return msgspec.json.decode(candidate)
        except (msgspec.DecodeError, RecursionError):
            continue
    return None


def _peek_compressed(data: bytes) -> bytes:
    """Return up to :data:`PEEK_SIZE` bytes of the file's decompressed start.

    Return the first member's start for a tar archive, and nothing when the
    data is not bzip2, gzip or xz, or is damaged.
    """
    decompressor: bz2.BZ2Decompressor | lzma.LZMADecompressor | zlib._Decompress
    if data.startswith(b"BZh"):
        decompressor = bz2.BZ2Decompressor()
    elif data.startswith(b"\xfd7zXZ\x00"):
        decompressor = lzma.LZMADecompressor()
    elif data.startswith(b"\x1f\x8b"):
        decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    else:
        return b""
    try:
        head = decompressor.decompress(data, PEEK_SIZE)
    except (OSError, EOFError, lzma.LZMAError, zlib.error):
        return b""
    if len(head) >= 512 and head[257:262] == b"ustar":
        size_field = head[124:136].rstrip(b"\x00 ").strip()
        try:
            size = int(size_field, 8)
        except ValueError:
            return b""
        return head[512 : 512 + size]
    return head


def _archive_contents(path: Path, data: bytes) -> PriceError | None:
    """Return the error for an archive of killmails or static data, else None."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = {Path(name).name for name in archive.namelist()}
        except (zipfile.BadZipFile, OSError):
            return None
        if names & SDE_FILES:
            quoted = shlex.quote(str(path))
            return _not_price_data(
                path,
                "static data (CCP's JSON Lines SDE)",
                f"evedmv sde import {quoted}",
            )
        return None
    other = _other_data(_first_document(_peek_compressed(data)), path)
    return None if other is None else _not_price_data(path, *other)


def _invalid_json(path: Path, data: bytes, exc: msgspec.DecodeError) -> PriceError:
    """Return why ``data`` is not JSON: empty, another format, cut off or damaged."""
    if not data.strip():
        return PriceError(
            "empty price file",
            f"{path} is empty",
            "save the body of ESI's GET /markets/prices/ to the file and import"
            " it again",
        )
    for magic, kind, action in _ARCHIVE_MAGIC:
        if data.startswith(magic):
            contents = _archive_contents(path, data)
            if contents is not None:
                return contents
            return PriceError(
                "price file not JSON",
                f"{path} is {kind}, not JSON text",
                f"{action} and import the JSON file inside",
            )
    if data.lstrip()[:1] not in (b"[", b"{"):
        start = data.lstrip()[:20].decode("utf-8", "replace")
        return PriceError(
            "price file not JSON",
            f"{path} is not JSON: it starts with {start!r}",
            _EXPECTED,
        )
    if _json_lines(data):
        other = _other_data(_first_document(data), path)
        if other is not None:
            return _not_price_data(path, *other)
        return PriceError(
            "price file is JSON Lines",
            f"{path} contains one JSON document per line (JSON Lines), but ESI's"
            " response is one JSON array",
            "import the response as ESI sends it, or join the lines into an"
            " array: jq -s . FILE > prices.json",
        )
    # msgspec reports JSON text that ends inside a value as "Input data was
    # truncated".
    if "truncated" in str(exc):
        return PriceError(
            "invalid price file",
            f"{path}: not complete JSON, because the text ends inside a value,"
            " so the file was cut off (an unfinished download or copy)",
            "fetch the response again",
        )
    return PriceError(
        "invalid price file",
        f"{path}: not valid JSON ({exc})",
        "the file is damaged or was edited by hand; fetch the response again",
    )


def _json_lines(data: bytes) -> bool:
    """Return whether the text is two or more JSON documents, one per line."""
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        for line in lines[:2]:
            msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return True


def _wrong_shape(path: Path, data: bytes, exc: msgspec.ValidationError) -> PriceError:
    """Return the error for valid JSON that is not an array of records."""
    document = msgspec.json.decode(data)
    other = _other_data(document, path)
    if other is not None:
        return _not_price_data(path, *other)
    if isinstance(document, dict):
        found = "a JSON object"
        keys = ", ".join(list(document)[:5])
        if keys:
            found += f" with the keys {keys}"
    elif isinstance(document, str):
        found = "a JSON string"
    elif isinstance(document, bool) or document is None:
        found = f"the JSON value {data.strip()[:10].decode('utf-8', 'replace')}"
    elif isinstance(document, int | float):
        found = "a JSON number"
    else:
        found = f"JSON of another shape ({exc})"
    return PriceError(
        "not a price file",
        f"{path} is {found}, not an array of price records",
        f"{_EXPECTED}; nothing was imported",
    )


def read_prices(path: Path) -> tuple[list[MarketPrice], list[PriceReject]]:
    """Decode and check an ESI ``/markets/prices/`` response file.

    Return the valid records and the rejected ones. A file that is not a
    JSON array, or in which no record is valid, raises :class:`PriceError`.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PriceError(
            "price file not found",
            f"{path} does not exist",
            "save the body of ESI's GET /markets/prices/ to a file and pass it",
        ) from None
    # Editors on Windows start UTF-8 text with a byte order mark, which JSON
    # decoders reject as a character outside any value.
    data = data.removeprefix(UTF8_BOM)
    encoding = other_encoding(data[:4])
    if encoding is not None:
        raise PriceError(
            "price file not UTF-8",
            f"{path} is {encoding} text, but JSON files must be UTF-8",
            f"convert it with iconv -f {encoding} -t UTF-8 FILE > NEW.json and"
            " import the new file",
        )
    try:
        records = msgspec.json.decode(data, type=list[msgspec.Raw])
    except msgspec.ValidationError as exc:
        # The decoder checks types as it reads, so a file cut off after its
        # first "{" fails on the type before the end of the data is reached.
        try:
            msgspec.json.decode(data)
        except msgspec.DecodeError as json_exc:
            raise _invalid_json(path, data, json_exc) from None
        raise _wrong_shape(path, data, exc) from None
    except msgspec.DecodeError as exc:
        raise _invalid_json(path, data, exc) from None
    if not records:
        raise _not_prices(path, "the array contains no price records")
    rows: list[MarketPrice] = []
    rejects: list[PriceReject] = []
    for index, raw in enumerate(records):
        checked = _check_record(index, bytes(raw))
        if isinstance(checked, PriceReject):
            rejects.append(checked)
        else:
            rows.append(checked)
    if rejects and not rows:
        # Not one price in it: the wrong file, not a few damaged records.
        other = _other_data(_first_document(bytes(records[0])), path)
        if other is not None:
            raise _not_price_data(path, *other)
        raise _not_prices(path, rejects[0].describe())
    return rows, rejects


def _not_prices(path: Path, problem: str) -> PriceError:
    return PriceError(
        "invalid price file",
        f"{path}: {problem}",
        f"{_EXPECTED}; nothing was imported",
    )


def store_prices(
    db: Database,
    rows: list[MarketPrice],
    *,
    rejects: Sequence[PriceReject] = (),
    source_file: str = "",
) -> tuple[int, int]:
    """Upsert ``rows`` into ``prices`` in one transaction; return (new, changed).

    ``rejects`` go into the ``rejects`` table in the same transaction, under
    ``source_file``, so ``evedmv rejects list`` shows them.
    """
    latest = {row.type_id: row for row in rows}
    with db.connection() as conn, conn.transaction():
        db.execute(STAGE, conn=conn)
        with (
            db.timed("prices.copy", COPY) as box,
            conn.cursor() as cur,
            cur.copy(COPY) as writer,
        ):
            for row in latest.values():
                writer.write_row((row.type_id, row.average_price, row.adjusted_price))
                box[0] += 1
        found = db.fetch_one(MERGE, conn=conn)
        if rejects:
            db.execute(
                INSERT_REJECTS,
                {
                    "import_id": None,
                    "source_file": [source_file] * len(rejects),
                    "position": [r.position for r in rejects],
                    "killmail_id": [None] * len(rejects),
                    "field": [r.field for r in rejects],
                    "reason": [r.reason for r in rejects],
                    "raw": [r.raw for r in rejects],
                    "hash_conflict": [False] * len(rejects),
                },
                conn=conn,
            )
    assert found is not None
    return int(found[0]), int(found[1])


def import_prices(
    db: Database, path: Path | str, *, revalue: bool = True
) -> PriceSummary:
    """Import an ESI price response and re-value killmails without zkb values.

    Records that fail their checks are kept in ``rejects`` and listed in the
    summary; the valid ones are stored.
    """
    source = Path(path)
    with operation("prices.import"):
        rows, rejects = read_prices(source)
        inserted, updated = store_prices(
            db, rows, rejects=rejects, source_file=str(source.absolute())
        )
        revalued = revalue_all(db) if revalue else 0
    for reject in rejects:
        log.warning("%s: %s", source, reject.describe())
    log.info(
        "prices from %s: %d valid, %d rejected, %d new, %d changed,"
        " %d killmails revalued",
        source,
        len(rows),
        len(rejects),
        inserted,
        updated,
        revalued,
    )
    return PriceSummary(
        str(source),
        len(rows) + len(rejects),
        inserted,
        updated,
        revalued,
        tuple(rejects),
    )

"""Import item prices from an ESI ``GET /markets/prices/`` response.

The response is a JSON array of ``{"type_id", "average_price"?,
"adjusted_price"?}``; ESI leaves ``average_price`` out for types without
market history and reports ``adjusted_price`` 0 for many of them. Rows are upserted
into ``prices``; a type missing from a newer response keeps its old price.
After the import every killmail without zkb values is valued again from
the new prices (see :mod:`evedmv_tui.valuation`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

import msgspec

from evedmv_tui.errors import EvedmvError
from evedmv_tui.ingest.sources import other_encoding
from evedmv_tui.killmails import MAX_ISK
from evedmv_tui.store.db import Database, NamedSql
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
class PriceSummary:
    path: str
    read: int
    inserted: int
    updated: int
    revalued: int
    """Killmails without zkb values that were valued again."""

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


MAX_TYPE_ID = 2**63 - 1
"""The largest type id that the ``prices`` table's bigint column can store."""


def _invalid_record(path: Path, record: str, problem: str) -> PriceError:
    return PriceError(
        "invalid price file",
        f"{path}: {record}: {problem}",
        "fix that record or fetch the response again; nothing was imported",
    )


_AT_RECORD = re.compile(
    r"^(?P<problem>.*) - at `\$\[(?P<index>\d+)\](?:\.(?P<field>\w+))?`$"
)
"""msgspec's location of a validation error in a list: ``... - at `$[5].type_id```."""


def _where(exc: msgspec.ValidationError) -> str:
    """Return msgspec's error with its location as a 1-based record and field."""
    text = str(exc)
    match = _AT_RECORD.match(text)
    if match is None:
        return text
    where = f"record {int(match['index']) + 1}"
    if match["field"]:
        where += f", field {match['field']}"
    return f"{where}: {match['problem']}"


def _check_record(path: Path, index: int, row: MarketPrice) -> None:
    """Raise :class:`PriceError` unless ``row`` fits the ``prices`` table.

    A type id outside bigint fails in the database. A price above
    :data:`~evedmv_tui.killmails.MAX_ISK` would swamp or overflow every
    killmail value it enters.
    """
    if not 1 <= row.type_id <= MAX_TYPE_ID:
        raise _invalid_record(
            path,
            f"record {index + 1}",
            f"type_id is {row.type_id}, expected a positive bigint"
            f" (1 to {MAX_TYPE_ID})",
        )
    for field in ("average_price", "adjusted_price"):
        value = getattr(row, field)
        if value is not None and not (0 <= value <= MAX_ISK):
            raise _invalid_record(
                path,
                f"record {index + 1} (type_id {row.type_id})",
                f"{field} is {value}, expected a finite number of ISK"
                f" from 0 to {MAX_ISK:.0e}",
            )


def _invalid_json(path: Path, exc: msgspec.DecodeError) -> PriceError:
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
        "fetch the response again; the file may be truncated",
    )


def read_prices(path: Path) -> list[MarketPrice]:
    """Decode and check an ESI ``/markets/prices/`` response file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PriceError(
            "price file not found",
            f"{path} does not exist",
            "save the body of ESI's GET /markets/prices/ to a file and pass it",
        ) from None
    encoding = other_encoding(data[:4])
    if encoding is not None:
        raise PriceError(
            "price file not UTF-8",
            f"{path} is {encoding} text, but JSON files must be UTF-8",
            f"convert it with iconv -f {encoding} -t UTF-8 FILE > NEW.json and"
            " import the new file",
        )
    try:
        rows = msgspec.json.decode(data, type=list[MarketPrice])
    except msgspec.ValidationError as exc:
        # The decoder checks types as it reads, so a file cut off after its
        # first "{" fails on the type before the end of the data is reached.
        try:
            msgspec.json.decode(data)
        except msgspec.DecodeError as json_exc:
            raise _invalid_json(path, json_exc) from None
        raise PriceError(
            "invalid price file",
            f"{path}: {_where(exc)}",
            "expected ESI's /markets/prices/ response: a JSON array of objects"
            " with type_id, average_price and adjusted_price; nothing was imported",
        ) from None
    except msgspec.DecodeError as exc:
        raise _invalid_json(path, exc) from None
    for index, row in enumerate(rows):
        _check_record(path, index, row)
    return rows


def store_prices(db: Database, rows: list[MarketPrice]) -> tuple[int, int]:
    """Upsert ``rows`` into ``prices`` in one transaction; return (new, changed)."""
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
    assert found is not None
    return int(found[0]), int(found[1])


def import_prices(
    db: Database, path: Path | str, *, revalue: bool = True
) -> PriceSummary:
    """Import an ESI price response and re-value killmails without zkb values."""
    source = Path(path)
    with operation("prices.import"):
        rows = read_prices(source)
        inserted, updated = store_prices(db, rows)
        revalued = revalue_all(db) if revalue else 0
    log.info(
        "prices from %s: %d read, %d new, %d changed, %d killmails revalued",
        source,
        len(rows),
        inserted,
        updated,
        revalued,
    )
    return PriceSummary(str(source), len(rows), inserted, updated, revalued)

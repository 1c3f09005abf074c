"""Binary COPY data for the battle tables, built where the rows are built.

Full detection builds its rows in worker processes (:mod:`.rows`). Formatting
them there as binary COPY data leaves the process that owns the connection
only bytes to send. The rows are formatted by the import's
:class:`~evedmv_tui.ingest.encode.RowEncoder`, psycopg's binary row
formatter with each column's type fixed in advance.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from evedmv_tui.ingest.encode import SIGNATURE, TRAILER, RowEncoder


@dataclasses.dataclass(frozen=True, slots=True)
class Table:
    """A battle table's COPY columns as ``(name, PostgreSQL type)`` pairs."""

    name: str
    columns: tuple[tuple[str, str], ...]
    real_columns: tuple[int, ...] = ()
    """Positions of ``real`` columns, sent as :func:`real_from_text` rounds."""


MEMBERS = Table(
    "battle_killmails",
    (
        ("killmail_id", "int8"),
        ("killmail_time", "timestamptz"),
        ("battle_id", "int8"),
        ("side_no", "int4"),
        ("solar_system_id", "int8"),
        ("victim_character_id", "int8"),
        ("victim_corporation_id", "int8"),
        ("victim_alliance_id", "int8"),
        ("victim_ship_type_id", "int8"),
        ("total_value", "float8"),
        ("final_blow_character_id", "int8"),
        ("attacker_count", "int4"),
        ("piece_id", "int8"),
    ),
)
SIDES = Table(
    "battle_sides",
    (
        ("battle_id", "int8"),
        ("side_no", "int4"),
        ("pilots", "int4"),
        ("ships_lost", "int4"),
        ("isk_lost", "float8"),
        ("isk_destroyed", "float8"),
        ("efficiency", "float8"),
        ("third_party", "bool"),
    ),
)
ENTITIES = Table(
    "battle_entities",
    (
        ("battle_id", "int8"),
        ("entity_kind", "text"),
        ("entity_id", "int8"),
        ("parent_id", "int8"),
        ("side_no", "int4"),
        ("weight_for", "float8"),
        ("weight_against", "float8"),
        ("confidence", "float4"),
        ("reason", "text"),
        ("overridden", "bool"),
    ),
    real_columns=(7,),
)
PIECES = Table(
    "battle_pieces",
    (
        ("piece_id", "int8"),
        ("battle_id", "int8"),
        ("solar_system_id", "int8"),
        ("start_time", "timestamptz"),
        ("end_time", "timestamptz"),
        ("pilots", "int8[]"),
    ),
)


@dataclasses.dataclass(frozen=True, slots=True)
class CopyData:
    """One table's rows as a whole binary COPY stream, with the row count."""

    table: Table
    data: bytes
    rows: int


_encoders: dict[str, RowEncoder] = {}


def encode(table: Table, rows: Sequence[Sequence[Any]]) -> CopyData:
    """Format ``rows`` as the binary COPY stream of ``table``.

    Each row has the values of ``table.columns`` in order. A ``real`` column
    gets the value the server parses from the float's ``repr``, as the text
    format stored it.
    """
    encoder = _encoders.get(table.name)
    if encoder is None:
        encoder = _encoders[table.name] = RowEncoder(table.columns)
    if table.real_columns:
        rows = [_with_reals(row, table.real_columns) for row in rows]
    return CopyData(table, SIGNATURE + encoder.encode(rows) + TRAILER, len(rows))


def _with_reals(row: Sequence[Any], columns: Sequence[int]) -> list[Any]:
    values = list(row)
    for column in columns:
        if values[column] is not None:
            values[column] = real_from_text(values[column])
    return values


_FLOAT4 = struct.Struct("f")


def real_from_text(value: float) -> float:
    """Return the ``real`` that PostgreSQL parses from ``repr(value)``.

    The server rounds the decimal text to single precision, which matches
    rounding the double itself except when the double lies exactly halfway
    between two single-precision values. Then the text, which is near but
    usually not equal to the double, decides the side.
    """
    if not math.isfinite(value):
        return value
    (rounded,) = _FLOAT4.unpack(_FLOAT4.pack(value))
    if rounded == value:
        return float(rounded)
    step = abs(rounded - value)
    (other,) = _FLOAT4.unpack(
        _FLOAT4.pack(value + step if rounded < value else value - step)
    )
    if other == rounded or abs(other - value) != step:
        return float(rounded)
    text = Fraction(repr(value))
    exact = Fraction(value)
    if text == exact:
        # The text is the tie itself, which both round half to even.
        return float(rounded)
    if text > exact:
        return float(max(rounded, other))
    return float(min(rounded, other))

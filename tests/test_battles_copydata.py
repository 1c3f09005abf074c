"""Binary COPY data of the battle tables against rows copied as text."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from typing import Any

import pytest
from psycopg import sql

from evedmv_tui.battles import copydata
from evedmv_tui.store.db import Database

MOMENT = dt.datetime(2021, 11, 28, 12, 30, 15, 250_000, tzinfo=dt.UTC)

# Doubles that lie exactly halfway between two single-precision values, where
# rounding the decimal text and rounding the double can differ.
HALFWAY = [0.5 + 2**-25, 0.75 - 2**-26, 1 / 3 + 2**-27 - (1 / 3) % 2**-24]

TABLE_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "members": [
        (
            10_120_000_001,
            MOMENT,
            5,
            1,
            30_000_142,
            90_000_001,
            98_000_001,
            99_000_001,
            587,
            12_345_678.9,
            90_000_002,
            12,
            10_120_000_001,
        ),
        (
            10_120_000_002,
            MOMENT + dt.timedelta(minutes=3),
            5,
            None,
            30_000_142,
            None,
            1_000_125,
            None,
            670,
            0,
            None,
            1,
            10_120_000_001,
        ),
    ],
    "sides": [
        (5, 1, 12, 3, 1.5e9, 2e9, 0.5714285714285714, False),
        (5, 2, 3, 0, 0.0, 0, None, True),
    ],
    "entities": [
        (
            5,
            "alliance",
            99_000_001,
            None,
            1,
            3.25,
            0.1,
            2 / 3,
            "fired on side 2",
            False,
        ),
        (5, "corporation", 98_000_001, 99_000_001, 2, 0, 1e-9, 1.0, "x\ty\\z", True),
        *[
            (5, "character", 90_000_010 + n, None, 1, 1.0, 0.0, value, "tie", False)
            for n, value in enumerate(HALFWAY)
        ],
    ],
    "pieces": [
        (10_120_000_001, 5, 30_000_142, MOMENT, MOMENT, [90_000_001, 90_000_002]),
        (10_120_000_009, 5, 30_000_142, MOMENT, MOMENT, []),
    ],
}
TABLES = {
    "members": copydata.MEMBERS,
    "sides": copydata.SIDES,
    "entities": copydata.ENTITIES,
    "pieces": copydata.PIECES,
}


def copied_rows(
    db: Database, table: copydata.Table, rows: Sequence[tuple[Any, ...]], binary: bool
) -> list[str]:
    """Copy ``rows`` into an empty copy of ``table``; return its rows as text."""
    target = sql.Identifier(f"copy_{table.name}")
    columns = sql.SQL(", ").join(sql.Identifier(name) for name, _ in table.columns)
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
                target, sql.Identifier(table.name)
            )
        )
        if binary:
            data = copydata.encode(table, rows)
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)")
            with cur.copy(statement.format(target, columns)) as copy:
                copy.write(data.data)
        else:
            statement = sql.SQL("COPY {} ({}) FROM STDIN")
            with cur.copy(statement.format(target, columns)) as copy:
                for row in rows:
                    copy.write_row(row)
        cur.execute(
            sql.SQL("SELECT (to_jsonb(t))::text AS row FROM {} t ORDER BY row").format(
                target
            )
        )
        found = [row[0] for row in cur.fetchall()]
        cur.execute(sql.SQL("DROP TABLE {}").format(target))
    return found


@pytest.mark.parametrize("name", sorted(TABLES))
def test_binary_copy_stores_text_copy_values(db: Database, name: str) -> None:
    """Binary COPY stores what the text COPY of the same rows stored.

    The rows hold NULLs, integers in double precision columns, an empty
    array, text that the text format escapes, and reals halfway between two
    single-precision values.
    """
    table = TABLES[name]
    rows = TABLE_ROWS[name]
    text = copied_rows(db, table, rows, binary=False)
    assert len(text) == len(rows)
    assert copied_rows(db, table, rows, binary=True) == text


def test_encode_counts_rows() -> None:
    data = copydata.encode(copydata.SIDES, TABLE_ROWS["sides"])
    assert data.rows == 2
    assert data.data.startswith(b"PGCOPY\n\xff\r\n\x00")
    assert data.data.endswith(b"\xff\xff")


def test_real_from_text_ties() -> None:
    """Ties go the way of the decimal text, other values round to nearest."""
    assert copydata.real_from_text(0.5) == 0.5
    assert copydata.real_from_text(2 / 3) == 0.6666666865348816
    assert copydata.real_from_text(0.5 + 2**-26) == 0.5
    # repr gives 0.5000000298023224, above the tie at 0.50000002980232238...
    assert copydata.real_from_text(0.5 + 2**-25) == 0.5 + 2**-24
    for value in HALFWAY:
        (single,) = struct.unpack("f", struct.pack("f", value))
        assert copydata.real_from_text(value) in (single, single + 2 * (value - single))

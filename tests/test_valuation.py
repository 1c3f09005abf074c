"""Computed ISK values on killmails without zkb values, against the real schema."""

from __future__ import annotations

import datetime as dt

import pytest

from evedmv_tui.store.db import Database
from evedmv_tui.valuation import apply_computed_values, revalue_all

KILL_TIME = dt.datetime(2021, 11, 27, 12, 0, tzinfo=dt.UTC)


def _partitions(db: Database) -> None:
    for table in ("killmails", "attackers", "items"):
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_test_default"
            f" PARTITION OF {table} DEFAULT"
        )


def _insert_killmail(
    db: Database,
    killmail_id: int,
    ship_type_id: int,
    items: list[tuple[int | None, int, int, int, int, int]],
    *,
    value_source: str | None = None,
    total_value: float | None = None,
) -> None:
    """Insert a killmail with ``items`` given as tuples of (parent_index,
    item_type_id, flag, singleton, quantity_dropped, quantity_destroyed)."""
    db.execute(
        "INSERT INTO killmails (killmail_id, killmail_time, solar_system_id,"
        " victim_ship_type_id, victim_damage_taken, attacker_count, esi_body,"
        " source, value_source, total_value)"
        " VALUES (%s, %s, 30000142, %s, 100, 1, '{}', 'test', %s, %s)",
        (killmail_id, KILL_TIME, ship_type_id, value_source, total_value),
    )
    for index, (parent, type_id, flag, singleton, dropped, destroyed) in enumerate(
        items
    ):
        db.execute(
            "INSERT INTO items (killmail_id, killmail_time, item_index, parent_index,"
            " item_type_id, flag, singleton, quantity_destroyed, quantity_dropped)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                killmail_id,
                KILL_TIME,
                index,
                parent,
                type_id,
                flag,
                singleton,
                destroyed,
                dropped,
            ),
        )


def _prices(db: Database, prices: dict[int, tuple[float | None, float | None]]) -> None:
    for type_id, (average, adjusted) in prices.items():
        db.execute(
            "INSERT INTO prices (type_id, average_price, adjusted_price)"
            " VALUES (%s, %s, %s)",
            (type_id, average, adjusted),
        )


def _values(db: Database, killmail_id: int) -> tuple[object, ...]:
    row = db.fetch_one(
        "SELECT total_value, fitted_value, dropped_value, destroyed_value,"
        " value_source FROM killmails WHERE killmail_id = %s",
        (killmail_id,),
    )
    assert row is not None
    return row


def test_hull_fitted_cargo_and_nested(db: Database) -> None:
    _partitions(db)
    _prices(
        db,
        {
            587: (500_000.0, 400_000.0),  # hull
            2873: (1_000.0, 900.0),  # fitted module
            3300: (None, 50.0),  # only an adjusted price
            17366: (20_000.0, None),  # container
            34: (5.0, 5.0),  # ore inside the container
            1000: (1e9, 1e9),  # a blueprint copy's original price
        },
    )
    _insert_killmail(
        db,
        1,
        587,
        [
            (None, 2873, 27, 1, 1, 1),  # high slot: 2 modules
            (None, 3300, 5, 0, 0, 10),  # cargo
            (None, 17366, 5, 1, 1, 0),  # container in cargo
            (2, 34, 0, 0, 100, 0),  # 100 units nested in the container
            (None, 1000, 5, 2, 0, 1),  # blueprint copy
        ],
    )
    with db.connection() as conn, conn.transaction():
        assert apply_computed_values(db, conn, [1]) == 1
    total, fitted, dropped, destroyed, source = _values(db, 1)
    assert source == "computed"
    assert dropped == pytest.approx(1_000 + 20_000 + 500)
    assert destroyed == pytest.approx(500_000 + 1_000 + 500 + 0.01)
    assert fitted == pytest.approx(500_000 + 2_000)
    assert total == pytest.approx(500_000 + 2_000 + 500 + 20_000 + 500 + 0.01)


def test_zkb_values_untouched(db: Database) -> None:
    _partitions(db)
    _prices(db, {587: (500_000.0, 400_000.0)})
    _insert_killmail(db, 2, 587, [], value_source="zkb", total_value=123.0)
    with db.connection() as conn, conn.transaction():
        assert apply_computed_values(db, conn, [2]) == 0
    total, _, _, _, source = _values(db, 2)
    assert total == 123.0
    assert source == "zkb"


def test_unpriced_killmail_stays_null(db: Database) -> None:
    _partitions(db)
    _insert_killmail(db, 3, 670, [(None, 9999, 5, 0, 1, 0)])
    assert apply_computed_values(db, None, [3]) == 0
    assert _values(db, 3) == (None, None, None, None, None)


def test_revalue_all_after_price_change(db: Database) -> None:
    _partitions(db)
    _prices(db, {587: (500_000.0, 400_000.0)})
    for killmail_id in (10, 11, 12):
        _insert_killmail(db, killmail_id, 587, [])
    assert revalue_all(db, chunk=2) == 3
    db.execute("UPDATE prices SET average_price = 600000 WHERE type_id = 587")
    assert revalue_all(db, chunk=2) == 3
    assert _values(db, 11)[0] == pytest.approx(600_000)

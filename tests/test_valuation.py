"""Computed ISK values on killmails without zkb values, against the real schema."""

from __future__ import annotations

import datetime as dt
import json
import logging
import statistics
from typing import Any

import pytest

from evedmv_tui.generate import generate_killmails
from evedmv_tui.generate.universe import builtin_universe
from evedmv_tui.ingest.importer import import_paths, import_records
from evedmv_tui.prices import import_prices
from evedmv_tui.sde import import_sde
from evedmv_tui.store.db import Database
from evedmv_tui.valuation import (
    apply_computed_values,
    compute_values,
    load_price_book,
    revalue_all,
    round_cents,
)
from tests.conftest import shared_file

PRICES_FILE = "prices/esi_markets_prices_2025-05-13.json"

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
    _insert_killmail(db, 3, 99_999, [(None, 9999, 5, 0, 1, 0)])
    assert apply_computed_values(db, None, [3]) == 0
    assert _values(db, 3) == (None, None, None, None, None)


def _item_rows(db: Database, killmail_id: int) -> list[tuple[object, ...]]:
    return db.fetch_all(
        "SELECT killmail_id, killmail_time, item_index, parent_index, item_type_id,"
        " flag, singleton, quantity_destroyed, quantity_dropped"
        " FROM items WHERE killmail_id = %s ORDER BY item_index",
        (killmail_id,),
    )


def test_total_above_max_isk_left_null(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A quantity near 2^63 times a real price gave a total of about 7.5e19
    ISK, and two quantities near 2^62 overflowed the bigint sum of the
    fitted value. Such totals must leave the values NULL in SQL and in
    Python alike, while a total of exactly MAX_ISK is kept."""
    _partitions(db)
    _prices(
        db,
        {
            587: (1e15, None),  # a hull at MAX_ISK
            588: (500_000.0, None),
            2873: (4.0, None),
            3300: (10.0, None),
            34: (8.1, None),
        },
    )
    # 1e15 + 4 ISK rounds to 1e15 in the 15 digits both paths keep.
    _insert_killmail(db, 60, 587, [(None, 2873, 5, 0, 0, 1)])
    _insert_killmail(
        db, 61, 587, [(None, 3300, 5, 0, 0, 1)], value_source="computed", total_value=5
    )
    _insert_killmail(db, 62, 588, [(None, 34, 5, 0, 0, 2**63 - 1)])
    _insert_killmail(db, 63, 588, [(None, 2873, 27, 1, 2**62, 2**62)])

    with caplog.at_level(logging.WARNING, logger="evedmv_tui.valuation"):
        assert apply_computed_values(db, None, [60, 61, 62, 63]) == 1
    assert "3 killmails, such as killmail 61 at 1.00000000000001e+15 ISK" in caplog.text

    assert _values(db, 60) == (1e15, 1e15, 0.0, 1e15, "computed")
    for killmail_id in (61, 62, 63):
        assert _values(db, killmail_id) == (None, None, None, None, None)

    book = load_price_book(db)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="evedmv_tui.valuation"):
        at_limit = compute_values(book, 587, _item_rows(db, 60), killmail_id=60)
        for killmail_id, hull in ((61, 587), (62, 588), (63, 588)):
            rows = _item_rows(db, killmail_id)
            assert compute_values(book, hull, rows, killmail_id=killmail_id) is None
    assert at_limit is not None
    assert at_limit.total_value == 1e15
    assert "killmail 62: computed total_value 7.470931349852" in caplog.text
    assert len(caplog.records) == 3


def test_revalue_all_after_price_change(db: Database) -> None:
    _partitions(db)
    _prices(db, {587: (500_000.0, 400_000.0)})
    for killmail_id in (10, 11, 12):
        _insert_killmail(db, killmail_id, 587, [])
    assert revalue_all(db, chunk=2) == 3
    db.execute("UPDATE prices SET average_price = 600000 WHERE type_id = 587")
    assert revalue_all(db, chunk=2) == 3
    assert _values(db, 11)[0] == pytest.approx(600_000)


def _move_killmail(db: Database, killmail_id: int, when: dt.datetime) -> None:
    for table in ("killmails", "items"):
        db.execute(
            f"UPDATE {table} SET killmail_time = %s WHERE killmail_id = %s",
            (when, killmail_id),
        )


def test_time_bounds_select_batch(db: Database) -> None:
    _partitions(db)
    _prices(db, {587: (500_000.0, None), 2873: (1_000.0, None)})
    later = KILL_TIME + dt.timedelta(days=40)
    for killmail_id in (40, 41):
        _insert_killmail(db, killmail_id, 587, [(None, 2873, 27, 1, 0, 1)])
    _move_killmail(db, 41, later)
    assert (
        apply_computed_values(db, None, [40, 41], start=KILL_TIME, end=KILL_TIME) == 1
    )
    assert _values(db, 40)[0] == pytest.approx(501_000)
    assert _values(db, 41)[0] is None
    # Killmail 40 keeps its values, so only 41 is written and counted.
    assert apply_computed_values(db, None, [40, 41], start=KILL_TIME, end=later) == 1
    assert _values(db, 41)[0] == pytest.approx(501_000)


def test_revalue_all_across_months(db: Database) -> None:
    _partitions(db)
    _prices(db, {587: (500_000.0, None), 2873: (1_000.0, None)})
    for offset, killmail_id in enumerate((50, 51, 52)):
        _insert_killmail(db, killmail_id, 587, [(None, 2873, 27, 1, 1, 0)])
        _move_killmail(db, killmail_id, KILL_TIME + dt.timedelta(days=31 * offset))
    assert revalue_all(db, chunk=2) == 3
    for killmail_id in (50, 51, 52):
        assert _values(db, killmail_id)[0] == pytest.approx(501_000)


def test_special_unit_prices(db: Database) -> None:
    """Capsules, fixed-price hulls, the Golden Pod, escape bays and drones."""
    _partitions(db)
    _prices(db, {2456: (400_000.0, None), 33329: (5e9, None), 587: (300_000.0, None)})
    # A capsule with no market price at all is worth 10,000 ISK.
    _insert_killmail(db, 20, 670, [(None, 33329, 89, 1, 0, 1)])
    # A Gold Magnate carries zKillboard's fixed 500 billion.
    _insert_killmail(
        db,
        21,
        11940,
        [
            (None, 2456, 87, 0, 0, 5),  # drones: in the total, not fitted
            (None, 587, 179, 1, 0, 1),  # a Rifter in the frigate escape bay
        ],
    )
    assert apply_computed_values(db, None, [20, 21]) == 2
    total, fitted, _, _, _ = _values(db, 20)
    assert total == pytest.approx(10_000 + 0.01)
    assert fitted == pytest.approx(10_000 + 0.01)
    total, fitted, _, destroyed, _ = _values(db, 21)
    assert total == pytest.approx(500e9 + 5 * 400_000 + 0.01)
    assert fitted == pytest.approx(500e9)
    assert destroyed == pytest.approx(total)


def test_skins_count_nominal(db: Database) -> None:
    import_sde(db, shared_file("sde-jsonl.zip"))
    _partitions(db)
    skin = db.fetch_value(
        "SELECT t.type_id FROM types t JOIN groups g USING (group_id)"
        " WHERE g.category_id = 91 ORDER BY t.type_id LIMIT 1"
    )
    if skin is None:
        skin = 34599
        db.execute(
            "INSERT INTO groups VALUES (1950, 'Permanent SKIN', 91, true, 'other')"
            " ON CONFLICT DO NOTHING"
        )
        db.execute(
            "INSERT INTO types (type_id, type_name, group_id, published)"
            " VALUES (%s, 'Rifter Skin', 1950, true)",
            (skin,),
        )
    _prices(db, {skin: (90e6, None), 587: (300_000.0, None)})
    _insert_killmail(db, 30, 587, [(None, skin, 5, 0, 0, 1)])
    apply_computed_values(db, None, [30])
    assert _values(db, 30)[0] == pytest.approx(300_000 + 0.01)


def _strip_zkb(document: bytes) -> dict[str, object]:
    body: dict[str, object] = json.loads(document)
    del body["zkb"]
    return body


def test_matches_generated_zkb_values(db: Database) -> None:
    """The generator writes zkb values by the same rules: computing them
    again from the same prices must give the same numbers."""
    documents = list(generate_killmails(400, 21))
    universe = builtin_universe()
    _prices(db, {t: (price, None) for t, price in universe.prices.items()})
    summary = import_records(db, [_strip_zkb(d) for d in documents], source="test")
    assert summary.rejected == 0
    computed = {
        row[0]: row[1:]
        for row in db.fetch_all(
            "SELECT killmail_id, total_value, fitted_value, dropped_value,"
            " destroyed_value, value_source FROM killmails"
        )
    }
    nested = 0
    for document in documents:
        expected = json.loads(document)
        zkb = expected["zkb"]
        total, fitted, dropped, destroyed, source = computed[expected["killmail_id"]]
        assert source == "computed"
        assert total == pytest.approx(zkb["totalValue"], abs=0.02)
        assert fitted == pytest.approx(zkb["fittedValue"], abs=0.02)
        assert dropped == pytest.approx(zkb["droppedValue"], abs=0.02)
        assert destroyed == pytest.approx(zkb["destroyedValue"], abs=0.02)
        nested += any("items" in item for item in expected["victim"]["items"])
    assert nested > 0


def test_import_leaves_huge_quantity_null(db: Database) -> None:
    """An imported killmail whose item quantity near 2^63 makes a total above
    MAX_ISK is stored with NULL values, and the others are valued."""
    documents: list[dict[str, Any]] = [
        _strip_zkb(d) for d in generate_killmails(20, 22)
    ]
    universe = builtin_universe()
    _prices(db, {t: (price, None) for t, price in universe.prices.items()})
    huge, item = next(
        (document, item)
        for document in documents
        for item in document["victim"]["items"]
        if item["item_type_id"] in universe.prices
    )
    item["quantity_destroyed"] = 2**63 - 1
    summary = import_records(db, documents, source="test")
    assert summary.rejected == 0
    rows = {
        row[0]: row[1:]
        for row in db.fetch_all(
            "SELECT killmail_id, value_source, total_value FROM killmails"
        )
    }
    assert len(rows) == 20
    assert rows[huge["killmail_id"]] == (None, None)
    computed = [row for row in rows.values() if row[0] == "computed"]
    assert len(computed) == 19


def _real_kills_with_zkb() -> list[dict[str, object]]:
    path = shared_file("killmails/real/zk_activity_fixtures.jsonl")
    packages = [json.loads(line) for line in path.open(encoding="utf-8")]
    feed = shared_file("killmails/feeds/redisq_package_119455394.json")
    packages.append(json.loads(feed.read_text(encoding="utf-8"))["package"])
    return packages


def test_close_to_zkillboard_on_recent_kills(db: Database) -> None:
    """Value real kills of 2024-2026 from ESI's prices of 2025-05-13 and
    compare with zKillboard's own totals.

    zKillboard prices each item at a trimmed 34-day The Forge average of
    the kill day; ESI's ``average_price`` is one snapshot, up to 20 months
    away from these kills. Market drift over that span moves prices by tens
    of percent, so each total must fall within 0.85 to 1.5 times
    zKillboard's, and the median within 0.95 to 1.3. A computation error
    (a missed hull, a nested item counted twice, BPCs at full price) moves
    a total by far more.
    """
    packages = _real_kills_with_zkb()
    summary = import_records(
        db,
        [p["killmail"] for p in packages],  # type: ignore[misc]
        source="test",
    )
    assert summary.rejected == 0
    prices = import_prices(db, shared_file(PRICES_FILE))
    assert prices.revalued >= len(packages) - 1
    ratios = []
    for package in packages:
        killmail = package["killmail"]
        zkb = package["zkb"]
        assert isinstance(killmail, dict)
        assert isinstance(zkb, dict)
        total, source = db.fetch_one(  # type: ignore[misc]
            "SELECT total_value, value_source FROM killmails WHERE killmail_id = %s",
            (killmail["killmail_id"],),
        )
        if killmail["victim"]["ship_type_id"] == 35834:
            # A Keepstar has no market price; zKillboard builds one from
            # its blueprint's materials, which the SDE subset lacks.
            assert source is None
            continue
        assert source == "computed"
        if killmail["killmail_time"] < "2024-01-01":
            continue
        ratio = total / zkb["totalValue"]
        assert 0.85 <= ratio <= 1.5, (killmail["killmail_id"], ratio)
        ratios.append(ratio)
    assert len(ratios) >= 14
    assert 0.95 <= statistics.median(ratios) <= 1.3


def test_close_to_zkillboard_2018_in_aggregate(db: Database) -> None:
    """The 1,000 solo kills of 2018-05-19, valued from 2025 prices.

    Seven years of drift make single kills differ by up to tenfold (skill
    injectors and faction modules changed most), so only the median and the
    sum are checked, each within 0.8 to 1.6 of zKillboard's.
    """
    path = shared_file("killmails/real/zkb_api_2018-05-19.jsonl")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    bodies = [{k: v for k, v in row.items() if k != "zkb"} for row in rows]
    assert import_records(db, bodies, source="test").rejected == 0
    import_prices(db, shared_file(PRICES_FILE))
    computed = dict(db.fetch_all("SELECT killmail_id, total_value FROM killmails"))
    ratios = [
        (computed[row["killmail_id"]] or 0.0) / row["zkb"]["totalValue"]
        for row in rows
        if row["zkb"]["totalValue"]
    ]
    assert len(ratios) >= 990
    assert 0.8 <= statistics.median(ratios) <= 1.6
    ours = sum(computed[row["killmail_id"]] or 0.0 for row in rows)
    theirs = sum(row["zkb"]["totalValue"] for row in rows)
    assert 0.8 <= ours / theirs <= 1.6


def test_import_batch_values_killmails(db: Database) -> None:
    """The importer values each batch's killmails without zkb values."""
    import_prices(db, shared_file(PRICES_FILE))
    documents = [_strip_zkb(d) for d in generate_killmails(50, 4)]
    import_records(db, documents, source="test")
    unvalued = db.fetch_value(
        "SELECT count(*) FROM killmails WHERE value_source IS DISTINCT FROM 'computed'"
    )
    assert unvalued == 0


def test_round_cents_matches_numeric_round(db: Database) -> None:
    """Rounding in Python must equal PostgreSQL's ``round(x::numeric, 2)``,
    which first keeps 15 significant digits and rounds ties away from zero."""
    values = [
        0.0,
        0.005,
        0.015,
        0.125,
        1.005,
        2.675,
        1234.565,
        0.1 + 0.2,
        1e12 + 0.005,
        123456789012.345,
        80e9 + 0.01 * 3,
        987654321.0049999,
        5e-3 - 1e-18,
        1.23456789012345678e15,
        # At most two decimals in 15 significant digits, which round_cents
        # reads without Decimal, and the exponent forms it leaves to Decimal.
        100.0,
        123.4,
        99999999999999.99,
        -2.675,
        -0.125,
        1e16,
        2.5e-7,
    ]
    values += [v * 7.77 for v in values] + [i * 0.005 for i in range(1, 400)]
    expected = db.fetch_value(
        "SELECT array_agg(round(v::numeric, 2)::float8 ORDER BY n)"
        " FROM unnest(%s::float8[]) WITH ORDINALITY AS t (v, n)",
        (values,),
    )
    assert [round_cents(v) for v in values] == expected


def test_compute_values_without_prices() -> None:
    """Nominal prices alone do not value a killmail: with its hull and items
    unpriced, it would read as 0.03 ISK instead of an unknown value."""
    item = (1, KILL_TIME, 0, None, 587, 27, 1, 1, 0)
    assert compute_values({}, 587, [item]) is None
    nominal = (1, KILL_TIME, 1, None, 999, 5, 2, 0, 3)
    assert compute_values({}, 587, [item, nominal]) is None
    values = compute_values({587: 300_000.0}, 587, [item, nominal])
    assert values is not None
    assert values.total_value == 600_000.03
    assert values.dropped_value == 0.03
    assert values.destroyed_value == 600_000.0


def test_nominal_items_alone_stay_null(db: Database) -> None:
    _partitions(db)
    # A blueprint copy (singleton 2) in an unpriced hull.
    _insert_killmail(db, 4, 99_999, [(None, 9999, 5, 2, 0, 3)])
    assert apply_computed_values(db, None, [4]) == 0
    assert _values(db, 4) == (None, None, None, None, None)


def test_import_values_equal_sql(db: Database) -> None:
    """The importer values killmails in Python while it encodes them. The
    SQL statement that values them again after a price import must find
    exactly the same four numbers for every killmail of a real archive."""
    import_sde(db, shared_file("sde-jsonl.zip"))
    import_prices(db, shared_file(PRICES_FILE), revalue=False)
    archive = shared_file("killmails/everef/killmails-2021-12-03.tar.bz2")
    summary = import_paths(db, [archive], offline=True, workers=0)
    assert summary.inserted == 4158
    query = (
        "SELECT killmail_id, total_value, fitted_value, dropped_value,"
        " destroyed_value, value_source FROM killmails ORDER BY killmail_id"
    )
    imported = db.fetch_all(query)
    assert sum(row[5] == "computed" for row in imported) >= 4000
    db.execute(
        "UPDATE killmails SET total_value = NULL, fitted_value = NULL,"
        " dropped_value = NULL, destroyed_value = NULL, value_source = NULL"
    )
    revalue_all(db)
    assert db.fetch_all(query) == imported


def test_price_book_rules(db: Database) -> None:
    _prices(db, {587: (300_000.0, 1.0), 588: (None, 5.0), 589: (None, 0.0)})
    book = load_price_book(db)
    assert book[587] == 300_000.0
    assert book[588] == 5.0
    assert 589 not in book
    assert book[670] == 10_000.0
    assert book[11940] == 500e9

"""ISK values for killmails that arrived without a zKillboard block.

The rules follow zKillboard's parser and price lookup and are written out
in ``docs/valuation.md``. In short: the total is the hull plus every item
row (nested items are their own rows, so each is counted once) at
``quantity_dropped + quantity_destroyed`` times its unit price.

Blueprint copies, SKINs, the Golden Pod implant and ships in a frigate
escape bay count 0.01 ISK each. A few rare hulls carry zKillboard's fixed
price and capsules 10,000 ISK. Every other type takes ESI's
``average_price``, else its ``adjusted_price``, from the ``prices`` table.

Only killmails whose ``value_source`` is NULL or ``'computed'`` are touched,
so zKillboard's own values always win.

An import values its new killmails before it writes them: it loads each
type's unit price once (:func:`load_price_book`) and :func:`compute_values`
applies the rules in Python, with the same float arithmetic and rounding
as the SQL statement :data:`APPLY`. That statement values killmails
already stored, after a price import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from evedmv_tui.killmails import MAX_ISK
from evedmv_tui.store.db import Database, NamedSql

log = logging.getLogger(__name__)

FITTED_FLAGS: frozenset[int] = frozenset(
    [
        *range(11, 19),  # low slots
        *range(19, 27),  # medium slots
        *range(27, 35),  # high slots
        89,  # implants
        *range(92, 100),  # rig slots
        *range(125, 133),  # subsystem slots
        158,  # fighter bay
        *range(159, 164),  # fighter tubes
        *range(164, 172),  # structure service slots
    ]
)
"""Inventory flags whose items count in ``fittedValue``. The drone bay (87)
and a structure's fuel bay (172) are left out, because zKillboard's values
on real kills leave them out."""

NOMINAL_PRICE = 0.01
"""Unit price zKillboard gives to items that cannot carry their market value."""
BLUEPRINT_COPY_SINGLETON = 2
GOLDEN_POD_TYPE_ID = 33329
IMPLANT_FLAG = 89
FRIGATE_ESCAPE_BAY_FLAG = 179
SKIN_CATEGORY_ID = 91
CAPSULE_GROUP_ID = 29
CAPSULE_TYPE_IDS = (670, 33328)
"""Capsule types, for databases without the SDE's groups."""
CAPSULE_PRICE = 10_000.0

FIXED_PRICES: Mapping[int, float] = {
    # Market-manipulated or site-dropped items.
    12478: NOMINAL_PRICE,  # Khumaak
    34559: NOMINAL_PRICE,  # Conflux Element
    44265: NOMINAL_PRICE,  # Victory Firework
    # Rare hulls with no usable market.
    2834: 80e9,  # Utu
    3516: 80e9,  # Malice
    11375: 80e9,  # Freki
    3518: 100e9,  # Vangel
    3514: 100e9,  # Revenant
    32788: 100e9,  # Cambion
    32790: 100e9,  # Etana
    32209: 100e9,  # Mimir
    11942: 100e9,  # Silver Magnate
    33673: 100e9,  # Whiptail
    35779: 120e9,  # Imp
    42125: 120e9,  # Vendetta
    42246: 120e9,  # Caedes
    2836: 150e9,  # Adrestia
    33675: 150e9,  # Chameleon
    35781: 150e9,  # Fiend
    45530: 150e9,  # Virtuoso
    33397: 200e9,  # Chremoas
    42245: 200e9,  # Rabisu
    45649: 200e9,  # Komodo
    45531: 230e9,  # Victor
    42241: 350e9,  # Molok
    11940: 500e9,  # Gold Magnate
    635: 500e9,  # Opux Luxury Yacht
    11011: 500e9,  # Guardian-Vexor
    25560: 500e9,  # Opux Dragoon Yacht
    13202: 750e9,  # Megathron Federate Issue
    26840: 750e9,  # Raven State Issue
    11936: 750e9,  # Apocalypse Imperial Issue
    11938: 750e9,  # Armageddon Imperial Issue
    26842: 750e9,  # Tempest Tribal Issue
    9860: 1e12,  # Polaris
    11019: 1e12,  # Cockroach
}
"""zKillboard's hard-coded unit prices (its ``Price::getFixedPrice``)."""

_FIXED_VALUES = ", ".join(
    f"({type_id}, {price!r}::double precision)"
    for type_id, price in sorted(FIXED_PRICES.items())
)
_CAPSULES = ", ".join(str(type_id) for type_id in CAPSULE_TYPE_IDS)


def _usable(column: str) -> str:
    """Return SQL for ``column`` if it is a price of 0 to MAX_ISK, else NULL.

    The price import rejects other prices, but an older version or a manual
    INSERT can store one. Such a price (1e300, NaN, infinity) overflows the
    double precision sums or cannot be rounded, so it counts as no price.
    """
    return (
        f"CASE WHEN {column} BETWEEN 0 AND {MAX_ISK!r}::double precision"
        f" THEN {column} END"
    )


def _market_price(
    type_id: str, alias: str, prices: str, types: str, groups: str
) -> str:
    """Return the SQL unit price of the type ``type_id`` before per-item rules."""
    average = _usable(f"{prices}.average_price")
    adjusted = _usable(f"{prices}.adjusted_price")
    return f"""
        CASE
            WHEN {groups}.category_id = {SKIN_CATEGORY_ID} THEN {NOMINAL_PRICE}
            WHEN {alias}.price IS NOT NULL THEN {alias}.price
            WHEN {types}.group_id = {CAPSULE_GROUP_ID}
              OR {type_id} IN ({_CAPSULES}) THEN {CAPSULE_PRICE}
            ELSE coalesce({average}, nullif({adjusted}, 0))
        END"""


_ITEM_PRICE = f"""
    CASE
        WHEN i.singleton = {BLUEPRINT_COPY_SINGLETON}
          OR (i.item_type_id = {GOLDEN_POD_TYPE_ID} AND i.flag = {IMPLANT_FLAG})
          OR i.flag = {FRIGATE_ESCAPE_BAY_FLAG}
        THEN {NOMINAL_PRICE}
        ELSE {_market_price("i.item_type_id", "f", "p", "ty", "gr")}
    END
"""
_HULL_PRICE = _market_price("h.type_id", "hf", "hp", "hty", "hgr")
_FITTED_LIST = ", ".join(str(flag) for flag in sorted(FITTED_FLAGS))

# One statement values a whole batch. A killmail none of whose types has a
# price keeps NULL values: zero ISK would claim a worthless loss. Nominal
# prices (SKINs, blueprint copies) do not count as a price for this, so a
# killmail whose hull and items are unpriced does not read as 0.01 ISK. A killmail
# whose rounded total is above MAX_ISK gets NULL values too, because such a
# total comes from a corrupt quantity or price, not from a real loss. The
# statement returns the number of killmails valued, the number set to NULL
# this way, and the lowest such killmail id and its total for the warning.
#
# Quantities are summed as double precision, because two bigint quantities
# near 2^62 overflow a bigint sum.
#
# The items of each killmail are summed in a LATERAL subquery. The plan is
# then one primary-key probe into the killmail's items partition per
# killmail, whatever the row estimates are. PostgreSQL 15 estimates a
# set-based join of the batch to ``items`` on (killmail_id, killmail_time) at
# a few rows, because it treats the two columns as independent. On a
# 1M-killmail database it then re-ran the whole batch's aggregate once per
# killmail. The time bounds let the planner skip the partitions outside the
# batch.
APPLY = NamedSql(
    "valuation.apply",
    f"""
WITH fixed (type_id, price) AS (VALUES {_FIXED_VALUES}),
target AS MATERIALIZED (
    SELECT k.killmail_id, k.killmail_time, k.victim_ship_type_id
    FROM killmails k
    WHERE k.killmail_id = ANY(%(ids)s)
      AND k.killmail_time BETWEEN %(start)s AND %(end)s
      AND (k.value_source IS NULL OR k.value_source = 'computed')
),
computed AS (
    SELECT
        t.killmail_id,
        t.killmail_time,
        hull.price AS hull,
        coalesce(s.dropped, 0) AS dropped,
        coalesce(s.destroyed, 0) AS destroyed,
        coalesce(s.fitted, 0) AS fitted,
        hull.price IS NOT NULL OR coalesce(s.any_priced, false) AS any_priced
    FROM target t
    CROSS JOIN LATERAL (
        SELECT
            bool_or(r.unit_price IS NOT NULL AND r.unit_price <> {NOMINAL_PRICE})
                AS any_priced,
            sum(coalesce(r.unit_price, 0) * r.quantity_dropped) AS dropped,
            sum(coalesce(r.unit_price, 0) * r.quantity_destroyed) AS destroyed,
            sum(
                coalesce(r.unit_price, 0)
                * (r.quantity_dropped::double precision + r.quantity_destroyed)
            )
                FILTER (WHERE r.parent_index IS NULL AND r.flag IN ({_FITTED_LIST}))
                AS fitted
        FROM (
            SELECT
                ({_ITEM_PRICE}) AS unit_price,
                i.parent_index,
                i.flag,
                i.quantity_dropped,
                i.quantity_destroyed
            FROM items i
            LEFT JOIN prices p ON p.type_id = i.item_type_id
            LEFT JOIN fixed f ON f.type_id = i.item_type_id
            LEFT JOIN types ty ON ty.type_id = i.item_type_id
            LEFT JOIN groups gr ON gr.group_id = ty.group_id
            WHERE i.killmail_id = t.killmail_id
              AND i.killmail_time = t.killmail_time
              AND i.killmail_time BETWEEN %(start)s AND %(end)s
        ) r
    ) s
    LEFT JOIN LATERAL (
        SELECT ({_HULL_PRICE}) AS price
        FROM (SELECT t.victim_ship_type_id AS type_id) h
        LEFT JOIN prices hp ON hp.type_id = h.type_id
        LEFT JOIN fixed hf ON hf.type_id = h.type_id
        LEFT JOIN types hty ON hty.type_id = h.type_id
        LEFT JOIN groups hgr ON hgr.group_id = hty.group_id
    ) hull ON true
),
rounded AS (
    SELECT
        c.killmail_id,
        c.killmail_time,
        round((coalesce(c.hull, 0) + c.dropped + c.destroyed)::numeric, 2) AS total,
        round((coalesce(c.hull, 0) + c.fitted)::numeric, 2) AS fitted,
        round(c.dropped::numeric, 2) AS dropped,
        round((coalesce(c.hull, 0) + c.destroyed)::numeric, 2) AS destroyed
    FROM computed c
    WHERE c.any_priced
),
valued AS (
    SELECT r.*, r.total <= {MAX_ISK!r} AS plausible FROM rounded r
),
updated AS (
    UPDATE killmails k
    SET total_value = CASE WHEN v.plausible THEN v.total END,
        fitted_value = CASE WHEN v.plausible THEN v.fitted END,
        dropped_value = CASE WHEN v.plausible THEN v.dropped END,
        destroyed_value = CASE WHEN v.plausible THEN v.destroyed END,
        value_source = CASE WHEN v.plausible THEN 'computed' END,
        updated_at = now()
    FROM valued v
    WHERE k.killmail_id = v.killmail_id
      AND k.killmail_time = v.killmail_time
      AND k.killmail_time BETWEEN %(start)s AND %(end)s
      -- Unchanged values are not written again, so the count is of changes.
      AND (k.total_value, k.fitted_value, k.dropped_value, k.destroyed_value,
           k.value_source)
          IS DISTINCT FROM (
              CASE WHEN v.plausible THEN v.total END,
              CASE WHEN v.plausible THEN v.fitted END,
              CASE WHEN v.plausible THEN v.dropped END,
              CASE WHEN v.plausible THEN v.destroyed END,
              CASE WHEN v.plausible THEN 'computed' END)
    RETURNING k.killmail_id, v.plausible, v.total
)
-- Implausible totals are counted whether or not their NULLs were written
-- before, so every run warns about them.
SELECT
    (SELECT count(*) FROM updated WHERE plausible),
    count(*) FILTER (WHERE NOT plausible),
    min(killmail_id) FILTER (WHERE NOT plausible),
    (array_agg(total::double precision ORDER BY killmail_id)
        FILTER (WHERE NOT plausible))[1]
FROM valued
""",
)

PRICE_BOOK = NamedSql(
    "valuation.price_book",
    f"""
WITH fixed (type_id, price) AS (VALUES {_FIXED_VALUES}),
known AS (
    SELECT type_id FROM prices
    UNION SELECT type_id FROM types
    UNION SELECT type_id FROM fixed
    UNION SELECT unnest(ARRAY[{_CAPSULES}]::bigint[])
)
SELECT type_id, price
FROM (
    SELECT k.type_id, ({_market_price("k.type_id", "f", "p", "ty", "gr")}) AS price
    FROM known k
    LEFT JOIN prices p ON p.type_id = k.type_id
    LEFT JOIN fixed f ON f.type_id = k.type_id
    LEFT JOIN types ty ON ty.type_id = k.type_id
    LEFT JOIN groups gr ON gr.group_id = ty.group_id
) priced
WHERE price IS NOT NULL
""",
)
"""The unit price of every type that has one, before the per-item rules."""

REVALUE_IDS = NamedSql(
    "valuation.revalue_ids",
    """
SELECT killmail_id, killmail_time
FROM killmails
WHERE (value_source IS NULL OR value_source = 'computed')
  AND killmail_id > %(after)s
ORDER BY killmail_id
LIMIT %(limit)s
""",
)

REVALUE_CHUNK = 20_000

_CENT = decimal.Decimal("0.01")
_DECIMAL = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_UP)
_NUMERIC_DIGITS = 15
"""Significant digits PostgreSQL keeps when it casts double precision to
numeric (``DBL_DIG`` in ``float8_numeric``). The tests compare
:func:`round_cents` with the server's own rounding."""


@dataclasses.dataclass(frozen=True, slots=True)
class ComputedValues:
    """The four ISK values of one killmail, rounded to 0.01 ISK."""

    total_value: float
    fitted_value: float
    dropped_value: float
    destroyed_value: float


def load_price_book(
    db: Database, conn: psycopg.Connection[Any] | None = None
) -> dict[int, float]:
    """Return the unit price of every priced type, by type id.

    The prices are those of the hull rules: SKINs, fixed prices, capsules,
    then ESI's average or adjusted price. Types without a price are absent.
    """
    rows = db.fetch_all(PRICE_BOOK, conn=conn)
    return {int(type_id): float(price) for type_id, price in rows}


def round_cents(value: float) -> float:
    """Round ``value`` to 0.01 as ``round(value::numeric, 2)`` does in PostgreSQL.

    The cast keeps 15 significant digits, and ties round away from zero.
    """
    text = format(value, f".{_NUMERIC_DIGITS}g")
    point = text.find(".")
    if text[-1].isdigit() and "e" not in text and (point < 0 or len(text) - point <= 3):
        # Text with at most two decimals, as most sums of prices give, needs
        # no rounding, and float() reads it as exactly as Decimal would.
        return float(text)
    return float(_DECIMAL.quantize(decimal.Decimal(text), _CENT))


def compute_values(
    prices: Mapping[int, float],
    hull_type_id: int,
    item_rows: Iterable[Sequence[Any]],
    *,
    killmail_id: int | None = None,
) -> ComputedValues | None:
    """Value one killmail by the rules of :data:`APPLY`.

    ``prices`` is a :func:`load_price_book` result. ``item_rows`` are
    ``items`` rows in ``item_index`` order, with the columns of
    :data:`evedmv_tui.ingest.encode.ITEM_COLUMNS`. The sums run in the same
    order and with the same double precision arithmetic as the SQL
    statement, so both give the same values.

    Returns None if no type has a price other than the nominal 0.01 ISK, and
    also if the total is above
    :data:`~evedmv_tui.killmails.MAX_ISK`, which logs a warning that names
    ``killmail_id``.
    """
    price_of = prices.get
    fitted_flags = FITTED_FLAGS
    hull = price_of(hull_type_id)
    any_priced = hull is not None
    dropped = destroyed = fitted = 0.0
    for (
        _,
        _,
        _,
        parent_index,
        type_id,
        flag,
        singleton,
        quantity_destroyed,
        quantity_dropped,
    ) in item_rows:
        if (
            singleton == BLUEPRINT_COPY_SINGLETON
            or flag == FRIGATE_ESCAPE_BAY_FLAG
            or (type_id == GOLDEN_POD_TYPE_ID and flag == IMPLANT_FLAG)
        ):
            unit_price = NOMINAL_PRICE
        else:
            market_price = price_of(type_id)
            if market_price is None:
                # The statement adds 0 ISK for this row, which leaves each
                # double precision sum exactly as it was.
                continue
            unit_price = market_price
        if unit_price != NOMINAL_PRICE:
            any_priced = True
        dropped += unit_price * quantity_dropped
        destroyed += unit_price * quantity_destroyed
        if parent_index is None and flag in fitted_flags:
            # Each quantity becomes a float first, as in the statement.
            fitted += unit_price * (float(quantity_dropped) + float(quantity_destroyed))
    if not any_priced:
        return None
    base = 0.0 if hull is None else hull
    total = round_cents(base + dropped + destroyed)
    if total > MAX_ISK:
        log.warning(
            "killmail %s: computed total_value %.15g ISK is above %.0e ISK, so its"
            " values are left NULL; fix the item quantities or prices it was"
            " computed from",
            killmail_id,
            total,
            MAX_ISK,
        )
        return None
    return ComputedValues(
        total_value=total,
        fitted_value=round_cents(base + fitted),
        dropped_value=round_cents(dropped),
        destroyed_value=round_cents(base + destroyed),
    )


def apply_computed_values(
    db: Database,
    conn: psycopg.Connection[Any] | None,
    killmail_ids: Iterable[int],
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> int:
    """Compute ISK values for ``killmail_ids`` that lack zkb values.

    Runs on ``conn`` so that the caller's transaction (an import batch) keeps
    the killmails and their values together. ``start`` and ``end`` are the
    earliest and latest ``killmail_time`` of the batch, inclusive. With them
    the statement reads only the partitions of those months, and killmails
    outside the range are not valued. Without them every partition is
    searched for the ids. Returns the number of killmails whose values
    changed, because unchanged ones are not written again. Those with no
    priced type at all are left as they are, and those whose
    total is above :data:`~evedmv_tui.killmails.MAX_ISK` get NULL values
    and a logged warning.
    """
    ids = list(killmail_ids)
    if not ids:
        return 0
    params: dict[str, Any] = {
        "ids": ids,
        # datetime has no infinity, so PostgreSQL casts these texts instead.
        "start": start if start is not None else "-infinity",
        "end": end if end is not None else "infinity",
    }
    row = db.fetch_one(APPLY, params, conn=conn)
    assert row is not None  # an aggregate without GROUP BY returns one row
    valued, implausible, first_id, first_total = row
    if implausible:
        log.warning(
            "computed total_value above %.0e ISK for %d %s, such as killmail %d"
            " at %.15g ISK, so those values are set to NULL; fix the item"
            " quantities or prices they were computed from",
            MAX_ISK,
            implausible,
            "killmail" if implausible == 1 else "killmails",
            first_id,
            first_total,
        )
    return int(valued)


def revalue_all(db: Database, *, chunk: int = REVALUE_CHUNK) -> int:
    """Recompute the values of every killmail without zkb values.

    Runs in chunks of ``chunk`` killmails, each in its own transaction, so a
    price import over millions of killmails never holds one long lock.
    Returns the number of killmails whose values changed.
    """
    updated = 0
    after = -1
    with db.connection() as conn:
        while True:
            rows = db.fetch_all(
                REVALUE_IDS, {"after": after, "limit": chunk}, conn=conn
            )
            if not rows:
                break
            ids = [row[0] for row in rows]
            times = [row[1] for row in rows]
            with conn.transaction():
                updated += apply_computed_values(
                    db, conn, ids, start=min(times), end=max(times)
                )
            after = ids[-1]
    log.info("values changed for %d killmails without zkb values", updated)
    return updated

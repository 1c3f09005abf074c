"""ISK values for killmails that arrived without a zKillboard block.

The rules follow zKillboard's own parser and are written out in
``docs/valuation.md``. In short: the total is the hull plus every item row
(nested items are their own rows, so each is counted once) at
``quantity_dropped + quantity_destroyed`` times its unit price; blueprint
copies, the Golden Pod implant and ships in a frigate escape bay count
0.01 ISK each; unit prices come from the ``prices`` table (ESI
``average_price``, else ``adjusted_price``).

Only killmails whose ``value_source`` is NULL or ``'computed'`` are touched,
so zKillboard's own values always win.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import psycopg

from evedmv_tui.store.db import Database, NamedSql

log = logging.getLogger(__name__)

FITTED_FLAGS: frozenset[int] = frozenset(
    [
        *range(11, 19),  # low slots
        *range(19, 27),  # medium slots
        *range(27, 35),  # high slots
        87,  # drone bay
        89,  # implants
        *range(92, 100),  # rig slots
        *range(125, 133),  # subsystem slots
        158,  # fighter bay
        *range(159, 164),  # fighter tubes
        *range(164, 172),  # structure service slots
        172,  # structure fuel bay
    ]
)
"""Inventory flags whose items zKillboard counts in ``fittedValue``."""

NOMINAL_PRICE = 0.01
"""Unit price zKillboard gives to items that cannot carry their market value."""
BLUEPRINT_COPY_SINGLETON = 2
GOLDEN_POD_TYPE_ID = 33329
IMPLANT_FLAG = 89
FRIGATE_ESCAPE_BAY_FLAG = 179

_UNIT_PRICE = f"""
    CASE
        WHEN i.singleton = {BLUEPRINT_COPY_SINGLETON}
          OR (i.item_type_id = {GOLDEN_POD_TYPE_ID} AND i.flag = {IMPLANT_FLAG})
          OR i.flag = {FRIGATE_ESCAPE_BAY_FLAG}
        THEN {NOMINAL_PRICE}
        ELSE coalesce(p.average_price, nullif(p.adjusted_price, 0), 0)
    END
"""

_FITTED_LIST = ", ".join(str(flag) for flag in sorted(FITTED_FLAGS))

# One statement values a whole batch. A killmail none of whose types has a
# price keeps NULL values: zero ISK would claim a worthless loss.
APPLY = NamedSql(
    "valuation.apply",
    f"""
WITH target AS (
    SELECT k.killmail_id, k.killmail_time, k.victim_ship_type_id
    FROM killmails k
    WHERE k.killmail_id = ANY(%(ids)s)
      AND (k.value_source IS NULL OR k.value_source = 'computed')
),
item_rows AS (
    SELECT
        i.killmail_id,
        i.killmail_time,
        ({_UNIT_PRICE}) AS unit_price,
        p.type_id IS NOT NULL AS priced,
        i.parent_index,
        i.flag,
        i.quantity_dropped,
        i.quantity_destroyed
    FROM items i
    JOIN target t
      ON t.killmail_id = i.killmail_id AND t.killmail_time = i.killmail_time
    LEFT JOIN prices p ON p.type_id = i.item_type_id
),
item_sums AS (
    SELECT
        killmail_id,
        killmail_time,
        bool_or(priced) AS any_priced,
        sum(unit_price * quantity_dropped) AS dropped,
        sum(unit_price * quantity_destroyed) AS destroyed,
        sum(unit_price * (quantity_dropped + quantity_destroyed))
            FILTER (WHERE parent_index IS NULL AND flag IN ({_FITTED_LIST}))
            AS fitted
    FROM item_rows
    GROUP BY killmail_id, killmail_time
),
computed AS (
    SELECT
        t.killmail_id,
        t.killmail_time,
        coalesce(hull.average_price, nullif(hull.adjusted_price, 0), 0) AS hull,
        coalesce(s.dropped, 0) AS dropped,
        coalesce(s.destroyed, 0) AS destroyed,
        coalesce(s.fitted, 0) AS fitted,
        hull.type_id IS NOT NULL OR coalesce(s.any_priced, false) AS any_priced
    FROM target t
    LEFT JOIN item_sums s
      ON s.killmail_id = t.killmail_id AND s.killmail_time = t.killmail_time
    LEFT JOIN prices hull ON hull.type_id = t.victim_ship_type_id
)
UPDATE killmails k
SET total_value = round((c.hull + c.dropped + c.destroyed)::numeric, 2),
    fitted_value = round((c.hull + c.fitted)::numeric, 2),
    dropped_value = round(c.dropped::numeric, 2),
    destroyed_value = round((c.hull + c.destroyed)::numeric, 2),
    value_source = 'computed',
    updated_at = now()
FROM computed c
WHERE k.killmail_id = c.killmail_id
  AND k.killmail_time = c.killmail_time
  AND c.any_priced
""",
)

REVALUE_IDS = NamedSql(
    "valuation.revalue_ids",
    """
SELECT killmail_id
FROM killmails
WHERE (value_source IS NULL OR value_source = 'computed')
  AND killmail_id > %(after)s
ORDER BY killmail_id
LIMIT %(limit)s
""",
)

REVALUE_CHUNK = 20_000


def apply_computed_values(
    db: Database,
    conn: psycopg.Connection[Any] | None,
    killmail_ids: Iterable[int],
) -> int:
    """Compute ISK values for ``killmail_ids`` that lack zkb values.

    Runs on ``conn`` so that the caller's transaction (an import batch) keeps
    the killmails and their values together. Returns the number of killmails
    that got values; those with no priced type at all are left NULL.
    """
    ids = list(killmail_ids)
    if not ids:
        return 0
    return db.execute(APPLY, {"ids": ids}, conn=conn)


def revalue_all(db: Database, *, chunk: int = REVALUE_CHUNK) -> int:
    """Recompute the values of every killmail without zkb values.

    Runs in chunks of ``chunk`` killmails, each in its own transaction, so a
    price import over millions of killmails never holds one long lock.
    Returns the number of killmails that got values.
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
            with conn.transaction():
                updated += apply_computed_values(db, conn, ids)
            after = ids[-1]
    log.info("revalued %d killmails without zkb values", updated)
    return updated

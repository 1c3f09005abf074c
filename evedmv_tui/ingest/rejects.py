"""Reading back the records an import rejected.

A reject is resolved once the body of its killmail is stored, also when a
valid copy was stored before the record was rejected, or once it is
dismissed with ``evedmv rejects dismiss``. A hash conflict (a record whose
hash differs from the stored killmail's) needs the body stored after the
record was last rejected, so in practice a dismissal.
A reject without a killmail id (a whole file) is also resolved once a later
import read the same file to its end (see the view ``reject_states``). Lists
and counts leave resolved rejects out unless asked.

Killmail references whose id and hash ESI rejected with HTTP 422 are not
rejects. Their rows in ``killmail_index`` have the state ``invalid``, and
:func:`list_invalid` reads them back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from evedmv_tui.store.db import Database, load_sql


@dataclasses.dataclass(frozen=True, slots=True)
class RejectRow:
    """One rejected record as stored in ``rejects``.

    ``import_id`` is the latest import that rejected the record, and
    ``import_ids`` every import that did, oldest first. A record of ``evedmv
    prices import`` has no import, so None and an empty tuple.
    """

    reject_id: int
    import_id: int | None
    rejected_at: dt.datetime
    source_file: str
    position: str
    killmail_id: int | None
    field: str | None
    reason: str
    raw: str
    import_ids: tuple[int, ...] = ()
    resolved: bool = False
    """Whether the killmail's body is stored (for a hash conflict: stored
    after the record was rejected), a later import read the file of a reject
    without a killmail id to its end, or the reject was dismissed."""
    dismissed_at: dt.datetime | None = None
    """When ``evedmv rejects dismiss`` dismissed the reject; None when it was
    not dismissed since the record was last rejected."""

    @property
    def field_label(self) -> str | None:
        """The field as lists show it: ``victim.ship_type_id`` for the path
        ``$.victim.ship_type_id``, "whole record" for ``$``, None when unknown."""
        if not self.field:
            return None
        return "whole record" if self.field == "$" else self.field.removeprefix("$.")


@dataclasses.dataclass(frozen=True, slots=True)
class RejectCounts:
    """Stored rejects, and how many of them are resolved."""

    total: int
    resolved: int

    @property
    def unresolved(self) -> int:
        return self.total - self.resolved


def list_rejects(
    db: Database,
    *,
    limit: int = 50,
    import_id: int | None = None,
    resolved: bool | None = False,
    killmail_id: int | None = None,
) -> list[RejectRow]:
    """Return the newest rejects first, optionally of one import or killmail.

    ``resolved`` False lists the unresolved rejects, True the resolved
    ones, and None both. A record rejected by several imports is listed
    under each of them.
    """
    rows = db.fetch_all(
        load_sql("evedmv_tui.ingest", "list_rejects"),
        {
            "limit": limit,
            "import_id": import_id,
            "resolved": resolved,
            "killmail_id": killmail_id,
        },
        row=RejectRow,
    )
    # psycopg returns arrays as lists.
    return [dataclasses.replace(r, import_ids=tuple(r.import_ids)) for r in rows]


def count_rejects(db: Database, *, import_id: int | None = None) -> RejectCounts:
    """Return how many rejects are stored and resolved, optionally of one import."""
    counts = db.fetch_one(
        load_sql("evedmv_tui.ingest", "count_rejects"),
        {"import_id": import_id},
        row=RejectCounts,
    )
    return counts if counts is not None else RejectCounts(0, 0)


@dataclasses.dataclass(frozen=True, slots=True)
class InvalidRow:
    """A killmail reference whose id and hash ESI rejected with HTTP 422."""

    killmail_id: int
    killmail_hash: str
    source: str
    """The shape of the document that brought the reference, such as ``zkb-only``."""
    attempts: int
    """Fetches of the pair from ESI, the rejected one included."""
    last_error: str | None
    """ESI's message for the rejected fetch."""
    marked_at: dt.datetime
    """When the fetcher marked the pair invalid."""


def list_invalid(db: Database, *, limit: int = 50) -> list[InvalidRow]:
    """Return the killmail references ESI rejected, the newest marked first."""
    return db.fetch_all(
        load_sql("evedmv_tui.ingest", "list_invalid"), {"limit": limit}, row=InvalidRow
    )


def count_invalid(db: Database) -> int:
    """Return how many killmail references ESI rejected as invalid."""
    return int(db.fetch_value(load_sql("evedmv_tui.ingest", "count_invalid")) or 0)


def import_exists(db: Database, import_id: int) -> bool:
    """Return whether an import with this id is recorded."""
    return bool(
        db.fetch_value(
            "SELECT EXISTS (SELECT 1 FROM imports WHERE import_id = %s)",
            (import_id,),
        )
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Dismissal:
    """The outcome of ``evedmv rejects dismiss``.

    ``missing`` lists the requested reject ids that are not stored. When it
    is not empty, nothing was dismissed.
    """

    dismissed: int
    """Rejects that this call dismissed."""
    already: int
    """Requested rejects that were dismissed before, which keep that time."""
    missing: tuple[int, ...] = ()


_DISMISS_IDS = """
WITH missing AS (
    SELECT w.reject_id
    FROM unnest(%(ids)s::bigint[]) AS w(reject_id)
    WHERE NOT EXISTS (SELECT 1 FROM rejects AS r WHERE r.reject_id = w.reject_id)
), dismissed AS (
    UPDATE rejects
    SET dismissed_at = now()
    WHERE reject_id = ANY(%(ids)s::bigint[])
      AND dismissed_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM missing)
    RETURNING reject_id
)
SELECT ARRAY(SELECT DISTINCT reject_id FROM missing ORDER BY reject_id),
       (SELECT count(*) FROM dismissed)
"""

_DISMISS_IMPORT = """
WITH dismissed AS (
    UPDATE rejects AS r
    SET dismissed_at = now()
    FROM reject_imports AS i
    WHERE i.reject_id = r.reject_id
      AND i.import_id = %(import_id)s::bigint
      AND r.dismissed_at IS NULL
    RETURNING r.reject_id
)
SELECT (SELECT count(*) FROM reject_imports WHERE import_id = %(import_id)s::bigint),
       (SELECT count(*) FROM dismissed)
"""


def dismiss_rejects(db: Database, reject_ids: Sequence[int]) -> Dismissal:
    """Mark the rejects ``reject_ids`` as dismissed, keeping their rows.

    One statement checks and updates, so when any id is not stored,
    nothing is dismissed and the result lists the missing ids.
    """
    ids = sorted(set(reject_ids))
    row = db.fetch_one(_DISMISS_IDS, {"ids": ids})
    assert row is not None
    missing, dismissed = tuple(row[0]), int(row[1])
    if missing:
        return Dismissal(0, 0, missing)
    return Dismissal(dismissed, len(ids) - dismissed)


def dismiss_import_rejects(db: Database, import_id: int) -> Dismissal:
    """Mark every reject of import ``import_id`` as dismissed."""
    row = db.fetch_one(_DISMISS_IMPORT, {"import_id": import_id})
    assert row is not None
    total, dismissed = int(row[0]), int(row[1])
    return Dismissal(dismissed, total - dismissed)

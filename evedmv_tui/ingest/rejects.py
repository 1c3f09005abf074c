"""Reading back the records an import rejected.

A reject is resolved once the body of its killmail is stored after the
record was last rejected: a fixed record imported again, or the body
fetched from ESI. Lists and counts leave resolved rejects out unless asked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

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
    """Whether the killmail's body was stored after the record was rejected."""


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


def import_exists(db: Database, import_id: int) -> bool:
    """Return whether an import with this id is recorded."""
    return bool(
        db.fetch_value(
            "SELECT EXISTS (SELECT 1 FROM imports WHERE import_id = %s)",
            (import_id,),
        )
    )

"""Incremental search by name or id over characters, corporations, alliances
and solar systems.

One statement per keystroke. A query of one or two characters matches name
prefixes only (a trigram index cannot help below three characters); from
three characters on, names containing the query match too.
"""

from __future__ import annotations

import dataclasses
import re

from evedmv_tui.names import unnamed
from evedmv_tui.store.db import Database, load_sql
from evedmv_tui.store.telemetry import operation
from evedmv_tui.widgets.text import quote_value

SEARCH_LIMIT = 20
MIN_SUBSTRING = 3
"""Shortest query that also matches inside names (the trigram length)."""
KINDS = ("character", "corporation", "alliance", "solar_system")

_DIGITS = re.compile(r"^\d{1,19}$")
MAX_ID = 2**63 - 1
"""The largest id a bigint column can store."""


@dataclasses.dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result; ``kind`` is an ESI name category."""

    kind: str
    entity_id: int
    name: str | None
    """The stored name, or None for an id that only killmails name."""
    rank: int
    """0 id match, 1 exact name, 2 name prefix, 3 a later word's prefix,
    4 other substring."""

    @property
    def label(self) -> str:
        """The name, or ``#id`` while no name is stored."""
        return self.name if self.name is not None else unnamed(self.entity_id)


def escape_like(text: str) -> str:
    """Escape ``%``, ``_`` and ``\\`` so ``text`` matches literally in LIKE."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_id(text: str) -> int | None:
    """Return ``text`` as an id if it is one from 1 to 2^63-1, else None.

    Other digits (0, or past 2^63-1) cannot be a stored id, so callers look
    them up as a name.
    """
    if not _DIGITS.match(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def id_range_hint(query: str) -> str | None:
    """Return a hint when ``query`` is a whole number outside the id range.

    A leading minus sign counts, so ``-5`` gets this hint and not the
    name-matching one.
    """
    text = query.strip()
    if not text.removeprefix("-").isdecimal() or parse_id(text) is not None:
        return None
    return f"ids run from 1 to {MAX_ID}, so {quote_value(text)} is not a valid id"


def search_parameters(query: str, limit: int) -> dict[str, object]:
    """Return the parameters of ``search.sql`` for a stripped, non-empty query."""
    lowered = escape_like(query.lower())
    return {
        "text": query,
        "prefix": lowered + "%",
        "contains": f"%{lowered}%" if len(query) >= MIN_SUBSTRING else None,
        "word": f"% {lowered}%",
        "entity_id": parse_id(query),
        "limit": limit,
    }


def search(db: Database, text: str, *, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Return up to ``limit`` entities and systems matching ``text``, best first."""
    query = text.strip()
    if not query:
        return []
    with operation("intel.search"):
        return db.fetch_all(
            load_sql("evedmv_tui.intel", "search"),
            search_parameters(query, limit),
            row=SearchHit,
        )

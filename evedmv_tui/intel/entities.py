"""Entity kinds, periods, and finding an entity by id or name."""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Iterable

from psycopg import sql

from evedmv_tui.intel.search import MIN_SUBSTRING, escape_like, parse_id
from evedmv_tui.store.db import Database, NamedSql, load_sql

MAX_CANDIDATES = 10
"""How many entities a name lookup lists before asking for an id."""
MAX_COUNTED = 1000
"""Maximum matches a name lookup counts. A larger total is shown as "more than"."""


class EntityKind(enum.StrEnum):
    """An entity that has a page; the value is the ESI name category."""

    CHARACTER = "character"
    CORPORATION = "corporation"
    ALLIANCE = "alliance"

    @property
    def attacker_column(self) -> str:
        return f"{self.value}_id"

    @property
    def victim_column(self) -> str:
        return f"victim_{self.value}_id"


class Period(enum.StrEnum):
    """A page period. It ends at the entity's newest kill or loss."""

    WEEK = "7d"
    MONTH = "30d"
    QUARTER = "90d"
    ALL = "all"

    @property
    def days(self) -> int | None:
        return None if self is Period.ALL else int(self.value[:-1])

    @property
    def label(self) -> str:
        return "all time" if self is Period.ALL else f"last {self.days} days"


@dataclasses.dataclass(frozen=True, slots=True)
class EntityRef:
    """One character, corporation or alliance, with its stored name if known."""

    kind: EntityKind
    entity_id: int
    name: str | None

    @property
    def title(self) -> str:
        return self.name or f"{self.kind.value} {self.entity_id}"


class EntityMatches(list[EntityRef]):
    """The entities a lookup found, best first, and how many match in all."""

    def __init__(self, refs: Iterable[EntityRef] = (), total: int = 0) -> None:
        super().__init__(refs)
        self.total = max(total, len(self))
        """All matches, of which the list contains the first, counted up to
        one more than :data:`MAX_COUNTED`."""
        self.names_stored = True
        """False when a name found nothing and no name of its kind is stored."""

    @property
    def more_than_listed(self) -> bool:
        """Whether more entities match than a list of candidates shows."""
        return self.total > min(len(self), MAX_CANDIDATES)


@dataclasses.dataclass(frozen=True, slots=True)
class _IdRow:
    name: str | None
    has_killmails: bool


@dataclasses.dataclass(frozen=True, slots=True)
class _NameRow:
    entity_id: int
    name: str
    total: int


@functools.cache
def kind_sql(name: str, kind: EntityKind) -> NamedSql:
    """Load ``intel/sql/<name>.sql`` with the entity columns of ``kind`` filled in.

    The columns come from :class:`EntityKind`, never from user input; they are
    quoted with :mod:`psycopg.sql` all the same.
    """
    template = load_sql("evedmv_tui.intel", name)
    text = sql.SQL(template.text).format(  # type: ignore[arg-type]
        attacker=sql.Identifier(kind.attacker_column),
        victim=sql.Identifier(kind.victim_column),
    )
    return NamedSql(f"{template.name}.{kind.value}", text.as_string())


def candidates_heading(kind: EntityKind, matches: EntityMatches, query: str) -> str:
    """Return how many entities of ``kind`` match ``query``, and how many are listed.

    The listed ones are the first :data:`MAX_CANDIDATES` of ``matches``.
    """
    if matches.total > MAX_COUNTED:
        count = f"more than {MAX_COUNTED:,}"
    else:
        count = f"{matches.total:,}"
    heading = f"{count} {kind.value}s match {query!r}"
    if matches.more_than_listed:
        heading += f"; the first {min(len(matches), MAX_CANDIDATES)} are listed"
    return heading


def find_entities(
    db: Database, kind: EntityKind, query: str, *, limit: int = MAX_CANDIDATES
) -> EntityMatches:
    """Return the entities of ``kind`` that ``query`` (an id or a name) names.

    An id is found when a name is stored for it or a killmail mentions it. A
    name matches exactly, ignoring case. Only when nothing matches exactly
    are names returned that start with it or, for a query of at least
    :data:`~evedmv_tui.intel.search.MIN_SUBSTRING` characters, have a later
    word that starts with it. At most ``limit`` are returned, name prefixes
    first, then the others, each in alphabetical order. The result's
    ``total`` counts every match, up to one more than :data:`MAX_COUNTED`.
    """
    text = query.strip()
    if not text:
        return EntityMatches()
    entity_id = parse_id(text)
    if entity_id is not None:
        found = db.fetch_one(
            kind_sql("entity_by_id", kind),
            {"entity_id": entity_id, "category": kind.value},
            row=_IdRow,
        )
        if found is not None and (found.name is not None or found.has_killmails):
            return EntityMatches([EntityRef(kind, entity_id, found.name)])
        return EntityMatches()
    lowered = escape_like(text.lower())
    rows = db.fetch_all(
        load_sql("evedmv_tui.intel", "entity_by_name"),
        {
            "category": kind.value,
            "name": text,
            "prefix": lowered + "%",
            "word": f"% {lowered}%" if len(text) >= MIN_SUBSTRING else None,
            "limit": limit,
            "count_limit": MAX_COUNTED + 1,
        },
        row=_NameRow,
    )
    return EntityMatches(
        (EntityRef(kind, row.entity_id, row.name) for row in rows),
        rows[0].total if rows else 0,
    )

"""Reading ``pg_stat_statements``: column choice by extension version, texts,
fingerprints and the hidden rows of other roles.

The counters query runs every poll with ``showtext => false``, which is cheap;
query texts are fetched only for query ids not seen before and kept in a
bounded cache (``monitor.query_texts`` in the cache registry).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from evedmv_tui.cache import LRUCache
from evedmv_tui.store.db import Database, NamedSql, load_sql

log = logging.getLogger(__name__)

Connection = psycopg.Connection[Any]

MONITOR_MARKER = "/* evedmv-monitor */"
"""Leading comment of every monitor query; ``pg_stat_statements`` keeps it in
the stored text, so the monitor's own entries can be recognised."""

HIDDEN_TEXT = "<insufficient privilege>"
"""The text ``pg_stat_statements`` shows for other roles' entries when the
current role lacks ``pg_read_all_stats``."""

HIDDEN_LABEL = "other roles (hidden)"

OLDEST_SUPPORTED = (1, 2)
"""``queryid`` first appeared in pg_stat_statements 1.2 (PostgreSQL 9.4)."""


def parse_version(text: str) -> tuple[int, int]:
    """Parse an ``extversion`` such as ``1.10`` into ``(1, 10)``."""
    parts = text.strip().split(".")
    try:
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise ValueError(f"invalid pg_stat_statements version {text!r}") from None
    return major, minor


def statements_query_name(version: tuple[int, int]) -> str:
    """Return the name of the counters query for an installed extension version.

    The column set depends on the extension version, not the server version:
    ``total_time`` was split into plan and execution time in 1.8, ``toplevel``
    appeared in 1.9, and ``blk_read_time``/``blk_write_time`` were renamed to
    ``shared_blk_*_time`` (with new ``local_blk_*_time``) in 1.11.
    """
    if version < OLDEST_SUPPORTED:
        raise ValueError(
            f"pg_stat_statements {version[0]}.{version[1]} has no queryid;"
            " 1.2 or later is required"
        )
    if version < (1, 8):
        return "statements_1_2"
    if version < (1, 9):
        return "statements_1_8"
    if version < (1, 11):
        return "statements_1_9"
    return "statements_1_11"


def has_info_view(version: tuple[int, int]) -> bool:
    """Tell whether ``pg_stat_statements_info`` exists (1.9 and later)."""
    return version >= (1, 9)


def in_schema(name: str, schema: str) -> NamedSql:
    """Load a monitor SQL file and put the extension's schema into it."""
    loaded = load_sql("evedmv_tui.monitor", name)
    text = sql.SQL(loaded.text).format(schema=sql.Identifier(schema))
    return NamedSql(loaded.name, text.as_string(None))


TextKey = tuple[int, int, int]
"""(userid, dbid, queryid): what a stored query text belongs to."""


class StatementKey(NamedTuple):
    """The identity of one ``pg_stat_statements`` entry."""

    userid: int
    dbid: int
    queryid: int
    """Signed 64-bit, exactly as the server returns it."""
    toplevel: bool

    @property
    def text_key(self) -> TextKey:
        return (self.userid, self.dbid, self.queryid)


@dataclasses.dataclass(frozen=True, slots=True)
class StatementRow:
    """One row of the counters query; times in milliseconds."""

    userid: int
    dbid: int
    toplevel: bool
    queryid: int | None
    """NULL for other roles' entries without ``pg_read_all_stats``."""
    calls: int | None
    total_exec_time: float | None
    total_plan_time: float | None
    rows: int | None
    shared_blks_hit: int | None
    shared_blks_read: int | None
    shared_blks_dirtied: int | None
    shared_blks_written: int | None
    temp_blks_read: int | None
    temp_blks_written: int | None
    blk_read_time: float | None
    blk_write_time: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class Counters:
    """Cumulative counters of one entry, or the sum of several; NULL is zero."""

    calls: int = 0
    exec_ms: float = 0.0
    plan_ms: float = 0.0
    rows: int = 0
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    shared_blks_dirtied: int = 0
    shared_blks_written: int = 0
    temp_blks_read: int = 0
    temp_blks_written: int = 0
    blk_read_ms: float = 0.0
    blk_write_ms: float = 0.0

    @classmethod
    def from_row(cls, row: StatementRow) -> Counters:
        return cls(
            row.calls or 0,
            row.total_exec_time or 0.0,
            row.total_plan_time or 0.0,
            row.rows or 0,
            row.shared_blks_hit or 0,
            row.shared_blks_read or 0,
            row.shared_blks_dirtied or 0,
            row.shared_blks_written or 0,
            row.temp_blks_read or 0,
            row.temp_blks_written or 0,
            row.blk_read_time or 0.0,
            row.blk_write_time or 0.0,
        )

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            *(
                getattr(self, f.name) + getattr(other, f.name)
                for f in dataclasses.fields(Counters)
            )
        )

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            *(
                getattr(self, f.name) - getattr(other, f.name)
                for f in dataclasses.fields(Counters)
            )
        )

    def has_negative(self) -> bool:
        """Tell whether any counter is below zero (a reset or eviction)."""
        return any(getattr(self, f.name) < 0 for f in dataclasses.fields(Counters))


@dataclasses.dataclass(frozen=True, slots=True)
class StatementSet:
    """All entries of one poll, keyed, with other roles' hidden rows summed."""

    entries: dict[StatementKey, Counters]
    hidden: Counters | None = None
    """Sum of the rows whose queryid is NULL, or None when there are none."""
    hidden_rows: int = 0
    duplicates: int = 0
    """Rows that repeated a key already seen; their counters were added."""


def build_statement_set(rows: list[StatementRow]) -> StatementSet:
    """Key the rows by (userid, dbid, queryid, toplevel) and sum hidden rows.

    A NULL queryid is never used as a key: such rows are other roles' entries
    that the current role may not see, and they are summed into one row.
    """
    entries: dict[StatementKey, Counters] = {}
    hidden: Counters | None = None
    hidden_rows = 0
    duplicates = 0
    for row in rows:
        counters = Counters.from_row(row)
        if row.queryid is None:
            hidden = counters if hidden is None else hidden + counters
            hidden_rows += 1
            continue
        key = StatementKey(row.userid, row.dbid, row.queryid, bool(row.toplevel))
        if key in entries:
            duplicates += 1
            entries[key] = entries[key] + counters
        else:
            entries[key] = counters
    if duplicates:
        log.debug("pg_stat_statements returned %d duplicate keys", duplicates)
    return StatementSet(entries, hidden, hidden_rows, duplicates)


# -- fingerprints ---------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*|)\$.*?\$(?P=tag)\$)
    | (?P<string>[EeBbXxNn]?'(?:[^']|'')*')
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<param>\$\d+|%\(\w+\)s|%s|\?)
    | (?P<number>(?<![\w$])\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")


def normalize_query(query_text: str) -> str:
    """Return the query with comments, literals and parameters made uniform.

    Constants and parameters (``$1``, ``%s``, ``%(name)s``) become ``?``,
    lists of them become ``(?)``, unquoted words are lowercased and
    whitespace collapses to single spaces, so the text PostgreSQL normalised
    and the text the application sent compare equal.
    """
    parts: list[str] = []
    for match in _TOKEN.finditer(query_text):
        kind = match.lastgroup
        if kind == "comment":
            parts.append(" ")
        elif kind in {"dollar", "string", "param", "number"}:
            parts.append("?")
        elif kind == "ident":
            parts.append(match.group())
        elif kind == "space":
            parts.append(" ")
        else:
            parts.append(match.group().lower())
    text = " ".join("".join(parts).split())
    text = _LIST.sub("(?)", text)
    text = re.sub(r"\s*([(),=<>+*/-])\s*", r"\1", text)
    return text.rstrip("; ")


def fingerprint(query_text: str) -> str:
    """Return a stable id of the normalised query text (16 hex digits).

    A statement keeps its fingerprint when its queryid changes (a new server
    major version, a changed ``search_path``), so baselines can follow it.
    """
    normalized = normalize_query(query_text)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:16]


def is_monitor_query(query_text: str | None) -> bool:
    """Tell whether a stored text is one of the monitor's own queries."""
    return query_text is not None and query_text.lstrip().startswith(MONITOR_MARKER)


def clip(text: str, width: int = 120) -> str:
    """Return the text as one line of at most ``width`` characters."""
    line = " ".join(text.split())
    if len(line) <= width:
        return line
    return line[: max(width - 1, 0)] + "…"


def has_single_statement(query_text: str) -> bool:
    """Tell whether the text holds one statement (no ``;`` but a trailing one)."""
    code = "".join(
        match.group()
        for match in _TOKEN.finditer(query_text)
        if match.lastgroup in {"other", "space", "number", "param"}
    )
    return ";" not in code.strip().rstrip(";")


# -- reading --------------------------------------------------------------


class StatementReader:
    """Reads counters each poll and query texts once per query id."""

    def __init__(self, schema: str, version: tuple[int, int]) -> None:
        self.schema = schema
        self.version = version
        self.counters_query = in_schema(statements_query_name(version), schema)
        self.texts_query = in_schema("statement_texts", schema)
        self.info_query = (
            in_schema("statements_info", schema) if has_info_view(version) else None
        )
        self.texts: LRUCache[TextKey, str] = LRUCache(
            "monitor.query_texts", 10_000, register=True
        )

    def read_rows(self, db: Database, conn: Connection) -> list[StatementRow]:
        return db.fetch_all(self.counters_query, row=StatementRow, conn=conn)

    def read_info(
        self, db: Database, conn: Connection
    ) -> tuple[int, float | None] | None:
        """Return (dealloc, stats_reset epoch) or None before 1.9."""
        if self.info_query is None:
            return None
        found = db.fetch_one(self.info_query, conn=conn)
        if found is None:
            return None
        dealloc, reset = found
        return int(dealloc or 0), reset.timestamp() if reset is not None else None

    def fetch_texts(
        self, db: Database, conn: Connection, keys: set[TextKey]
    ) -> dict[TextKey, str]:
        """Return texts of ``keys``, querying only the ones not cached."""
        found, missing = self.texts.get_many(keys)
        if missing:
            rows = db.fetch_all(
                self.texts_query,
                {"queryids": sorted({key[2] for key in missing})},
                conn=conn,
            )
            loaded = {
                (int(userid), int(dbid), int(queryid)): str(query)
                for userid, dbid, queryid, query in rows
            }
            self.texts.put_many(loaded.items())
            found.update((key, loaded[key]) for key in missing if key in loaded)
        return found

"""Reading ``pg_stat_statements``: column choice by extension version, texts,
fingerprints and the hidden rows of other roles.

The counters query runs every poll with ``showtext => false``, which is cheap;
query texts are fetched only for query ids not seen before and kept in a
bounded cache (``monitor.query_texts`` in the cache registry).

Where the session may create a temporary table, the server keeps the
previous poll's counters in it. It then returns only the entries that
changed and the keys of the entries that are gone, so a poll decodes a few
rows instead of every entry (see :meth:`StatementReader.read_set`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import operator
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, cast

import psycopg
from psycopg import errors, sql

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


class StatementRow(NamedTuple):
    """One row of the counters query; times in milliseconds.

    The counters query returns plain tuples in this column order, and
    :func:`build_statement_set` takes those too, because building a record
    per row costs more than the rest of a poll's work on unchanged rows.
    """

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


class Counters(NamedTuple):
    """Cumulative counters of one entry, or the sum of several; NULL is zero.

    A named tuple, because the monitor builds and subtracts tens of these
    per poll and a tuple is several times cheaper to create than a frozen
    dataclass. ``+`` and ``-`` work field by field, not as tuple
    concatenation.
    """

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
    def from_row(cls, row: RawStatementRow) -> Counters:
        """Take the counters of a row in :class:`StatementRow` column order."""
        # tuple.__new__ skips the named tuple's Python-level __new__, which
        # doubles the cost of building one (224 ns against 112 ns in a loop).
        return tuple.__new__(
            cls,
            (
                row[4] or 0,
                row[5] or 0.0,
                row[6] or 0.0,
                row[7] or 0,
                row[8] or 0,
                row[9] or 0,
                row[10] or 0,
                row[11] or 0,
                row[12] or 0,
                row[13] or 0,
                row[14] or 0.0,
                row[15] or 0.0,
            ),
        )

    def __add__(self, other: Counters) -> Counters:  # type: ignore[override]
        return tuple.__new__(Counters, map(operator.add, self, other))

    def __sub__(self, other: Counters) -> Counters:
        return tuple.__new__(Counters, map(operator.sub, self, other))

    def has_negative(self) -> bool:
        """Tell whether any counter is below zero (a reset or eviction)."""
        return min(self) < 0


RawStatementRow = tuple[Any, ...]
"""A row of the counters query in :class:`StatementRow` column order."""


@dataclasses.dataclass(frozen=True, slots=True)
class StatementSet:
    """All entries of one poll, keyed, with other roles' hidden rows summed."""

    entries: dict[StatementKey, Counters]
    hidden: Counters | None = None
    """Sum of the rows whose queryid is NULL, or None when there are none."""
    hidden_rows: int = 0
    duplicates: int = 0
    """Rows that repeated a key already seen; their counters were added."""
    parsed: dict[RawStatementRow, tuple[StatementKey | None, Counters]] = (
        dataclasses.field(default_factory=dict, repr=False, compare=False)
    )
    """Key and counters of each row of this poll, by the whole row, so the
    next poll reuses both objects for every row that did not change."""


def build_statement_set(
    rows: Iterable[RawStatementRow], previous: StatementSet | None = None
) -> StatementSet:
    """Key the rows by (userid, dbid, queryid, toplevel) and sum hidden rows.

    A NULL queryid is never used as a key: such rows are other roles' entries
    that the current role may not see, and they are summed into one row.
    A row equal to one of ``previous`` gets that poll's key and
    :class:`Counters` objects, so :func:`statement_deltas` sees an unchanged
    entry by identity.
    """
    rows = list(rows)
    known = previous.parsed if previous is not None else {}
    pairs = [known.get(row) or _parse_row(row) for row in rows]
    parsed = dict(zip(rows, pairs, strict=True))
    keyed = dict(pairs)
    if len(keyed) == len(pairs) and None not in keyed:
        # The usual case, without hidden rows or repeated keys.
        entries = cast(dict[StatementKey, Counters], keyed)
        return StatementSet(entries, None, 0, 0, parsed)

    # Hidden rows or repeated keys: sum them one row at a time.
    entries = {}
    hidden: Counters | None = None
    hidden_rows = 0
    duplicates = 0
    for key, counters in pairs:
        if key is None:
            hidden = counters if hidden is None else hidden + counters
            hidden_rows += 1
            continue
        if key in entries:
            duplicates += 1
            entries[key] = entries[key] + counters
        else:
            entries[key] = counters
    if duplicates:
        log.debug("pg_stat_statements returned %d duplicate keys", duplicates)
    return StatementSet(entries, hidden, hidden_rows, duplicates, parsed)


def apply_changes(base: StatementSet, rows: Iterable[RawStatementRow]) -> StatementSet:
    """Return ``base`` with the rows of the changes query applied.

    Each row is in :class:`StatementRow` column order followed by the
    ``removed`` flag: a changed entry replaces its counters, a removed one
    drops its key. Rows with a NULL queryid (other roles' entries) are
    summed as in :func:`build_statement_set`. ``base``'s hidden sum is not
    kept, because the changes query returns every such row each time.
    Unchanged entries keep their :class:`Counters` objects, so
    :func:`statement_deltas` skips them by identity.
    """
    return _apply_changes(base, rows)[0]


def _apply_changes(
    base: StatementSet, rows: Iterable[RawStatementRow]
) -> tuple[StatementSet, list[StatementKey]]:
    """Apply the rows as :func:`apply_changes` does, and also return their keys."""
    entries = dict(base.entries)
    keys: list[StatementKey] = []
    hidden: Counters | None = None
    hidden_rows = 0
    from_row = Counters.from_row
    new_key = _new_key
    for row in rows:
        queryid = row[3]
        if queryid is None:
            counters = from_row(row)
            hidden = counters if hidden is None else hidden + counters
            hidden_rows += 1
            continue
        key = new_key((row[0], row[1], queryid, bool(row[2])))
        keys.append(key)
        if row[16]:
            entries.pop(key, None)
        else:
            entries[key] = from_row(row)
    return StatementSet(entries, hidden, hidden_rows), keys


_new_key = cast(
    Callable[[tuple[Any, ...]], StatementKey],
    functools.partial(tuple.__new__, StatementKey),
)
"""Build a :class:`StatementKey` from a tuple of its fields, without the
named tuple's Python-level ``__new__``; a poll makes one per changed entry."""


Info = tuple[int, float | None] | None
"""``pg_stat_statements_info``'s dealloc and stats_reset (epoch seconds), or
None before 1.9."""


def _info(dealloc: int | None, stats_reset: float | None) -> Info:
    if dealloc is None and stats_reset is None:
        return None
    return int(dealloc or 0), stats_reset


def _parse_row(row: RawStatementRow) -> tuple[StatementKey | None, Counters]:
    queryid = row[3]
    if queryid is None:
        return None, Counters.from_row(row)
    return _new_key((row[0], row[1], queryid, bool(row[2]))), Counters.from_row(row)


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
    | (?P<word>[A-Za-z_](?:(?![EeBbXxNn]')[A-Za-z_0-9])*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_QUOTED = re.compile(
    r"""
    --[^\n]*
    | /\*.*?\*/
    | \$(?P<tag>[A-Za-z_][A-Za-z_0-9]*|)\$.*?\$(?P=tag)\$
    | '(?:[^']|'')*'
    | "(?:[^"]|"")*"
    """,
    re.VERBOSE | re.DOTALL,
)
"""The first four kinds of ``_TOKEN``, the parts of a text that are not code,
without a string's prefix letter, which :func:`normalize_query` adds. Every
alternative starts with a fixed character, so the regular expression engine
skips ahead to the next ``-``, ``/``, ``$``, ``'`` or ``"`` in C instead of
trying the pattern at every position. On a 180-character statement, a scan
took 1.3 µs this way and 3.1 µs with a look-ahead in front and the prefix in
the pattern (Python 3.11, best of 5 loops of 2,000 scans)."""
_PREFIXES = "EeBbXxNn"
"""The letters that may start a string constant: E'', B'', X'' and N''."""
_CONSTANT = re.compile(
    r"(?=[$%?\d])(?:\$\d+|%\(\w+\)s|%s|\?|(?<![\w$])\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
)
"""``_TOKEN``'s parameters and numbers. The look-ahead skips positions where
none of them can start."""
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")
_TIGHT_CHARACTERS = "(),=<>+*/-"
"""Characters that a normalised text never has a space next to."""


def normalize_query(query_text: str) -> str:
    """Return the query with comments, literals and parameters made uniform.

    Constants and parameters (``$1``, ``%s``, ``%(name)s``) become ``?``,
    lists of them become ``(?)``, unquoted words are lowercased and
    whitespace collapses to single spaces, so the text PostgreSQL normalised
    and the text the application sent compare equal.

    The result equals reading the text token by token with ``_TOKEN``, as
    :func:`has_single_statement` does, but the work runs in the regular
    expression engine: comments, quoted strings and quoted identifiers are
    found first, and each stretch of code between them is rewritten whole.
    """
    parts: list[str] = []
    position = 0
    after_dollar = False
    for match in _QUOTED.finditer(query_text):
        start, end = match.span()
        first = query_text[start]
        # _TOKEN never reads a prefix letter right before a quote as part of
        # a word, number or parameter, so it starts the string unless it
        # belongs to the quoted part before.
        if first == "'" and start > position and query_text[start - 1] in _PREFIXES:
            start -= 1
        if start > position:
            parts.append(_normalize_code(query_text[position:start], after_dollar))
        if first == "-" or first == "/":
            parts.append(" ")
        elif first == '"':
            parts.append(query_text[start:end])
        else:
            parts.append("?")
        position = end
        after_dollar = first == "$"
    if position < len(query_text):
        parts.append(_normalize_code(query_text[position:], after_dollar))
    text = " ".join("".join(parts).split())
    text = _LIST.sub("(?)", text)
    # Whitespace is single spaces now, so dropping the spaces next to these
    # characters equals re.sub(r"\s*([(),=<>+*/-])\s*", r"\1", text), at a
    # fraction of its cost. The membership test skips the two copies for a
    # character the text does not contain, which is most of them.
    for char in _TIGHT_CHARACTERS:
        if char in text:
            text = text.replace(" " + char, char).replace(char + " ", char)
    return text.rstrip("; ")


def _normalize_code(code: str, after_dollar: bool) -> str:
    """Replace constants and parameters with ``?`` and lowercase the rest.

    In the whole text, ``_TOKEN``'s look-behind does not treat a number
    right after a dollar-quoted string (which ends in ``$``) as a constant.
    Code that follows such a string therefore gets a leading word character
    while its constants are replaced, so the result matches.
    """
    if after_dollar:
        return _CONSTANT.sub("?", "x" + code)[1:].lower()
    return _CONSTANT.sub("?", code).lower()


FINGERPRINTS: LRUCache[str, str] = LRUCache("monitor.fingerprints", 8192)
"""Fingerprints by query text: normalising a text costs far more than a lookup."""


def fingerprint(query_text: str) -> str:
    """Return a stable id of the normalised query text (16 hex digits).

    A statement keeps its fingerprint when its queryid changes (a new server
    major version, a changed ``search_path``), so baselines can follow it.
    """
    found = FINGERPRINTS.get(query_text)
    if found is None:
        normalized = normalize_query(query_text)
        found = hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:16]
        FINGERPRINTS.put(query_text, found)
    return found


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
        if match.lastgroup in {"other", "word", "space", "number", "param"}
    )
    return ";" not in code.strip().rstrip(";")


# -- reading --------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class QueryText:
    """A stored query text, fingerprinted on first use.

    A text loaded but never listed (a statement that ran once before the
    monitor started) is never normalised.
    """

    text: str
    own: bool
    """Whether the text is one of the monitor's own queries."""
    _fingerprint: str | None = None

    @classmethod
    def of(cls, query_text: str) -> QueryText:
        return cls(query_text, is_monitor_query(query_text))

    def __sizeof__(self) -> int:
        # Count the text, so the text cache's approx_bytes stays an estimate
        # of the texts it keeps.
        return object.__sizeof__(self) + sys.getsizeof(self.text)

    @property
    def fingerprint(self) -> str | None:
        """:func:`fingerprint` of the text, or None for the monitor's own queries."""
        if self.own:
            return None
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.text)
        return self._fingerprint


TEMPORARY_TABLE_VACUUM_ROWS = 5000
"""Rows updated or deleted in the sessions' temporary tables between two
``VACUUM`` runs of the table in use."""
TEXT_PREFETCH_MAX = 2000
"""Entries whose texts the first text query of a reader loads beyond those
requested (see :meth:`StatementReader.fetch_texts`)."""
MAX_SESSIONS = 4
"""Sessions whose temporary table the reader follows. The monitor's pool has
two connections, and a closed one keeps its entry until newer ones push it
out."""


class StatementReader:
    """Reads counters each poll and query texts once per query id."""

    def __init__(self, schema: str, version: tuple[int, int]) -> None:
        self.schema = schema
        self.version = version
        self.counters_query = in_schema(statements_query_name(version), schema)
        self.texts_query = in_schema("statement_texts", schema)
        self.every_text_query = in_schema("statement_texts_all", schema)
        self.info_query = (
            in_schema("statements_info", schema) if has_info_view(version) else None
        )
        self.texts: LRUCache[TextKey, QueryText] = LRUCache(
            "monitor.query_texts", 10_000, register=True
        )
        changes = load_sql("evedmv_tui.monitor", "statements_changes")
        info_name = (
            "statements_info" if has_info_view(version) else "statements_no_info"
        )
        self.changes_query = NamedSql(
            changes.name,
            sql.SQL(changes.text)
            .format(
                counters=sql.SQL(self.counters_query.text),
                info=sql.SQL(in_schema(info_name, schema).text),
            )
            .as_string(None),
        )
        self.incremental = True
        """False once a session could not keep the previous counters in a
        temporary table, so every poll reads all entries."""
        self._sessions: dict[int, StatementSet] = {}
        """The counters stored in each session's temporary table, by backend pid."""
        self._last: StatementSet | None = None
        self._changes: tuple[StatementSet, list[StatementKey]] | None = None
        """The set the last changes query was compared against, and the keys
        it returned."""
        self._rows_since_vacuum = 0
        self._prefetched = False
        """Whether a text query already loaded the texts of known entries."""

    def read_rows(self, db: Database, conn: Connection) -> list[RawStatementRow]:
        """Return every entry's counters as tuples in :class:`StatementRow` order.

        The rows come in binary format: every column is an integer, a float
        or a boolean, which psycopg converts for less CPU than from text.
        """
        return db.fetch_all(self.counters_query, conn=conn, binary=True)

    def tracks_session(self, pid: int) -> bool:
        """Tell whether session ``pid``'s temporary table contains the last poll.

        Only then may a caller run :attr:`changes_query` itself, in a query of
        its own, and pass its rows to :meth:`read_set`.
        """
        return self.incremental and pid in self._sessions

    def read_set(
        self,
        db: Database,
        conn: Connection,
        changes: list[RawStatementRow] | None = None,
    ) -> tuple[StatementSet, Info]:
        """Return every entry's counters, reading only what changed where it can.

        Also returns what :meth:`read_info` returns. The first poll on a
        session creates its temporary table, so the changes query returns
        every entry once. A session that may not create one (a standby, a
        role without TEMP) switches the reader to reading every entry each
        poll with :meth:`read_rows` and :meth:`read_info`.

        ``changes``, when given, are the rows of :attr:`changes_query` that
        the caller ran on ``conn`` right before, after :meth:`tracks_session`
        returned true for its session. The changes query then does not run
        again.
        """
        self._changes = None
        if changes is not None:
            return self._take_changes(db, conn, changes)
        if self.incremental:
            try:
                current, info = self._read_changes(db, conn)
            except (
                errors.InsufficientPrivilege,
                errors.ReadOnlySqlTransaction,
                errors.CardinalityViolation,
            ) as exc:
                log.info(
                    "pg_stat_statements: reading every entry each poll (%s)",
                    str(exc).strip().splitlines()[0],
                )
                self.incremental = False
                self._sessions.clear()
            else:
                self._last = current
                return current, info
        current = build_statement_set(self.read_rows(db, conn), self._last)
        self._last = current
        return current, self.read_info(db, conn)

    def _read_changes(
        self, db: Database, conn: Connection
    ) -> tuple[StatementSet, Info]:
        pid = conn.info.backend_pid
        # Taken out first, so a failed read makes the next one start over.
        base = self._sessions.pop(pid, None)
        rows: list[RawStatementRow] | None = None
        if base is not None:
            try:
                rows = db.fetch_all(self.changes_query, conn=conn, binary=True)
            except errors.UndefinedTable:
                # A new session that got the pid of a closed one.
                base = None
        if base is None or rows is None:
            db.execute(load_sql("evedmv_tui.monitor", "statements_table"), conn=conn)
            base = StatementSet({})
            rows = db.fetch_all(self.changes_query, conn=conn, binary=True)
        elif rows:
            self._count_changed_rows(db, conn, len(rows))
        return self._store_changes(pid, base, rows)

    def _take_changes(
        self, db: Database, conn: Connection, rows: list[RawStatementRow]
    ) -> tuple[StatementSet, Info]:
        """Apply changes rows that the caller read on ``conn``'s session."""
        pid = conn.info.backend_pid
        base = self._sessions.pop(pid, None)
        if base is None or not self.incremental:
            raise ValueError(f"no previous counters for session {pid}")
        current, info = self._store_changes(pid, base, rows)
        self._last = current
        if rows:
            self._count_changed_rows(db, conn, len(rows))
        return current, info

    def _count_changed_rows(self, db: Database, conn: Connection, rows: int) -> None:
        """Vacuum the temporary table once enough of its rows were rewritten."""
        self._rows_since_vacuum += rows
        if self._rows_since_vacuum >= TEMPORARY_TABLE_VACUUM_ROWS:
            self._rows_since_vacuum = 0
            db.execute(
                load_sql("evedmv_tui.monitor", "statements_table_vacuum"), conn=conn
            )

    def _store_changes(
        self, pid: int, base: StatementSet, rows: list[RawStatementRow]
    ) -> tuple[StatementSet, Info]:
        """Apply the changes rows to ``base`` and keep the result for ``pid``."""
        # With nothing changed, the one row carries only the info columns.
        info = _info(rows[0][17], rows[0][18]) if rows else None
        if rows and rows[0][0] is None:
            rows = []
        current, keys = _apply_changes(base, rows)
        self._changes = (base, keys)
        self._sessions[pid] = current
        while len(self._sessions) > MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        return current, info

    def changed_keys(self, previous: StatementSet) -> list[StatementKey] | None:
        """Return the keys whose counters may differ from ``previous``.

        That is the keys the last changes query returned, when it compared
        against ``previous`` itself (the same session as the previous poll).
        Otherwise, or after a full read, None: any key may have changed.
        """
        changes = self._changes
        if changes is None or changes[0] is not previous:
            return None
        return changes[1]

    def read_info(self, db: Database, conn: Connection) -> Info:
        """Return (dealloc, stats_reset epoch) or None before 1.9."""
        if self.info_query is None:
            return None
        found = db.fetch_one(self.info_query, conn=conn)
        if found is None:
            return None
        return _info(*found)

    def fetch_texts(
        self,
        db: Database,
        conn: Connection,
        keys: Iterable[TextKey],
        *,
        known: Iterable[StatementKey] = (),
    ) -> dict[TextKey, QueryText]:
        """Return the texts of ``keys``, querying only the ones not cached.

        The first query also loads the texts of up to
        :data:`TEXT_PREFETCH_MAX` entries of ``known`` (the entries the
        server lists now). One query that returns hundreds of texts costs far
        less client CPU than a query in each poll for the few entries that
        poll lists for the first time. When the requested and known entries
        fit in that limit, the query reads every text without sending query
        ids. Encoding hundreds of ids as an array parameter costs the client
        more CPU than the few extra texts of entries created since the
        counters were read.
        A text is fingerprinted once, the first time a poll lists its entry.
        """
        found, missing = self.texts.get_many(keys)
        if not missing:
            return found
        queryids = {key[2] for key in missing}
        every_text = False
        if not self._prefetched:
            self._prefetched = True
            known_ids = {key.queryid for key in known}
            if known_ids and len(queryids | known_ids) <= TEXT_PREFETCH_MAX:
                every_text = True
            else:
                for queryid in known_ids:
                    if len(queryids) >= TEXT_PREFETCH_MAX:
                        break
                    queryids.add(queryid)
        if every_text:
            rows = db.fetch_all(self.every_text_query, conn=conn, binary=True)
        else:
            rows = db.fetch_all(
                self.texts_query, {"queryids": sorted(queryids)}, conn=conn, binary=True
            )
        loaded = {
            (int(userid), int(dbid), int(queryid)): QueryText.of(str(query))
            for userid, dbid, queryid, query in rows
        }
        self.texts.put_many(loaded.items())
        found.update((key, loaded[key]) for key in missing if key in loaded)
        return found

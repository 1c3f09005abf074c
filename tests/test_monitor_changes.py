"""Reading only the changed ``pg_stat_statements`` entries, against the real
server, and the fast query normaliser against the token-by-token one."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from evedmv_tui.config import Settings
from evedmv_tui.monitor import statements
from evedmv_tui.monitor.poller import Monitor, open_monitor_database
from evedmv_tui.monitor.statements import (
    _LIST,
    _TIGHT_CHARACTERS,
    _TOKEN,
    StatementReader,
    StatementSet,
    build_statement_set,
    normalize_query,
)
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import Telemetry

Connection = psycopg.Connection[Any]


@pytest.fixture
def monitor_db(db_url: str) -> Iterator[Database]:
    with open_monitor_database(db_url) as db:
        yield db


@contextlib.contextmanager
def untracked(db: Database) -> Iterator[Connection]:
    """Borrow a connection whose own statements pg_stat_statements ignores."""
    with db.connection() as conn:
        conn.execute("SET pg_stat_statements.track = 'none'")
        yield conn


def run(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def full_read(reader: StatementReader, db: Database, conn: Connection) -> StatementSet:
    return build_statement_set(reader.read_rows(db, conn))


def test_first_text_query_loads_known_entries(
    db_url: str, monitor_db: Database
) -> None:
    """A poll that lists entries for the first time after the reader's first
    text query must find their texts cached, without a query of its own."""
    run(db_url, "SELECT 'first known' AS a", "SELECT 'second known' AS b")
    reader = StatementReader("public", (1, 10))
    with untracked(monitor_db) as conn:
        current, _ = reader.read_set(monitor_db, conn)
        first, *others = list(current.entries)
        assert others
        queries = monitor_db.telemetry.total_statements
        texts = reader.fetch_texts(
            monitor_db, conn, {first.text_key}, known=current.entries
        )
        assert set(texts) == {first.text_key}
        assert monitor_db.telemetry.total_statements == queries + 1
        requested = {key.text_key for key in others}
        later = reader.fetch_texts(monitor_db, conn, requested, known=current.entries)
        assert monitor_db.telemetry.total_statements == queries + 1
        assert set(later) == requested


def test_first_text_query_over_limit_loads_part(
    db_url: str, monitor_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more known entries than the prefetch limit, the first text query
    must send query ids and load only up to the limit, the requested ones
    among them."""
    monkeypatch.setattr(statements, "TEXT_PREFETCH_MAX", 2)
    run(db_url, "SELECT 'over one' AS a", "SELECT 'over two' AS b")
    run(db_url, "SELECT 'over three' AS c")
    reader = StatementReader("public", (1, 10))
    with untracked(monitor_db) as conn:
        current, _ = reader.read_set(monitor_db, conn)
        assert len(current.entries) > 2
        first = next(iter(current.entries))
        texts = reader.fetch_texts(
            monitor_db, conn, {first.text_key}, known=current.entries
        )
        assert set(texts) == {first.text_key}
        # A query id can have rows of several roles and databases (other
        # tests share the server), so the limit applies to query ids.
        loaded, _ = reader.texts.get_many(key.text_key for key in current.entries)
        assert 1 <= len({key[2] for key in loaded}) <= 2
        assert monitor_db.telemetry.records()[-1].name == "monitor.statement_texts"


def test_every_text_query_matches_listed_texts(
    db_url: str, monitor_db: Database
) -> None:
    """The first text query without query ids must return the same texts as
    the query that requests them by id."""
    run(db_url, "SELECT 'every one' AS a", "SELECT 'every two' AS b")
    everything = StatementReader("public", (1, 10))
    by_id = StatementReader("public", (1, 10))
    with untracked(monitor_db) as conn:
        current, _ = everything.read_set(monitor_db, conn)
        requested = {key.text_key for key in current.entries}
        loaded = everything.fetch_texts(
            monitor_db, conn, requested, known=current.entries
        )
        assert monitor_db.telemetry.records()[-1].name == "monitor.statement_texts_all"
        asked = by_id.fetch_texts(monitor_db, conn, requested)
        assert monitor_db.telemetry.records()[-1].name == "monitor.statement_texts"
    assert set(loaded) == requested
    assert {key: text.text for key, text in loaded.items()} == {
        key: text.text for key, text in asked.items()
    }


def test_changes_match_full_read(db_url: str, monitor_db: Database) -> None:
    reader = StatementReader("public", (1, 10))
    with untracked(monitor_db) as conn:
        first, first_info = reader.read_set(monitor_db, conn)
        assert reader.incremental is True
        assert first.entries == full_read(reader, monitor_db, conn).entries
        assert first_info == reader.read_info(monitor_db, conn)

        run(db_url, "SELECT 'changes one' AS probe")
        second, _ = reader.read_set(monitor_db, conn)
        changed = reader.changed_keys(first)
        assert second.entries == full_read(reader, monitor_db, conn).entries
        assert changed is not None
        assert 1 <= len(changed) < len(second.entries)
        unchanged = [key for key in second.entries if key not in changed]
        assert unchanged
        assert all(second.entries[key] is first.entries[key] for key in unchanged)

        # Nothing ran since: the changes query returns its one info row only.
        third, third_info = reader.read_set(monitor_db, conn)
        assert reader.changed_keys(second) == []
        assert third.entries == second.entries
        assert third_info == reader.read_info(monitor_db, conn)


def test_removed_entry_leaves_set(db_url: str, monitor_db: Database) -> None:
    reader = StatementReader("public", (1, 10))
    run(db_url, "SELECT 1 AS to_be_removed")
    with untracked(monitor_db) as conn:
        before, _ = reader.read_set(monitor_db, conn)
        row = conn.execute(
            "SELECT userid, dbid, queryid FROM pg_stat_statements WHERE query LIKE %s",
            ("%to_be_removed%",),
        ).fetchone()
        assert row is not None
        conn.execute(
            "SELECT pg_stat_statements_reset(%s::oid, %s::oid, %s::bigint)", row
        )
        after, _ = reader.read_set(monitor_db, conn)
        changed = reader.changed_keys(before)

    removed = [key for key in before.entries if key.text_key == tuple(row)]
    assert removed
    assert all(key not in after.entries for key in removed)
    assert changed is not None
    assert set(removed) <= set(changed)


def test_lost_table_read_again_whole(db_url: str, monitor_db: Database) -> None:
    """A session without the table (a new backend that got a closed one's
    pid) must not be read as if it had the previous counters."""
    reader = StatementReader("public", (1, 10))
    with untracked(monitor_db) as conn:
        first, _ = reader.read_set(monitor_db, conn)
        conn.execute("DROP TABLE pg_temp.evedmv_monitor_statements")
        run(db_url, "SELECT 'after the drop' AS probe")
        second, _ = reader.read_set(monitor_db, conn)
        assert reader.changed_keys(first) is None
        assert second.entries == full_read(reader, monitor_db, conn).entries
    assert reader.incremental is True


def test_two_sessions_keep_own_tables(db_url: str, monitor_db: Database) -> None:
    reader = StatementReader("public", (1, 10))
    with monitor_db.connection() as one, monitor_db.connection() as other:
        for conn in (one, other):
            conn.execute("SET pg_stat_statements.track = 'none'")
        sets = []
        for step, conn in enumerate((one, other, one, other, one)):
            run(db_url, f"SELECT {step} AS step_{step}")
            current, _ = reader.read_set(monitor_db, conn)
            assert current.entries == full_read(reader, monitor_db, conn).entries
            sets.append(current)
        # Each read compared against its own session's previous read, not the
        # other session's, so it cannot list the keys changed since sets[-2].
        assert reader.changed_keys(sets[-2]) is None
        assert reader.changed_keys(sets[-3]) is not None


def test_read_only_session_reads_everything(db_url: str, monitor_db: Database) -> None:
    """A read-only session rejects CREATE TEMPORARY TABLE, as a standby does."""
    reader = StatementReader("public", (1, 10))
    with untracked(monitor_db) as conn:
        conn.execute("SET default_transaction_read_only = on")
        try:
            first, info = reader.read_set(monitor_db, conn)
            run(db_url, "SELECT 'read only' AS probe")
            second, _ = reader.read_set(monitor_db, conn)
            expected = full_read(reader, monitor_db, conn)
        finally:
            conn.execute("SET default_transaction_read_only = off")
    assert reader.incremental is False
    assert first.entries
    assert info is not None
    assert reader.changed_keys(first) is None
    assert second.entries == expected.entries


def test_role_without_temp_privilege(db_url: str, settings: Settings) -> None:
    database = str(psycopg.conninfo.conninfo_to_dict(db_url)["dbname"])
    revoke = sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(
        sql.Identifier(database)
    )
    role = "no_temp_monitor"
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    params["user"] = role
    no_temp_url = psycopg.conninfo.make_conninfo("", **params)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(revoke)
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    watcher = Monitor(
        None,
        settings,
        conninfo=no_temp_url,
        telemetry=Telemetry(),
    )
    try:
        watcher.poll()
        run(no_temp_url, "SELECT 1 AS without_temp")
        snapshot = watcher.poll()
        reader = watcher._reader
    finally:
        watcher.close()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("GRANT TEMPORARY ON DATABASE {} TO PUBLIC").format(
                    sql.Identifier(database)
                )
            )
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

    assert reader is not None
    assert reader.incremental is False
    assert snapshot.problem("statements") is None
    assert snapshot.statements_trusted is True
    assert [v for v in snapshot.statements if "without_temp" in (v.query or "")]


def test_poll_after_backend_ended(db_url: str, settings: Settings) -> None:
    """The quick borrow check still replaces a connection the server closed."""
    watcher = Monitor(None, settings, conninfo=db_url, telemetry=Telemetry())
    try:
        watcher.poll()
        run(
            db_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'evedmv-monitor'"
            " AND datname = current_database()",
        )
        # Let the ended backend send its error and close the socket.
        time.sleep(0.5)
        snapshot = watcher.poll()
    finally:
        watcher.close()
    assert snapshot.connected is True
    assert snapshot.statements_trusted is True


def reference_normalize(query_text: str) -> str:
    """Normalise token by token with ``_TOKEN``, the slower equivalent."""
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
    for char in _TIGHT_CHARACTERS:
        text = text.replace(" " + char, char).replace(char + " ", char)
    return text.rstrip("; ")


FRAGMENTS = [
    "SELECT", " ", "\n", "\t", "'", "''", "E'", "e'", "$", "$$", "$a$", "$A1$",
    "$1", "%s", "%(Name)s", "%(", "?", "1", "1.5", "1e5", "1e-", "e", "-", "--",
    "/*", "*/", "/", "*", '"', '"X"', "é", "\u212a", "_", "x", "t1", ".", "(",
    ")", ",", "=", "N", "b", "\u0663", "İ", ";", "2", "a",
]  # fmt: skip
"""Pieces whose joins exercise every token kind and their boundaries:
prefixes of strings, dollar quotes next to numbers, Unicode digits and
letters whose lowercase differs in length."""


def test_normalize_matches_token_by_token() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 25)))
        assert normalize_query(text) == reference_normalize(text), repr(text)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT $tag$ x $tag$5, 6",
        "-- comment\nSELECT a FROM t WHERE b = 'x''y' AND c IN ($1, $2)",
        "select \"Mixed\" , E'\\n' from T where id = %(Id)s;",
        "SELECT /* a */ 1e-3, .5, x1 FROM t",
        # Prefix letters right after each kind of quoted part and after code.
        "SELECT 'a'E'b', \"i\"n'c', $$d$$x'1f', /*e*/B'01', nameE'y' FROM t",
        "SELECT 1e'x', %(e)s'y', $1N'z', --E\n'w'",
    ],
)
def test_normalize_edge_cases(text: str) -> None:
    assert normalize_query(text) == reference_normalize(text)

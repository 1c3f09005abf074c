"""EXPLAIN ANALYZE of SELECTs that write, and EXPLAINs whose server session
ends, against the real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from evedmv_tui.monitor.explain import (
    ExplainError,
    ExplainResult,
    cast_typed_placeholders,
    explain_app_query,
    explain_statement,
)
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import QueryRecord, Telemetry


def server_version(db: Database) -> int:
    return int(db.fetch_value("SELECT current_setting('server_version_num')::int"))


@pytest.mark.parametrize(
    "text",
    [
        "SELECT v FROM explain_locked WHERE v = 1 FOR UPDATE",
        "SELECT v FROM explain_locked FOR SHARE",
        "SELECT nextval('explain_sequence')",
    ],
)
def test_analyze_of_writing_select_runs(db: Database, db_url: str, text: str) -> None:
    """ANALYZE of a SELECT that locks rows or calls nextval() failed in the
    read-only transaction with "ANALYZE it explicitly", which the user had
    just done."""
    db.execute("CREATE TABLE explain_locked (v int)")
    db.execute("INSERT INTO explain_locked VALUES (1)")
    db.execute("CREATE SEQUENCE explain_sequence")
    result = explain_statement(db, text, server_version(db), analyze=True)
    assert result.analyzed is True
    assert result.plan.actual_rows == 1
    with psycopg.connect(db_url) as other:
        # The row lock ended with the rolled-back transaction.
        other.execute("SET lock_timeout = '2s'")
        locked = other.execute("SELECT v FROM explain_locked FOR UPDATE NOWAIT")
        assert locked.fetchall() == [(1,)]


def test_analyze_of_app_select_for_update(db: Database) -> None:
    db.execute("CREATE TABLE explain_app_locked (v int)")
    db.execute("INSERT INTO explain_app_locked VALUES (1)")
    db.fetch_all("SELECT v FROM explain_app_locked WHERE v = %s FOR UPDATE", (1,))
    record = db.telemetry.records()[-1]
    result = explain_app_query(db, record, analyze=True)
    assert result.analyzed is True
    assert result.plan.actual_rows == 1


def test_analyze_in_read_only_transaction_says_why(db: Database) -> None:
    """A statement rejected even in a READ WRITE transaction, here because a
    function made the transaction read-only, as a standby's always is."""
    db.execute("CREATE SEQUENCE explain_sequence")
    text = (
        "SELECT set_config('transaction_read_only', 'on', true),"
        " nextval('explain_sequence')"
    )
    with pytest.raises(ExplainError) as raised:
        explain_statement(db, text, server_version(db), analyze=True)
    message = str(raised.value)
    assert message.startswith("cannot execute nextval() in a read-only transaction")
    assert "read-only even when opened READ WRITE" in message
    assert "press e for the plan without ANALYZE" in message
    assert "ANALYZE it explicitly" not in message


def test_analyze_rejection_hint_keeps_analyze(db: Database) -> None:
    """The by-hand advice after a failed ANALYZE offered a plain EXPLAIN,
    which does not run the statement and so does not show the error."""
    text = "SELECT 1 / (SELECT count(*)::int FROM pg_class WHERE false)"
    assert explain_statement(db, text, server_version(db)).analyzed is False
    with pytest.raises(ExplainError) as raised:
        explain_statement(db, text, server_version(db), analyze=True)
    assert str(raised.value) == "division by zero"
    hint = raised.value.hint
    assert hint is not None
    assert hint.endswith(f"\n\nBEGIN;\nEXPLAIN ANALYZE {text};\nROLLBACK;")


def test_app_query_rejection_hint_keeps_analyze(db: Database) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero):
        db.fetch_all(
            "SELECT 1 / (SELECT count(*)::int FROM pg_class WHERE relpages < %s)",
            (0,),
        )
    record = db.telemetry.records()[-1]
    with pytest.raises(ExplainError) as raised:
        explain_app_query(db, record, analyze=True)
    hint = raised.value.hint
    assert hint is not None
    assert "\n\nBEGIN;\nEXPLAIN ANALYZE SELECT 1 / (" in hint
    assert hint.endswith(";\nROLLBACK;")


def run_in_thread(
    explain: Callable[[], ExplainResult],
) -> tuple[threading.Thread, list[BaseException | ExplainResult]]:
    outcome: list[BaseException | ExplainResult] = []

    def run() -> None:
        try:
            outcome.append(explain())
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    return worker, outcome


def wait_for_sleep(url: str) -> int:
    """Return the pid of the backend that runs the EXPLAIN's pg_sleep."""
    deadline = time.monotonic() + 20
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE query LIKE '%EXPLAIN (ANALYZE%pg_sleep%'"
                " AND wait_event = 'PgSleep'"
            ).fetchone()
            if row is not None:
                return int(row[0])
            assert time.monotonic() < deadline, "the EXPLAIN ANALYZE never started"
            time.sleep(0.05)


def assert_connection_lost(outcome: list[BaseException | ExplainResult]) -> None:
    [error] = outcome
    assert isinstance(error, ExplainError)
    message = str(error)
    assert message.startswith(
        "the connection to the server was lost during the EXPLAIN ("
    )
    hint = error.hint
    assert hint is not None
    assert "The server rejected" not in hint
    assert "rolled back with the session" in hint
    assert hint.endswith("Try again once the status bar shows the database connected.")


def test_explain_session_terminated(db: Database, db_url: str) -> None:
    """A terminated EXPLAIN ANALYZE read "The server rejected the EXPLAIN"
    and offered a plain EXPLAIN to run by hand."""
    text = "SELECT pg_sleep(60)"
    version = server_version(db)
    worker, outcome = run_in_thread(
        lambda: explain_statement(db, text, version, analyze=True)
    )
    pid = wait_for_sleep(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    worker.join(20)
    assert not worker.is_alive()
    assert_connection_lost(outcome)
    assert "terminating connection due to administrator command" in str(outcome[0])


def test_explain_server_stopped(own_cluster: PrivateCluster) -> None:
    own_cluster.start()
    ensure_database(own_cluster)
    url = own_cluster.url()
    record = QueryRecord(
        "screen", "sleep", "SELECT pg_sleep(%s)", (60,), time.time(), 60.0, 1
    )
    with Database(url, telemetry=Telemetry()) as db:
        worker, outcome = run_in_thread(
            lambda: explain_app_query(db, record, analyze=True)
        )
        wait_for_sleep(url)
        own_cluster.stop()
        worker.join(20)
    assert not worker.is_alive()
    assert_connection_lost(outcome)


@pytest.mark.parametrize(
    ("text", "cast"),
    [
        ("now() - interval $1", "now() - $1::interval"),
        ("now() - INTERVAL  $12", "now() - $12::INTERVAL"),
        ("interval $1 day", "$1::interval day"),
        ("date $2 + 1", "$2::date + 1"),
        (
            "timestamp with time zone $1",
            "$1::timestamp with time zone",
        ),
        ("double  precision $3", "$3::double precision"),
        ("now() AT TIME ZONE $1", "now() AT TIME ZONE $1"),
        ("limit $1", "limit $1"),
        ("runtime $1", "runtime $1"),
    ],
)
def test_typed_placeholder_cast(text: str, cast: str) -> None:
    assert cast_typed_placeholders(text)[0] == cast


def test_explain_typed_literal_placeholder(db: Database) -> None:
    """pg_stat_statements keeps interval '1 day' as interval $1, which does
    not parse: the EXPLAIN failed, and its hint offered a PREPARE of the same
    text, which failed with the same syntax error."""
    text = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE backend_start > now() - interval $1 AND backend_start < date $2"
        " AND xact_start > now() - interval $3 hour"
    )
    result = explain_statement(db, text, server_version(db))
    assert result.plan.node_type == "Aggregate"
    assert result.note is not None
    assert (
        "plan is of the text with $1::interval, $2::date, $3::interval." in result.note
    )


def test_other_typed_literal_gets_cast_hint(db: Database) -> None:
    db.execute("CREATE TYPE explain_mood AS ENUM ('calm', 'angry')")
    text = "SELECT explain_mood $1 = 'calm'"
    with pytest.raises(ExplainError) as raised:
        explain_statement(db, text, server_version(db))
    assert str(raised.value) == 'syntax error at or near "$1"'
    hint = raised.value.hint
    assert hint is not None
    assert "written as $1::my_type" in hint
    assert hint.endswith(f"AS\n{text};\nEXPLAIN EXECUTE q(VALUE);\nDEALLOCATE q;")


ABANDONED_EXPLAIN = """
import os
import sys
import threading

from evedmv_tui.monitor.explain import explain_statement
from evedmv_tui.store.db import Database

db = Database(sys.argv[1])
version = int(db.fetch_value("SELECT current_setting('server_version_num')::int"))
threading.Thread(
    target=explain_statement,
    args=(db, "SELECT pg_sleep(25) AS abandoned_explain", version),
    kwargs={"analyze": True},
    daemon=True,
).start()
sys.stdin.readline()
os._exit(0)
"""


def test_explain_of_exited_client_ends(db: Database, db_url: str) -> None:
    """An EXPLAIN ANALYZE whose dashboard quit ran on, holding its locks,
    until its 30 s statement timeout: the server noticed the lost client
    only when it had a row to send."""
    child = subprocess.Popen(
        [sys.executable, "-c", ABANDONED_EXPLAIN, db_url],
        stdin=subprocess.PIPE,
        text=True,
    )
    running = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE query LIKE '%pg_sleep(25) AS abandoned_explain%'"
        " AND pid <> pg_backend_pid()"
    )
    try:
        deadline = time.monotonic() + 20
        while not db.fetch_value(running):
            assert time.monotonic() < deadline, "the EXPLAIN never started"
            time.sleep(0.1)
    finally:
        assert child.stdin is not None
        child.stdin.write("exit\n")
        child.stdin.close()
        child.wait(30)
    # The server checks for its client every second; well before the
    # 25 s sleep ends, the statement is gone.
    deadline = time.monotonic() + 15
    while db.fetch_value(running):
        assert time.monotonic() < deadline, "the EXPLAIN outlived its client"
        time.sleep(0.2)

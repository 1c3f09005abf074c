"""EXPLAIN ANALYZE of SELECTs that write, against the real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from evedmv_tui.monitor.explain import (
    ExplainError,
    explain_app_query,
    explain_statement,
)
from evedmv_tui.store.db import Database


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

"""The monitor's own statements carry its marker, so pg_stat_statements
entries of a role that cannot stop the recording are left out."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from evedmv_tui.cache import CacheRegistry
from evedmv_tui.config import Settings
from evedmv_tui.monitor import sql as monitor_sql
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.monitor.statements import MONITOR_MARKER
from evedmv_tui.store.telemetry import Telemetry

SQL_FOLDER = Path(monitor_sql.__file__).parent
_STATEMENT_END = re.compile(r";\s*\n")


@pytest.mark.parametrize("path", sorted(SQL_FOLDER.glob("*.sql")), ids=lambda p: p.stem)
def test_every_statement_starts_marked(path: Path) -> None:
    """pg_stat_statements stores a later statement of a query string from
    the end of the one before it, so each needs the marker of its own."""
    statements = _STATEMENT_END.split(path.read_text("utf-8").strip())
    for statement in statements:
        assert statement.lstrip().startswith(MONITOR_MARKER), statement[:60]


def test_own_table_left_out_for_limited_role(
    db_url: str, limited_role: str, settings: Settings
) -> None:
    """For a role whose SET pg_stat_statements.track was rejected, the
    monitor's CREATE TEMPORARY TABLE was recorded without the marker and
    listed as a user statement."""
    watcher = Monitor(
        None,
        settings,
        conninfo=limited_role,
        telemetry=Telemetry(),
        registry=CacheRegistry(),
    )
    try:
        watcher.poll()
        snapshot = watcher.poll()
    finally:
        watcher.close()
    assert watcher.tracking_disabled is False
    role = psycopg.conninfo.conninfo_to_dict(limited_role)["user"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        recorded = conn.execute(
            "SELECT query FROM pg_stat_statements"
            " WHERE userid = to_regrole(%s) AND query ILIKE %s",
            (role, "%evedmv_monitor_statements%"),
        ).fetchall()
    assert recorded, "the monitor's temporary table was never made"
    unmarked = [q for (q,) in recorded if not q.startswith(MONITOR_MARKER)]
    assert unmarked == []
    listed = [v.query for v in snapshot.statements if v.query]
    assert [q for q in listed if "evedmv_monitor_statements" in q] == []

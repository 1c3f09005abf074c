"""Without pg_stat_statements, the statement rates name the missing extension.

The report and the Performance screen kept saying the first poll was the
reason after many polls, although no poll could ever give rates.
"""

from __future__ import annotations

from pathlib import Path

from evedmv_tui.config import Settings
from evedmv_tui.monitor import report
from evedmv_tui.monitor.poller import Monitor


def test_reason_after_several_polls(bare_url: str, tmp_path: Path) -> None:
    settings = Settings(dsn=bare_url, data_dir=tmp_path / "d")
    monitor = Monitor(None, settings, conninfo=bare_url)
    try:
        snapshots = [monitor.poll() for _ in range(3)]
    finally:
        monitor.close()

    last = snapshots[-1]
    assert last.connected
    assert not last.statements_trusted
    assert last.statements_reason == (
        "pg_stat_statements is not installed in this database"
    )
    heading = report.statement_lines(last)[0]
    assert "first poll" not in heading
    assert "NOT trusted: pg_stat_statements is not installed" in heading


def test_first_poll_reason_with_extension(db_url: str, tmp_path: Path) -> None:
    settings = Settings(dsn=db_url, data_dir=tmp_path / "d")
    monitor = Monitor(None, settings, conninfo=db_url)
    try:
        first = monitor.poll()
    finally:
        monitor.close()

    assert first.statements_reason == "first poll: rates appear after the next one"

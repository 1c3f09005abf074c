"""Rows and texts of the performance screen, built from recorded snapshots."""

from __future__ import annotations

import dataclasses
import time

import pytest
from rich.cells import cell_len

from evedmv_tui.monitor import report
from evedmv_tui.monitor.activity import DatabaseBackends
from evedmv_tui.monitor.ingest import EsiBudget, ImportRun, IngestCounts, IngestHealth
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.widgets import perf_rows
from evedmv_tui.widgets.table import plain
from tests.test_performance_screen import recorded_snapshot


def ingest_line(esi: EsiBudget) -> str:
    counts = IngestCounts(12, 4.0, 9.0, 0, 0, 0)
    health = IngestHealth(counts, [], None, esi)
    snapshot = dataclasses.replace(recorded_snapshot(), ingest=health)
    return perf_rows.ingest_text(snapshot).plain.splitlines()[-1]


def test_esi_budget_line_names_only_known_figures() -> None:
    unknown = ingest_line(EsiBudget(None, None, 3, 0))
    assert "?" not in unknown
    assert unknown.startswith("ESI: no error or rate-limit budget reported yet;")
    known = ingest_line(EsiBudget(97, 41, 1_200, 2, 150))
    assert known == (
        "ESI: 97 errors left in the window, reset in 41 s, 150 rate-limit"
        " tokens left; 1,200 requests, 2 retries"
    )


def test_pids_are_shown_without_separators() -> None:
    rows = perf_rows.activity_rows(recorded_snapshot())
    assert [key for key, _ in rows] == ["4101", "4102"]
    assert [str(plain(cells[1])) for _, cells in rows] == ["4101", "4102"]


def test_disconnected_summary_gives_the_headers_time() -> None:
    """The app's connection may notice a stopped server seconds before the
    monitor's; the summary then gives the earlier time, as the header does."""
    lost_at = time.mktime((2026, 12, 5, 8, 24, 55, 0, 0, -1))
    down = dataclasses.replace(
        recorded_snapshot(),
        connected=False,
        disconnected_since=lost_at,
        error="cannot connect (no server socket)",
    )
    alone = perf_rows.summary_text(down, paused=False).plain
    assert (
        alone
        == "✖ disconnected since 08:24:55, retrying: cannot connect (no server socket)"
    )
    shared = perf_rows.summary_text(down, paused=False, app_lost_at=lost_at - 6)
    assert shared.plain.startswith("✖ disconnected since 08:24:49, retrying: cannot")
    later = perf_rows.summary_text(down, paused=False, app_lost_at=lost_at + 6)
    assert later.plain == alone


def test_query_report_header_judges_only_statements() -> None:
    """query-performance exits by the statements alone, so its header line
    gives their severity, not one from a panel the report does not list."""
    snapshot = recorded_snapshot()
    assert snapshot.severity is Severity.ERROR
    overall = report.header_lines(snapshot)
    assert overall[1].endswith(f"; overall {Severity.ERROR.label}")
    judged = report.header_lines(snapshot, judged="statements", severity=Severity.OK)
    assert judged[1].endswith(f"; statements {Severity.OK.label}")


def test_summary_counts_have_separators() -> None:
    """The performance command's counts read like the screen's: 11,982."""
    counts = IngestCounts(12, 4.0, 9.0, 11_982, 1_234, 0)
    health = IngestHealth(counts, [], None, None)
    snapshot = dataclasses.replace(recorded_snapshot(), ingest=health)
    [line] = [
        line for line in report.summary_lines(snapshot) if line.startswith("ingest:")
    ]
    assert line.endswith("11,982 pending, 1,234 unresolved rejects")


def test_ingest_text_gives_age_of_older_read() -> None:
    """Ingest figures are read every 30 s, so between reads the tab showed
    old counts under a header that says every 2 s."""
    snapshot = recorded_snapshot()
    counts = IngestCounts(12, 4.0, 9.0, 0, 0, 0)
    fresh = IngestHealth(counts, [], None, None, read_at=snapshot.at)
    lines = perf_rows.ingest_text(
        dataclasses.replace(snapshot, ingest=fresh)
    ).plain.splitlines()
    assert lines[0].startswith("live: ")
    read_at = snapshot.at - 25.0
    older = dataclasses.replace(fresh, read_at=read_at)
    lines = perf_rows.ingest_text(
        dataclasses.replace(snapshot, ingest=older)
    ).plain.splitlines()
    clock = time.strftime("%H:%M:%S", time.localtime(read_at))
    assert lines[0] == (
        f"as of {clock}: these figures are read every 30 s, not every poll"
    )


def test_import_line_gives_import_rate() -> None:
    """The live rate counts recent kill times only, so a bulk import of old
    killmails showed 0 there. The import line gives its own read rate."""
    counts = IngestCounts(0, None, None, 0, 0, 0)
    running = ImportRun(5, 1_000.0, None, 9_000, 8_000, 0, 0, locked=True)
    finished = dataclasses.replace(running, finished=1_060.0, locked=False)
    stopped = dataclasses.replace(running, locked=False)
    lines = {}
    for name, run in (
        ("running", running),
        ("finished", finished),
        ("stopped", stopped),
    ):
        health = IngestHealth(counts, [], run, None, read_at=1_180.0)
        snapshot = dataclasses.replace(recorded_snapshot(), ingest=health)
        text = perf_rows.ingest_text(snapshot).plain
        lines[name] = next(line for line in text.splitlines() if "#5" in line)
    assert lines["running"].endswith("0 rejected, 3,000 read/min")
    assert lines["finished"].endswith("0 rejected, 9,000 read/min")
    assert lines["stopped"].endswith("0 rejected")


def test_ingest_text_keeps_last_figures_while_disconnected() -> None:
    """The Ingest tab went blank while the server was down, although the
    other tabs kept their last figures."""
    snapshot = recorded_snapshot()
    counts = IngestCounts(12, 4.0, 9.0, 7, 3, 0)
    read_at = snapshot.at - 40.0
    last = IngestHealth(counts, [], None, None, read_at=read_at)
    down = dataclasses.replace(snapshot, connected=False, ingest=None)

    lines = perf_rows.ingest_text(down, last).plain.splitlines()

    clock = time.strftime("%H:%M:%S", time.localtime(read_at))
    assert lines[0] == (
        f"not connected: the figures below were read at {clock},"
        " before the connection was lost"
    )
    assert lines[1].startswith("live: ")
    assert perf_rows.ingest_text(down).plain == "no ingest figures yet"
    # Connected without ingest figures (no evedmv schema): nothing stale shown.
    empty = dataclasses.replace(snapshot, ingest=None)
    assert perf_rows.ingest_text(empty, last).plain == "no ingest figures yet"


def test_ingest_rejects_say_unresolved() -> None:
    """The Ingest tab counted resolved and dismissed rejects, which 'evedmv
    rejects list' leaves out. Its line names the unresolved ones it counts."""
    counts = IngestCounts(12, 4.0, 9.0, 7, 21, 21)
    snapshot = recorded_snapshot()
    health = IngestHealth(counts, [], None, None, read_at=snapshot.at)
    snapshot = dataclasses.replace(snapshot, ingest=health)
    lines = perf_rows.ingest_text(snapshot).plain.splitlines()
    [line] = [line for line in lines if line.startswith("pending bodies")]
    assert line == ("pending bodies 7, unresolved rejects 21 (21 in the last hour)")
    assert cell_len(line) <= 78


def test_ingest_text_counts_known_invalid() -> None:
    """Known-invalid references stand next to pending bodies, and the rejects
    move to a line of their own, so neither line runs past 80 columns."""
    counts = IngestCounts(12, 4.0, 9.0, 11_982, 1_234, 1_234, invalid=5_678)
    snapshot = recorded_snapshot()
    health = IngestHealth(counts, [], None, None, read_at=snapshot.at)
    snapshot = dataclasses.replace(snapshot, ingest=health)

    lines = perf_rows.ingest_text(snapshot).plain.splitlines()

    bodies = lines.index("pending bodies 11,982, known invalid 5,678")
    assert lines[bodies + 1] == "unresolved rejects 1,234 (1,234 in the last hour)"


def test_summary_counts_known_invalid() -> None:
    counts = IngestCounts(12, 4.0, 9.0, 11_982, 1_234, 0, invalid=5_678)
    health = IngestHealth(counts, [], None, None)
    snapshot = dataclasses.replace(recorded_snapshot(), ingest=health)

    [line] = [
        line for line in report.summary_lines(snapshot) if line.startswith("ingest:")
    ]
    data = report.snapshot_dict(snapshot)

    assert line.endswith(
        "11,982 pending, 5,678 known invalid, 1,234 unresolved rejects"
    )
    assert data["ingest"]["invalid"] == 5_678


def test_database_backends_add_up() -> None:
    """The backend line's parts are this database's backends, the monitor's
    included, so they add up to its total."""
    snapshot = recorded_snapshot()
    assert snapshot.activity is not None
    counts = DatabaseBackends({"active": 2, "idle": 1}, 2, 1)
    activity = dataclasses.replace(
        snapshot.activity, databases={"evedmv": counts, "postgres": counts}
    )
    text = perf_rows.database_text(dataclasses.replace(snapshot, activity=activity))
    line = text.plain.splitlines()[3]
    assert line == "backends 6 of 60 (2 active, 1 idle); monitor 2; other 1"


def test_fit_last_cells_counts_number_separators() -> None:
    """The table shows 1234567 as ``1,234,567``, so the room left for the
    last cell must count the separators, or the cut text runs past the edge."""
    columns = (("calls", "Calls"), ("query", "Query"))
    rows: list[perf_rows.Row] = [("a", [1234567, "x" * 40])]
    [(_, cells)] = perf_rows.fit_last_cells(rows, columns, 30, 1)
    # 1 + 9 + 1 for the calls column, 1 + 1 padding around the query: 17 left.
    assert cells[-1] == "x" * 16 + "…"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM 注文 WHERE 名前 = '東京' AND 区 = '新宿'",
        "SELECT '🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀'",
        "SELECT 'x漢字漢字漢字漢字漢字漢字漢字漢字'",
    ],
    ids=["cjk", "emoji", "cut-inside-wide-character"],
)
def test_fit_last_cells_measures_wide_characters(query: str) -> None:
    """A query with CJK characters or emoji was cut by characters, so its
    double-width characters ran past the table's right edge."""
    columns = (("calls", "Calls"), ("query", "Query"))
    rows: list[perf_rows.Row] = [("a", [1234567, query])]
    [(_, cells)] = perf_rows.fit_last_cells(rows, columns, 30, 1)
    # 1 + 9 + 1 for the calls column, 1 + 1 padding around the query: 17 left.
    assert cell_len(query) > 17
    assert cell_len(cells[-1]) <= 17
    # A wide character that does not fit before the ellipsis leaves a blank.
    assert cell_len(cells[-1]) >= 16
    assert cells[-1].endswith("…")
    assert query.startswith(cells[-1][:-1].rstrip())


def test_fit_last_cells_keeps_short_wide_text() -> None:
    columns = (("calls", "Calls"), ("query", "Query"))
    rows: list[perf_rows.Row] = [("a", [1, "SELECT '東京'"])]
    [(_, cells)] = perf_rows.fit_last_cells(rows, columns, 30, 1)
    assert cells[-1] == "SELECT '東京'"


def test_fit_last_cells_keeps_wider_shown_columns() -> None:
    """A column the table still shows wider than its new cells narrows the room."""
    columns = (("calls", "Calls"), ("query", "Query"))
    rows: list[perf_rows.Row] = [("a", [1, "x" * 40])]
    [(_, cells)] = perf_rows.fit_last_cells(rows, columns, 30, 1, shown_widths=[9])
    assert cells[-1] == "x" * 16 + "…"

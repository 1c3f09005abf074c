"""Rows and texts of the performance screen, built from recorded snapshots."""

from __future__ import annotations

import dataclasses

from evedmv_tui.monitor.ingest import EsiBudget, IngestCounts, IngestHealth
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

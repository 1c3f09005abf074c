"""Pilot tests of the performance screen's tabs and dialogs at 80x24."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import Input

import evedmv_tui.battles
from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens import SCREENS
from evedmv_tui.screens.performance import (
    MIN_QUERY_WIDTH,
    MonitorService,
    PerformanceScreen,
)
from evedmv_tui.screens.search import SearchScreen
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen, skip_leading_comments
from evedmv_tui.widgets.plot import SeriesPlot
from evedmv_tui.widgets.table import KeyedTable
from tests import test_performance_screen as fixtures

BATTLES_LIST_SQL = Path(evedmv_tui.battles.__file__).parent / "sql/battles_list.sql"

PLOTS = ("plot-tps", "plot-mean", "plot-memory")

WITH_SEARCH = tuple(
    entry for entry in SCREENS if entry.name in {"home", "performance", "search"}
)


@contextlib.asynccontextmanager
async def recorded_with_search(
    settings: Settings,
) -> AsyncIterator[tuple[EvedmvApp, Any, PerformanceScreen]]:
    """Run the app at 80x24 with the Search screen registered and the
    Performance screen showing the recorded snapshot."""
    app = EvedmvApp(
        dataclasses.replace(settings, poll_interval=60.0), screens=WITH_SEARCH
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await fixtures.show_recorded()(pilot)
        screen = app.screen
        assert isinstance(screen, PerformanceScreen)
        yield app, pilot, screen


async def test_confirm_shows_statement_after_comments() -> None:
    """The EXPLAIN ANALYZE confirmation of an app query showed only the
    comment that leads the query's file, never the statement."""
    query = BATTLES_LIST_SQL.read_text()
    assert query.startswith("--")
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ConfirmScreen("Run it?", subject=query))
        await pilot.pause()
        shown = app.screen.query_one("#subject").render_line(0).text.strip()
        assert shown.startswith("SELECT b.battle_id, b.start_time")
        assert shown.endswith("…")


def test_skip_leading_comments_cases() -> None:
    cases = [
        ("-- a\n\n  -- b\nSELECT 1", "SELECT 1"),
        ("/* a /* nested */ still a */ SELECT 2", "SELECT 2"),
        ("  \n/* a */ -- b\n UPDATE t SET x = 1 -- c", "UPDATE t SET x = 1 -- c"),
        ("SELECT '--'", "SELECT '--'"),
        ("-- only a comment", "-- only a comment"),
        ("/* unterminated", "/* unterminated"),
    ]
    for sql, expected in cases:
        assert skip_leading_comments(sql) == expected, sql


async def test_slash_opens_search_off_statements(settings: Settings) -> None:
    """On every tab but Statements, / did nothing: the screen's filter key
    hid the app's key of the Search screen."""
    tabs = ["4", "1", "2", "3", "5", "6", "7", "8", "9"]
    async with recorded_with_search(settings) as (app, pilot, screen):
        for digit in tabs:
            await pilot.press(digit)
            await pilot.press("slash")
            await pilot.pause()
            if digit == "1":
                field = screen.query_one("#statement-filter", Input)
                assert app.screen is screen
                assert screen.focused is field
            else:
                assert isinstance(app.screen, SearchScreen), digit
                await pilot.press("J", "i", "t", "a")
                await pilot.pause()
                assert app.screen.query_one(Input).value == "Jita", digit
            # Escape closes the filter or the Search screen, and the next tab
            # starts from the Performance screen again.
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen, digit


async def test_statements_reason_wraps_at_80_columns(settings: Settings) -> None:
    """At 80 columns the Statements status line was cut at the edge with no
    ellipsis, in the middle of the reason its rates are not trusted."""
    reasons = [
        "pg_stat_statements_reset() ran between polls",
        "pg_stat_statements is not installed in this database",
    ]
    for reason in reasons:
        async with recorded_with_search(settings) as (_app, pilot, screen):
            snapshot = dataclasses.replace(
                fixtures.recorded_snapshot(),
                statements_trusted=False,
                statements_reason=reason,
            )
            screen.show_snapshot(snapshot)
            await pilot.pause()
            line = screen.query_one("#statements-state")
            shown = " ".join(
                line.render_line(y).text.strip() for y in range(line.size.height)
            )
            assert f"(not trusted: {reason})" in shown
            assert line.region.right <= 80


def tick_column(plot: SeriesPlot, label: str) -> int:
    """Return the column of ``label`` on the plot's x tick row, its last line."""
    row = plot.render_line(plot.size.height - 1).text
    found = re.search(rf"(?<![\d,.]){label}(?![\d,.])", row)
    assert found is not None, row
    return found.start()


async def test_charts_time_axes_line_up(settings: Settings) -> None:
    """The three charts placed one moment at different columns: each fitted
    its time axis to its own points and its y labels to its own values."""
    newest = 1_800_000_000.0
    service = MonitorService(EvedmvApp(settings), settings)
    service.plot_history = {
        ("plot-tps", "tps"): deque(
            (newest - 699 + 3 * n, 1.0 + n % 9) for n in range(234)
        ),
        # No statement ran in the oldest and the newest polls.
        ("plot-mean", "mean"): deque(
            (newest - 650 + 3 * n, 1000.0 + 50 * n) for n in range(200)
        ),
        ("plot-memory", "rss"): deque(
            (newest - 699 + 3 * n, 182.0 + n / 100) for n in range(234)
        ),
    }
    app = EvedmvApp(
        dataclasses.replace(settings, poll_interval=60.0), screens=WITH_SEARCH
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await fixtures.settle(pilot)
        screen = PerformanceScreen(service=service, live=False)
        await app.push_screen(screen)
        await pilot.pause()
        snapshot = dataclasses.replace(fixtures.recorded_snapshot(), at=newest)
        screen.show_snapshot(snapshot)
        await pilot.press("9")
        await pilot.pause()
        plots = [screen.query_one(f"#{name}", SeriesPlot) for name in PLOTS]
        rows = "\n".join(plot.render_line(plot.size.height - 1).text for plot in plots)
        for label in ("600", "0"):
            columns = {tick_column(plot, label) for plot in plots}
            assert len(columns) == 1, f"{label} at {columns}:\n{rows}"


def blocking_snapshot() -> Any:
    """Return the recorded snapshot with wide State, Wait and Blocked by cells."""
    snapshot = fixtures.recorded_snapshot()
    activity = snapshot.activity
    assert activity is not None
    running = []
    for index, query in enumerate(activity.running):
        backend = query.backend._replace(
            state="idle in transaction" if index else "active",
            wait_event_type="Lock",
            wait_event="transactionid",
            blocked_by=[4103, 4104] if index else [],
        )
        running.append(dataclasses.replace(query, backend=backend))
    return dataclasses.replace(
        snapshot, activity=dataclasses.replace(activity, running=running)
    )


async def test_activity_query_column_keeps_room(settings: Settings) -> None:
    """With a blocking chain at 80 columns the other columns took the whole
    width: the header read "Quer" and the query cells "u…"."""
    async with recorded_with_search(settings) as (_app, pilot, screen):
        screen.show_snapshot(blocking_snapshot())
        await pilot.press("2")
        await pilot.pause()
        activity = screen.query_one("#activity", KeyedTable)
        lines = [activity.render_line(y).text for y in range(3)]
        assert re.search(r"\bQuery\b", lines[0]), lines[0]
        assert "SELECT pg_sleep(30)" in lines[1], lines[1]
        query_start = lines[0].index("Query")
        assert query_start <= 80 - 2 - MIN_QUERY_WIDTH, lines[0]
        assert lines[2][query_start:].startswith("UPDATE names SET na"), lines[2]
        assert "idle in …" in lines[2]
        for line in lines:
            assert len(line.rstrip()) <= 80

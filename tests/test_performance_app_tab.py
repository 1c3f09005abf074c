"""The App tab of the performance screen: operation severity over a recent
window, errors in view, and slow application queries kept for a while."""

from __future__ import annotations

import dataclasses

from evedmv_tui.config import Settings
from evedmv_tui.monitor.appside import (
    OPERATION_WINDOW_SECONDS,
    SLOW_QUERY_KEEP_SECONDS,
    OperationRow,
    QuantileCache,
    SlowAppQuery,
    operation_rows,
)
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Snapshot
from evedmv_tui.store.telemetry import QueryRecord, Telemetry
from evedmv_tui.widgets.perf_dialogs import TextScreen
from evedmv_tui.widgets.table import KeyedTable
from tests import test_performance_screen as fixtures


def call(telemetry: Telemetry, operation: str, seconds: float) -> None:
    telemetry.record(QueryRecord(operation, "q", "SELECT 1", None, 0.0, seconds, 1))


def poll(telemetry: Telemetry, cache: QuantileCache, now: float) -> dict[str, Severity]:
    rows = operation_rows(
        telemetry.operations(),
        {},
        warning_seconds=1.0,
        error_seconds=5.0,
        quantiles=cache,
        now=now,
    )
    return {row.operation: row.severity for row in rows}


def test_old_slow_call_ages_out() -> None:
    """One slow call of 6.7 s kept an operation of four calls an error for
    the whole session, because p95 went over its last 512 durations."""
    telemetry = Telemetry()
    cache: QuantileCache = {}
    for seconds in (0.02, 0.03, 6.7, 0.02):
        call(telemetry, "battles.list", seconds)
    assert poll(telemetry, cache, 1000.0)["battles.list"] == Severity.ERROR

    later = 1000.0 + OPERATION_WINDOW_SECONDS + 2
    assert poll(telemetry, cache, later)["battles.list"] == Severity.OK

    call(telemetry, "battles.list", 0.02)
    assert poll(telemetry, cache, later + 2)["battles.list"] == Severity.OK
    call(telemetry, "battles.list", 6.1)
    assert poll(telemetry, cache, later + 4)["battles.list"] == Severity.ERROR


def test_operation_rows_put_errors_first() -> None:
    """Rows went by total time only, so a rarely run operation in error sat
    below every busy one that was fine."""
    telemetry = Telemetry()
    for _ in range(600):
        call(telemetry, "names.resolve", 0.05)
    call(telemetry, "battles.list", 3.0)
    call(telemetry, "intel.page", 6.0)
    rows = operation_rows(
        telemetry.operations(), {}, warning_seconds=1.0, error_seconds=5.0
    )
    assert [row.operation for row in rows] == [
        "intel.page",
        "battles.list",
        "names.resolve",
    ]


def with_operations(snapshot: Snapshot) -> Snapshot:
    """Return ``snapshot`` with two operations in error above 30 that are fine."""
    fine = [
        OperationRow(f"op.{n:02}", 100, 1, 1.0, 1.0, 2.0, 3.0, 0, Severity.OK)
        for n in range(30)
    ]
    errors = [
        OperationRow(name, 4, 0, 1700.0, 20.0, 6700.0, 6700.0, 0, Severity.ERROR)
        for name in ("battles.list", "intel.page")
    ]
    return dataclasses.replace(snapshot, operations=errors + fine)


def shown_rows(table: KeyedTable) -> list[str]:
    return [table.render_line(y).text for y in range(1, table.size.height)]


async def test_app_tab_brings_errors_into_view(settings: Settings) -> None:
    """After End on the operations, the summary counted errors while every
    visible row was fine, and showing the tab again kept the view there."""
    async with fixtures.recorded_screen(settings) as (_app, pilot, screen):
        screen.show_snapshot(with_operations(fixtures.recorded_snapshot()))
        await pilot.press("4")
        await pilot.pause()
        table = screen.query_one("#operations", KeyedTable)
        assert any("battles.list" in row for row in shown_rows(table))
        await pilot.press("end")
        await pilot.pause()
        assert not any("battles.list" in row for row in shown_rows(table))
        await pilot.press("1", "4")
        await pilot.pause()
        rows = shown_rows(table)
        assert any("battles.list" in row for row in rows), rows
        assert any("intel.page" in row for row in rows), rows


def slow_query(at: float, seconds: float) -> SlowAppQuery:
    record = QueryRecord(
        "battles.list",
        "battles_list.sql",
        "-- Stored battles\nSELECT 1",
        (5,),
        at - seconds,
        seconds,
        1,
    )
    return SlowAppQuery(record, Severity.ERROR)


async def test_slow_queries_stay_listed(settings: Settings) -> None:
    """A slow application query was listed for one poll only, so a poll 10 s
    later read "none over 1 s recently" before enter or e could reach it."""
    async with fixtures.recorded_screen(settings) as (app, pilot, screen):
        recorded = fixtures.recorded_snapshot()
        finished = recorded.at
        screen.show_snapshot(
            dataclasses.replace(recorded, slow_app_queries=[slow_query(finished, 6.7)])
        )
        await pilot.press("4")
        later = dataclasses.replace(
            recorded, at=finished + 10, sequence=10, slow_app_queries=[]
        )
        screen.show_snapshot(later)
        await pilot.pause()
        table = screen.query_one("#slow", KeyedTable)
        assert table.row_count == 1
        assert "6.70" in shown_rows(table)[0]
        assert "last 5 min" in fixtures.static_text(screen, "#slow-state")
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        assert "SELECT 1" in app.screen.body
        await pilot.press("escape")

        expired = dataclasses.replace(
            later, at=finished + SLOW_QUERY_KEEP_SECONDS + 1, slow_app_queries=[]
        )
        screen.show_snapshot(expired)
        await pilot.pause()
        assert table.row_count == 0
        assert "none over" in fixtures.static_text(screen, "#slow-state")

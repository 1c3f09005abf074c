"""The Charts tab keeps the polls made while the Performance screen was closed."""

from __future__ import annotations

import dataclasses
from typing import Any

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.performance import PerformanceScreen
from evedmv_tui.widgets.plot import SeriesPlot


async def settle(pilot: Any, until: Any, rounds: int = 400) -> None:
    """Let workers and timers run until ``until()`` is true (bounded)."""
    for _ in range(rounds):
        if until():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


def memory_points(app: EvedmvApp) -> list[tuple[float, float]]:
    plot = app.screen.query_one("#plot-memory", SeriesPlot)
    return list(plot.series.get("rss", ()))


async def test_reopened_screen_keeps_chart_history(settings: Settings) -> None:
    """Opening the screen again restarted every chart at its first poll."""
    app = EvedmvApp(dataclasses.replace(settings, poll_interval=0.5))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.db is not None)
        service = app.monitor_service  # type: ignore[attr-defined]
        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, PerformanceScreen))
        await settle(pilot, lambda: len(memory_points(app)) >= 2)
        before = memory_points(app)

        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, PerformanceScreen))
        closed_at = service.latest.at
        await settle(pilot, lambda: service.latest.at > closed_at + 1.0)
        reopened_at = service.latest.at

        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, PerformanceScreen))
        await settle(pilot, lambda: len(memory_points(app)) > len(before) + 1)
        points = memory_points(app)
        assert points[: len(before)] == before
        # A poll can take over a second on a loaded machine, so look for the
        # polls between closing and reopening, not within a fixed second.
        polled_while_closed = [x for x, _ in points if closed_at < x <= reopened_at]
        assert polled_while_closed
        times = [x for x, _ in points]
        assert times == sorted(set(times))

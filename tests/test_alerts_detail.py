"""The alerts screen's detail panel and accept dialog, driven with Pilot at 80x24."""

from __future__ import annotations

import time

import pytest
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.monitor.regressions import format_value
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.screens import alerts
from evedmv_tui.screens.alerts import AlertCenter, AlertsScreen
from evedmv_tui.store.baselines import AlertEvent, AlertWrite, SaveBatch
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen
from evedmv_tui.widgets.table import KeyedTable
from tests.test_alerts import (
    LABEL,
    SLOW,
    cells,
    feed,
    open_slow_alert,
    settle,
    wait_for_center,
)


@pytest.fixture(autouse=True)
def fed_samples_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge only the samples a test feeds, not the dashboard's own polls."""
    monkeypatch.setattr(AlertCenter, "observe_threadsafe", lambda *_args: None)


def detail_text(screen: Screen[object]) -> str:
    return str(screen.query_one("#alerts-detail", Static).render())


def latest_cell(screen: Screen[object]) -> str:
    table = screen.query_one(KeyedTable)
    [row_key] = table.row_keys
    return str(table.get_row(row_key)[4])


def values_of(line: str) -> list[float]:
    """Return the numbers of a ``recent: 300 ms, 310 ms`` line."""
    return [float(part.split()[0]) for part in line.split(":", 1)[1].split(",")]


async def test_older_alert_shows_its_own_log(settings: Settings) -> None:
    """The panel of an older alert of a key showed the newest alert's samples
    and log lines, and pushed the older alert's own opening out of view."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        start = time.time() - 600.0
        await feed(center, [10.0] * 40 + [300.0] * 4, start)
        accepted_at = start + 100.0
        assert await center.service.accept(SLOW, at=accepted_at)
        # The accepted level is about 300 ms, so 1 s opens a second alert,
        # and 300 ms clears it.
        await feed(center, [1000.0] * 4 + [300.0] * 4, accepted_at)
        await center.service.flush()
        await pilot.press("a")
        await settle(app, pilot)
        assert [row[1] for row in cells(app)] == ["cleared", "cleared"]
        newer = detail_text(app.screen)
        assert "against 3" in newer

        await pilot.press("down")
        await settle(app, pilot)
        older = detail_text(app.screen)
        assert "accepted as normal at" in older
        log_lines = [line for line in older.splitlines() if " ago: " in line]
        assert [line.split(" ago: ")[1].split()[0] for line in log_lines] == [
            "accepted",
            "opened",
        ]
        opened_against = float(log_lines[1].split(" against ")[1].split()[0])
        assert opened_against < 20.0
        [recent] = [line for line in older.splitlines() if line.startswith("recent:")]
        values = values_of(recent)
        assert values
        assert max(values) < 400.0


async def test_detail_panel_scrolls_by_keyboard(settings: Settings) -> None:
    """A log taller than the panel could not be scrolled at 80x24."""
    now = time.time()
    alert = open_slow_alert(now)
    opened = AlertEvent(SLOW, now - 300, "opened", 4, 300.0, "300 ms against 10 ms")
    # Without an alert write in their batch, the store logs every escalation.
    escalations = [
        AlertEvent(SLOW, now - 290 + step, "escalated", 4, 120.0, f"step {step}")
        for step in range(12)
    ]
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        store = center.service.store
        await store.save(
            SaveBatch(alerts=[AlertWrite(alert.stored())], events=[opened])
        )
        await store.save(SaveBatch(events=escalations))
        await pilot.press("a")
        await settle(app, pilot)
        assert "300 ms against 10 ms" in detail_text(app.screen)
        pane = app.screen.query_one("#alerts-detail-pane", VerticalScroll)
        assert pane.max_scroll_y > 0
        assert pane.scroll_y == 0

        await pilot.press("tab")
        await settle(app, pilot)
        assert app.focused is pane
        await pilot.press("end")
        await settle(app, pilot)
        assert pane.scroll_y == pane.max_scroll_y
        # The table's cursor stays on the alert while the panel scrolls.
        assert isinstance(app.screen, AlertsScreen)
        assert app.screen.selected() is not None


async def test_accept_names_the_row_value(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload while the accept dialog was open moved the row to a newer
    sample, so the dialog asked to accept a value the row no longer showed."""
    monkeypatch.setattr(alerts, "REFRESH_SECONDS", 0.2)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        start = time.time() - 600.0
        await feed(center, [10.0] * 40 + [300.0] * 4, start)
        await pilot.press("a")
        await settle(app, pilot)
        [alert] = center.service.active()
        row_value = format_value(SLOW, alert.value)
        screen = app.screen
        assert latest_cell(screen) == row_value

        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        question = f"Accept {row_value} as the normal level of {SLOW}?"
        assert app.screen.question == question
        # A newer sample arrives while the dialog is open.
        at = start + 2.0 * 45
        await center.observe([Sample(SLOW, 400.0, at, 2.0, True, LABEL)])
        [newer] = center.service.active()
        assert format_value(SLOW, newer.value) != row_value
        await pilot.pause(1.0)
        assert latest_cell(screen) == row_value
        assert f"latest {row_value}" in detail_text(screen)

        await pilot.press("y")
        await settle(app, pilot)
        await app.screen.workers.wait_for_complete()
        baseline = center.service.detector.baseline(SLOW)
        assert baseline is not None
        assert baseline.accepted == alert.value
        messages = [note.message for note in app._notifications]
        assert f"Accepted {row_value} as normal for {SLOW}." in messages

"""The alerts screen keeps one refresh timer however often r is pressed."""

from __future__ import annotations

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens import alerts
from evedmv_tui.screens.alerts import AlertsScreen
from tests.test_alerts import settle, wait_for_center


async def test_refresh_key_keeps_one_timer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each refresh armed the next one, so every r added a chain of reloads."""
    monkeypatch.setattr(alerts, "REFRESH_SECONDS", 0.2)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_center(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        for _ in range(8):
            await pilot.press("r")
            await settle(app, pilot)
        calls = 0
        original = screen.refresh_alerts

        def counted() -> None:
            nonlocal calls
            calls += 1
            original()

        monkeypatch.setattr(screen, "refresh_alerts", counted)
        await pilot.pause(1.0)

    # One chain reloads about 5 times a second; the nine chains of the
    # old code reloaded about 45 times.
    assert 1 <= calls <= 8, calls

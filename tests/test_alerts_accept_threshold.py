"""The accept dialog names the value from which the accepted key alerts again."""

from __future__ import annotations

import time
from pathlib import Path

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.monitor.regressions import AlertService, format_value, rule_for
from evedmv_tui.screens.alerts import accept_question, alert_threshold
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen
from tests.test_alerts import SLOW, feed, settle, wait_for_center
from tests.test_regressions_service import KEY, Clock, run, steady


async def test_accept_warning_names_threshold(settings: Settings) -> None:
    """The dialog stated that values up to the accepted level would not alert,
    while the detector stays quiet up to 1.5 times that level."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        await feed(center, [10.0] * 40 + [300.0] * 4, time.time() - 200.0)
        await pilot.press("a")
        await settle(app, pilot)
        [alert] = center.service.active()
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        bound = format_value(SLOW, 1.5 * alert.value)
        assert app.screen.warning == (
            f"Values below {bound} (1.5 times this level) will not alert for"
            f" this key until 'evedmv baseline reset {SLOW}'."
        )


async def test_threshold_matches_detector(tmp_path: Path) -> None:
    """After an accept, a value just under the named bound stays quiet and
    one just over it alerts, once the mean has fallen back."""
    service = await AlertService.open(tmp_path / "baselines.sqlite3")
    clock = Clock()
    try:
        await run(service, clock, steady(40))
        [alert] = await run(service, clock, [200.0] * 4)
        _, warning, level = accept_question(alert)
        assert level == 200.0
        bound = alert_threshold(rule_for(KEY), 200.0)
        assert bound == 300.0
        assert "Values below 300 ms (1.5 times this level)" in warning
        assert await service.accept(KEY, at=clock.at)
        assert await run(service, clock, steady(300)) == []

        assert await run(service, clock, [0.98 * bound] * 10) == []
        raised = await run(service, clock, [1.02 * bound] * 4)
        assert len(raised) == 1
        assert raised[0].baseline == 200.0
    finally:
        await service.close()

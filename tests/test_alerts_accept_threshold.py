"""The accept dialog names the value from which the accepted key alerts again."""

from __future__ import annotations

from pathlib import Path

from evedmv_tui.monitor.regressions import AlertService, rule_for
from evedmv_tui.screens.alerts import accept_question, alert_threshold
from tests.test_regressions_service import KEY, Clock, run, steady


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

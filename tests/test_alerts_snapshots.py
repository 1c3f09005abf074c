"""Snapshot tests of the alerts screen at 80x24 and 120x40.

Regenerate after an intended change with
``.venv/bin/pytest tests/test_alerts_snapshots.py --snapshot-update`` and
review the SVG diffs under ``tests/__snapshots__``.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.screens import SCREENS
from evedmv_tui.screens.alerts import AlertCenter

SHOWN = tuple(entry for entry in SCREENS if entry.name in {"home", "alerts"})
SLOW = "statement:3f2a9c0d11e4b7a8:mean_ms"
HIT = "database:cache_hit_ratio"


async def open_alerts(pilot: Any) -> None:
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    center = app.alert_center
    assert center is not None
    rng = random.Random(11)
    # The alerts open ten minutes before now, so the ages shown round to the
    # same text on every run, and their last samples are not yet stale.
    at = time.time() - 600 - 86
    for i in range(44):
        at += 2.0
        slow = 300.0 if i >= 40 else 10.0 * (1 + rng.uniform(-0.03, 0.03))
        hit = 0.86 if i >= 40 else 0.99 - rng.uniform(0, 0.002)
        await center.observe(
            [
                Sample(
                    SLOW, slow, at, 2.0, True, "SELECT * FROM killmail WHERE id = $1"
                ),
                Sample(HIT, hit, at, 2.0, True, "shared buffer hit ratio"),
            ]
        )
    await center.service.flush()
    app.clear_notifications()
    await pilot.press("a")
    for _ in range(3):
        await app.screen.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_alerts_snapshot(
    snap_compare: Any, settings: Settings, size: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the samples fed above count: the dashboard's own monitor adds keys
    # whenever one of its polls finishes, which changed the learning line.
    monkeypatch.setattr(AlertCenter, "observe_threadsafe", lambda *_args: None)
    app = EvedmvApp(settings, screens=SHOWN)
    assert snap_compare(app, terminal_size=size, run_before=open_alerts)

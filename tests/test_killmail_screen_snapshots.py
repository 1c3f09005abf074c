"""Snapshot tests of the killmail screen on a real killmail, both sizes.

Regenerate after an intended change with
``.venv/bin/pytest tests/test_killmail_screen_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from tests import test_killmail_screen as fixtures
from tests.test_app_snapshots import OWN_SCREENS
from tests.test_killmail_screen import KILLMAIL_ID

# The fixtures of the screen tests, made visible to pytest in this module.
killmail_db = fixtures.killmail_db
esi = fixtures.esi
app_settings = fixtures.app_settings


def open_killmail(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.open_screen("killmail", KILLMAIL_ID)
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_attackers_snapshot(
    snap_compare: Any, app_settings: Settings, size: Any
) -> None:
    app = EvedmvApp(app_settings, screens=OWN_SCREENS)
    assert snap_compare(app, terminal_size=size, run_before=open_killmail())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_items_snapshot(snap_compare: Any, app_settings: Settings, size: Any) -> None:
    app = EvedmvApp(app_settings, screens=OWN_SCREENS)
    assert snap_compare(app, terminal_size=size, run_before=open_killmail("e"))

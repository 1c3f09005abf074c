"""A baseline file that another process replaces while the dashboard runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.store.baselines import open_store
from evedmv_tui.store.target import baseline_file
from tests.test_alerts import SLOW, feed, wait_for_center


def damage(path: Path) -> None:
    """Overwrite ``path`` with bytes that are no SQLite file, as a crash might."""
    path.write_bytes(os.urandom(65536))
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


async def test_dashboard_reopens_replaced_file(settings: Settings) -> None:
    """After 'evedmv regressions' moved a damaged file aside, the dashboard
    went on writing to the moved file, so the command read all clear while
    the dashboard showed an alert."""
    path = baseline_file(settings)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        center = await wait_for_center(app, pilot)
        start = time.time() - 300.0
        await feed(center, [10.0] * 40 + [300.0] * 4, start)
        await center.service.flush()
        assert [a.key for a in center.service.active()] == [SLOW]

        damage(path)
        # What the command does with a damaged file: move it aside and start
        # a new, empty one.
        command = await open_store(path, log_status=False)
        moved = command.status.moved_to
        await command.close()
        assert moved is not None

        await feed(center, [300.0], start + 120.0)
        await pilot.pause()
        message = f"{path} was replaced while in use; reopened the new file"
        assert app.status.message.startswith(message)
        assert any(n.message.startswith(message) for n in app._notifications)
        await feed(center, [300.0], start + 124.0)
        await center.service.flush()

        reader = await open_store(path, log_status=False)
        try:
            baseline = await reader.get_baseline(SLOW)
            alerts = await reader.open_alerts()
        finally:
            await reader.close()
    assert baseline is not None
    assert baseline.count >= 20
    assert [alert.key for alert in alerts] == [SLOW]
    assert path.exists()
    assert moved.exists()

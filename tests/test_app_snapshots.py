"""Snapshot tests of the shell's screens at 80x24 and 120x40.

Regenerate after an intended change with
``.venv/bin/pytest tests/test_app_snapshots.py --snapshot-update`` and
review the SVG diffs under ``tests/__snapshots__``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens import SCREENS

# The shell's own screens only, so that a screen registered elsewhere does
# not change these snapshots.
OWN_SCREENS = tuple(entry for entry in SCREENS if entry.name in {"home", "killmail"})


def make_app(settings: Settings) -> EvedmvApp:
    return EvedmvApp(settings, screens=OWN_SCREENS)


async def wait_idle(pilot: Any) -> None:
    """Wait for the app's workers and for the alert center to open.

    The alert center sets the status bar's alert count when it opens, so a
    count set by a test before then would be overwritten.
    """
    app = pilot.app
    deadline = time.monotonic() + 30
    while getattr(app, "alert_center", None) is None:
        assert time.monotonic() < deadline, "the alert center did not open"
        await asyncio.sleep(0.02)
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_home_snapshot(snap_compare: Any, settings: Settings, size: Any) -> None:
    assert snap_compare(make_app(settings), terminal_size=size, run_before=wait_idle)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_help_snapshot(snap_compare: Any, settings: Settings, size: Any) -> None:
    async def open_help(pilot: Any) -> None:
        await wait_idle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(settings), terminal_size=size, run_before=open_help)


def test_too_small_snapshot(snap_compare: Any, settings: Settings) -> None:
    assert snap_compare(
        make_app(settings), terminal_size=(60, 20), run_before=wait_idle
    )


def test_prompt_snapshot(snap_compare: Any, settings: Settings) -> None:
    async def open_prompt(pilot: Any) -> None:
        await wait_idle(pilot)
        await pilot.press("k", *"12x", "enter")
        await pilot.pause()

    assert snap_compare(
        make_app(settings), terminal_size=(80, 24), run_before=open_prompt
    )


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_status_bar_no_color_snapshot(
    snap_compare: Any,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    size: Any,
) -> None:
    """With NO_COLOR the alert severity and message must read from words."""
    monkeypatch.setenv("NO_COLOR", "1")
    # Without a monitor, no poll's alert count can overwrite the one set here.
    monkeypatch.setattr(
        "evedmv_tui.screens.performance.start_monitor", lambda app, settings: None
    )

    async def raise_alerts(pilot: Any) -> None:
        await wait_idle(pilot)
        pilot.app.set_alert_count(4, "error")
        pilot.app.set_status("baseline drift on statement 42", "warning")
        await pilot.pause()

    assert snap_compare(make_app(settings), terminal_size=size, run_before=raise_alerts)

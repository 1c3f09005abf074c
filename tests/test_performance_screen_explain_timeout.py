"""EXPLAIN ANALYZE from the Performance screen that runs into its timeout."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.monitor import explain
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen, TextScreen
from tests.test_performance_screen import (
    OWN_SCREENS,
    fast,
    open_live,
    select_backend,
    sleeping_backend,
    wait_for,
)

RUNNING = "SELECT pg_sleep(600) AS analyze_timeout"


async def test_analyze_timeout_names_timeout(
    settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EXPLAIN ANALYZE stopped by its statement timeout is reported as one.

    The dialog used to say that the server rejected the EXPLAIN and offered
    a plain EXPLAIN to run by hand, as if the statement were invalid.
    """
    monkeypatch.setattr(explain, "EXPLAIN_TIMEOUT_MS", 500)
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        with sleeping_backend(db_url, RUNNING) as sleeper:
            await select_backend(pilot, screen, sleeper.pid)
            await pilot.press("A")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
            failure: Any = app.screen
            assert failure.title_text == "Cannot explain"
            assert failure.body.startswith(
                "EXPLAIN ANALYZE runs the statement, and the 0.5 s statement"
                " timeout stopped it before it finished"
            )
            assert "rejected" not in failure.body
            assert "Press e for the plan without ANALYZE" in failure.body
            assert "SET LOCAL statement_timeout = '30min';" in failure.body
            assert f"\nEXPLAIN ANALYZE {RUNNING};\nROLLBACK;" in failure.body
            assert "parameter values" not in failure.body


def test_early_cancel_is_not_timeout() -> None:
    """A cancel from another session before the timeout is not called a timeout."""
    canceled = psycopg.errors.QueryCanceled("canceling statement due to user request")
    assert not explain._timed_out(canceled, time.monotonic())
    assert explain._timed_out(canceled, time.monotonic() - 60)
    other = psycopg.errors.SyntaxError("syntax error")
    assert not explain._timed_out(other, time.monotonic() - 60)

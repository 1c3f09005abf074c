"""The pop-up notifications of a dashboard that opens on a database without
the evedmv schema and pg_stat_statements, at 80x24."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Static
from textual.widgets._toast import Toast

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.home import HomeScreen
from evedmv_tui.widgets.status import message_log
from tests.conftest import login_role
from tests.test_home_capabilities import settle

SCREEN_ROWS = 24
BOTTOM_ROWS = 2
"""The status bar and the footer, which the pop-ups stay above."""


@pytest.fixture(params=["superuser", "limited role"])
def bare_dsn(request: pytest.FixtureRequest, bare_url: str) -> Iterator[str]:
    """The bare database as the superuser, or as a role without pg_read_all_stats."""
    if request.param == "superuser":
        yield bare_url
        return
    with login_role(bare_url, "home") as url:
        yield url


async def shown_toasts(app: EvedmvApp, pilot: Any) -> list[Toast]:
    await settle(pilot, lambda: len(app._notifications) > 0)
    # The pop-ups mount on the next refreshes.
    await settle(pilot, lambda: len(app.screen.query(Toast)) > 0)
    for _ in range(10):
        await pilot.pause(0.05)
    return list(app.screen.query(Toast))


async def test_startup_notifications_fit(settings: Settings, bare_dsn: str) -> None:
    """Three notifications stacked higher than the Home screen at 24 rows,
    and the first one's title was off the top. The schema problem came
    twice, once in the capabilities and once from the failed figures."""
    app = EvedmvApp(dataclasses.replace(settings, dsn=bare_dsn, offline=True))
    async with app.run_test(size=(80, SCREEN_ROWS), notifications=True) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, HomeScreen))
        overview = app.screen.query_one("#overview", Static)
        await settle(pilot, lambda: "no evedmv migration" in str(overview.render()))
        toasts = await shown_toasts(app, pilot)
        regions = [toast.region for toast in toasts]
        titles = [n.title for n in app._notifications]
        [limited] = [
            n for n in app._notifications if n.title == "Monitoring is limited"
        ]
        logged = [m.text for m in message_log(app).messages]
    assert titles == ["Monitoring is limited"]
    assert len(regions) == 1
    for region in regions:
        assert region.y >= 0, region
        assert region.bottom <= SCREEN_ROWS - BOTTOM_ROWS, region
    assert "- pg_stat_statements is not installed\n" in limited.message
    assert "- monitor only: no evedmv schema\n" in limited.message
    assert limited.message.endswith("The Home screen and l show the fixes.")
    [full] = [text for text in logged if text.startswith("Monitoring is limited: ")]
    assert "run CREATE EXTENSION pg_stat_statements" in full
    assert "db migrate" in full

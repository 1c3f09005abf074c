"""Entity pages load again when they are shown again."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import totals
from evedmv_tui.intel.entities import Period
from evedmv_tui.screens import entity
from evedmv_tui.screens.entity import CorporationScreen
from evedmv_tui.screens.killmail import KillmailScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.intel_summary import SummaryPanel
from evedmv_tui.widgets.intel_tables import RecentTable
from evedmv_tui.widgets.text import format_isk
from tests.test_battle_fixtures import (
    Pilot,
    brawl,
    fleet,
    insert_kills,
    insert_static,
    kill,
)
from tests.test_intel_screens import settle

CORPORATION = 98_000_821
"""The corporation whose page the tests open; its pilots are side A."""


@dataclasses.dataclass
class Fight:
    db: Database
    side_a: list[Pilot]
    side_b: list[Pilot]


@pytest.fixture
def fight(db: Database) -> Fight:
    """Twelve kills between two corporations, each worth 10m ISK."""
    insert_static(db)
    side_a = fleet(6, CORPORATION, 99_000_821)
    side_b = fleet(6, 98_000_822, 99_000_822)
    insert_kills(db, brawl(side_a, side_b, kills=12))
    totals.rebuild(db)
    return Fight(db, side_a, side_b)


@pytest.fixture
def offline(settings: Settings) -> Settings:
    """The test's settings without ESI, so the killmail screen requests no names."""
    return dataclasses.replace(settings, offline=True)


def isk_destroyed(screen: CorporationScreen) -> str:
    summary = str(screen.query_one(SummaryPanel).render())
    [line] = [line for line in summary.splitlines() if "ISK destroyed" in line]
    return line.split()[2]


async def test_page_reloads_when_shown_again(fight: Fight, offline: Settings) -> None:
    """A page kept the ISK from before a price import in another terminal
    after Escape from a screen opened on top of it. Only ``r`` reloaded it.
    The reload must keep the tab, the period and the cursor row."""
    app = EvedmvApp(offline)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", CORPORATION)
        await settle(pilot)
        await pilot.press("4", "7")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        assert isk_destroyed(screen) == format_isk(60_000_000.0)
        recent = screen.query_one(RecentTable)
        assert screen.focused is recent
        await pilot.press("down", "down")
        await pilot.pause()
        chosen = recent.cursor_key
        assert chosen is not None
        assert recent.cursor_row == 2

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, KillmailScreen)
        # Meanwhile another process prices the killmails and stores a newer
        # kill, which goes to the top of the recent list.
        fight.db.execute("UPDATE killmails SET total_value = 45600000000")
        newer = kill(60, fight.side_b[0], fight.side_a, value=45_600_000_000.0)
        insert_kills(fight.db, [newer])
        totals.rebuild(fight.db)

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert isk_destroyed(screen) == format_isk(7 * 45_600_000_000.0)
        assert screen.period is Period.ALL
        assert screen.query_one("#entity-tabs").active == "tab-recent"
        assert screen.focused is recent
        assert recent.cursor_key == chosen
        assert recent.cursor_row == 3


@pytest.fixture
def held_month_load(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Hold every 30-day load of a page until the returned event is set."""
    release = threading.Event()
    load = entity.lookup_and_load

    def held(*args: object) -> object:
        if Period.MONTH in args:
            release.wait(timeout=30)
        return load(*args)

    monkeypatch.setattr(entity, "lookup_and_load", held)
    yield release
    release.set()


async def test_stale_reload_does_not_undo_period(
    fight: Fight, settings: Settings, held_month_load: threading.Event
) -> None:
    """A reload on resume that finished after a period key's load showed its
    older period over the one the user had just chosen."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", CORPORATION)
        held_month_load.set()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        assert screen.page.period is Period.MONTH

        held_month_load.clear()
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        # The 30-day reload is held, so the all-time load started after it ends first.
        screen.action_period("all")
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.page.period is Period.ALL:
                break
        assert screen.page.period is Period.ALL

        held_month_load.set()
        await settle(pilot)
        assert screen.page is not None
        assert screen.page.period is Period.ALL
        assert screen.period is Period.ALL

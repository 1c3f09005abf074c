"""The lines that top lists of an entity page show when they have no rows."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import totals
from evedmv_tui.intel.pages import TOP_LISTS
from evedmv_tui.screens.entity import EMPTY_TOP_LISTS, CorporationScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.intel_tables import TopListTable
from tests.test_battle_fixtures import fleet, insert_kills, insert_static, kill
from tests.test_intel_screens import settle

HUNTERS = 98_000_811
"""A corporation without an alliance that has kills and no losses."""


@pytest.fixture
def hunters_db(db: Database) -> Database:
    """Four kills of the corporation ``HUNTERS``, whose pilots fly alone."""
    insert_static(db)
    hunters = fleet(3, HUNTERS, None)
    prey = fleet(4, 98_000_812, 99_000_812)
    insert_kills(db, [kill(minute, prey[minute], hunters) for minute in range(4)])
    totals.rebuild(db)
    return db


def shown_text(note: Static) -> str:
    lines = [note.render_line(y).text for y in range(note.size.height)]
    return " ".join(" ".join(lines).split())


@pytest.mark.parametrize("period_key", ["2", "4"])
async def test_empty_top_lists_explain_why(
    hunters_db: Database, settings: Settings, period_key: str
) -> None:
    """The Top lists tab showed the "Class lost / Losses" header with nothing
    under it for a corporation without losses, while other empty views
    explain it in words."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", HUNTERS)
        await settle(pilot)
        await pilot.press(period_key, "6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        assert screen.page.summary.kills == 4
        assert screen.page.summary.losses == 0

        lost = screen.query_one("#top-ships_lost", TopListTable)
        assert lost.row_count == 0
        note = screen.query_one("#top-ships_lost-empty", Static)
        assert note.display
        assert note.region.height > 0
        assert note.region.y >= lost.region.bottom
        if period_key == "4":
            assert shown_text(note) == "No losses of this entity are stored."
        else:
            text = shown_text(note)
            assert text.startswith("No losses from ")
            assert text.endswith(" Press 4 for all time.")

        # The pilots fly alone, so no other attacker is in a corporation.
        flown_with = screen.query_one("#top-with_corporations-empty", Static)
        assert flown_with.display
        assert shown_text(flown_with) == EMPTY_TOP_LISTS["with_corporations"]

        for name in ("pilots", "ships_flown", "systems", "against_corporations"):
            table = screen.query_one(f"#top-{name}", TopListTable)
            assert table.row_count > 0, name
            assert not screen.query_one(f"#top-{name}-empty", Static).display, name


def test_every_top_list_has_empty_line() -> None:
    """Each top list has a line for when it is empty while the period is not."""
    assert set(EMPTY_TOP_LISTS) == set(TOP_LISTS)

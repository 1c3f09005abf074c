"""The lines that top lists of an entity page show when they have no rows."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import totals
from evedmv_tui.intel.entities import EntityKind, EntityRef, Period
from evedmv_tui.intel.pages import TOP_LISTS, load_page
from evedmv_tui.screens.entity import (
    EMPTY_TOP_LISTS,
    CorporationScreen,
    describe_empty_top,
)
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.intel_tables import TopListTable
from tests.test_battle_fixtures import fleet, insert_kills, insert_static, kill
from tests.test_intel_screens import settle

HUNTERS = 98_000_811
"""A corporation without an alliance that has kills and no losses."""
PREY = 98_000_812
"""A corporation that has losses and no kills."""


@pytest.fixture
def hunters_db(db: Database) -> Database:
    """Four kills of the corporation ``HUNTERS``, whose pilots fly alone."""
    insert_static(db)
    hunters = fleet(3, HUNTERS, None)
    prey = fleet(4, PREY, 99_000_812)
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
        # All time has no losses either, so no period points to it.
        assert shown_text(note) == "No losses of this entity are stored."

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


async def test_losses_only_entity_has_no_all_time_hint(
    hunters_db: Database, settings: Settings
) -> None:
    """The kill lists of a corporation with losses only showed "Press 4 for
    all time" over a month, although all time has no kills either."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", PREY)
        await settle(pilot)
        await pilot.press("2", "6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        assert screen.page.since is not None
        assert screen.page.summary.kills == 0

        for name in ("pilots", "ships_flown", "with_corporations"):
            note = screen.query_one(f"#top-{name}-empty", Static)
            assert note.display, name
            assert shown_text(note) == "No kills of this entity are stored.", name


def test_kills_before_period_keep_all_time_hint(db: Database) -> None:
    """A kill list empty over a month still points to all time when the
    entity has kills before that month."""
    insert_static(db)
    hunters = fleet(2, HUNTERS, None)
    prey = fleet(2, PREY, None)
    # One kill 60 days before a loss, so the month up to the loss has none.
    insert_kills(
        db,
        [kill(-60 * 24 * 60, prey[0], hunters), kill(0, hunters[0], prey[1:])],
    )
    totals.rebuild(db)
    entity = EntityRef(EntityKind.CORPORATION, HUNTERS, None)

    month = load_page(db, entity, Period.MONTH)
    assert month.summary.kills == 0
    assert month.summary.losses == 1
    text = describe_empty_top(month, "ships_flown")
    assert text.startswith("No kills from ")
    assert text.endswith(" Press 4 for all time.")

    all_time = load_page(db, entity, Period.ALL)
    assert all_time.tops["ships_flown"]

"""Labels, names and keys of the corporation, alliance and character pages."""

from __future__ import annotations

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.entity import CorporationScreen
from evedmv_tui.widgets.intel_tables import TopListTable
from tests import test_intel_screens
from tests.test_intel_screens import World, settle

# Fixtures of the intel screen tests: a database of real killmails, loaded once
# per module, and settings that point at it.
world = test_intel_screens.world
app_settings = test_intel_screens.app_settings


async def test_class_flown_counts_kills_it_was_on(
    app_settings: Settings, world: World
) -> None:
    """The ship classes flown were headed "Kills", yet their rows add up to
    more than the kills, because a kill can have several classes on it."""
    app = EvedmvApp(app_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("corporation", world.corporation)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CorporationScreen)
        assert screen.page is not None
        flown = screen.query_one("#top-ships_flown", TopListTable)
        labels = [str(column.label) for column in flown.columns.values()]
        assert labels == ["Class flown", "On kills"]
        lost = screen.query_one("#top-ships_lost", TopListTable)
        labels = [str(column.label) for column in lost.columns.values()]
        assert labels == ["Class lost", "Losses"]

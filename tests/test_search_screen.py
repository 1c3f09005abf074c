"""The Search screen's field when the screen is shown again."""

from __future__ import annotations

from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.entity import EntityScreen
from evedmv_tui.screens.search import SearchScreen
from evedmv_tui.store.db import Database
from tests.test_app import until, wait_connected
from tests.test_search import insert_name


async def test_reopened_search_replaces_query(settings: Settings, db: Database) -> None:
    """Typing after ``/`` from a page opened by a search used to add to the
    last query (``Yara`` then ``Jita`` searched ``YaraJita``): the last query
    is selected, so typing replaces it."""
    insert_name(db, 90000001, "character", "Yara Tall")
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("slash", *"Yara")
        search = app.screen
        assert isinstance(search, SearchScreen)
        await until(pilot, lambda: bool(search.hits))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EntityScreen))

        await pilot.press("slash")
        await until(pilot, lambda: app.screen is search)
        field = search.query_one(Input)
        assert app.focused is field
        assert field.selected_text == "Yara"

        await pilot.press(*"Jita")
        assert field.value == "Jita"

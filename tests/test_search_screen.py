"""The Search screen's field when the screen is shown again."""

from __future__ import annotations

import psycopg
import pytest
from textual.widgets import Input, Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.entity import EntityScreen
from evedmv_tui.screens.search import SearchScreen
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.status import Severity, message_log
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


async def test_enter_right_after_typing_opens_first_hit(
    settings: Settings, db: Database, db_url: str
) -> None:
    """Enter typed in the same burst as the query used to be dropped, as the
    results then on screen belonged to a shorter text: it opens the first hit
    once the search for the whole text finishes."""
    insert_name(db, 98647650, "character", "Yara Tall")
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        with psycopg.connect(db_url) as blocker:
            # Holds every search until Enter has been handled.
            blocker.execute("LOCK TABLE names IN ACCESS EXCLUSIVE MODE")
            await pilot.press("slash", *"98647650", "enter")
            await pilot.pause(0.3)
            assert isinstance(app.screen, SearchScreen)
            blocker.rollback()
        await until(pilot, lambda: isinstance(app.screen, EntityScreen))
        assert getattr(app.screen, "entry_key", None) == ("character", 98647650)


async def test_enter_before_empty_result_says_nothing_matches(
    settings: Settings, db: Database
) -> None:
    """An Enter waiting for a search that finds nothing opens nothing."""
    insert_name(db, 98647650, "character", "Yara Tall")
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("slash", *"Yarb", "enter")
        search = app.screen
        assert isinstance(search, SearchScreen)
        status = search.query_one("#search-status", Static)
        await until(pilot, lambda: search.hits_text == "Yarb")
        await pilot.pause()
        assert app.screen is search
        assert str(status.render()) == "Nothing matches."
        assert not search.open_pending


async def test_slash_on_search_selects_query(settings: Settings, db: Database) -> None:
    """``/`` on the Search screen used to go into the field (``/Yara`` found
    nothing): it selects the query, from the field or from the results."""
    insert_name(db, 90000001, "character", "Yara Tall")
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("slash", *"Yara")
        search = app.screen
        assert isinstance(search, SearchScreen)
        field = search.query_one(Input)
        await until(pilot, lambda: bool(search.hits))

        await pilot.press("slash")
        assert app.screen is search
        assert field.value == "Yara"
        assert field.selected_text == "Yara"

        await pilot.press("down", "slash")
        assert app.focused is field
        assert field.selected_text == "Yara"
        await pilot.press(*"Jita")
        assert field.value == "Jita"


async def test_closed_search_drops_late_result(
    settings: Settings, db: Database, db_url: str
) -> None:
    """A result that arrives after Escape closed the screen used to fill
    widgets that were gone and report an unexpected error."""
    insert_name(db, 98647650, "character", "Yara Tall")
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        with psycopg.connect(db_url) as blocker:
            blocker.execute("LOCK TABLE names IN ACCESS EXCLUSIVE MODE")
            await pilot.press("slash", *"Yara")
            search = app.screen
            assert isinstance(search, SearchScreen)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is not search)
            blocker.rollback()
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        log = message_log(app).messages
        assert [m.text for m in log if m.severity is Severity.ERROR] == []


async def test_disconnected_status_fits_80_columns(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status line's message was cut at the terminal's edge, mid-word."""
    from evedmv_tui import app as app_module

    monkeypatch.setattr(app_module, "RECONNECT_DELAYS", (600.0,))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("slash")
        search = app.screen
        assert isinstance(search, SearchScreen)
        connected = app.db
        assert connected is not None
        app.connection_lost(connected, "server closed the connection unexpectedly")
        await pilot.press(*"jita")
        await pilot.pause()
        status = search.query_one("#search-status", Static)
        text = str(status.render())
        assert text.startswith("Cannot search while disconnected")
        assert len(text) <= status.content_region.width

"""Keys that arrive in one burst, as a quick typist over SSH sends them.

The pilot's ``press`` waits for the app to settle after every key. A
terminal's read hands the app several keys at once, and the app routes each
before the key that opened a screen or a field has taken effect. These
tests post the keys without waiting in between.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.command import CommandPalette
from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.home import HomeScreen
from evedmv_tui.screens.search import SearchScreen
from evedmv_tui.store.db import Database
from tests.test_app import until, wait_connected
from tests.test_battle_screens import battles_db, open_battles

__all__ = ["battles_db"]

KEY_NAMES = {"/": "slash", " ": "space", "=": "equals_sign"}


def burst(app: EvedmvApp, *keys: str) -> None:
    """Post ``keys`` to the app at once; a key longer than one character is a name."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(KEY_NAMES.get(key, key), key))
        else:
            app.post_message(events.Key(key, None))


async def test_search_burst(settings: Settings, db: Database) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        burst(app, *"/Jita")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen))
        field = app.screen.query_one(Input)
        await until(pilot, lambda: field.value == "Jita")
        assert app.focused is field


async def test_search_then_palette_burst(settings: Settings, db: Database) -> None:
    """Keys before the palette key go to Search, those after it to the palette."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        burst(app, "/", "a", "ctrl+p", "b", "c")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        palette_field = app.screen.query_one(Input)
        await until(pilot, lambda: palette_field.value == "bc")
        search = app.screen_stack[-2]
        assert isinstance(search, SearchScreen)
        assert search.query_one(Input).value == "a"


async def test_battles_filter_burst(battles_db: Database, settings: Settings) -> None:
    """``s`` sorts the battles table; typed right after ``f`` it is filter text."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        burst(app, *"fsystem=")
        field = screen.query_one("#battles-filter", Input)
        await until(pilot, lambda: field.value == "system=")
        assert app.focused is field
        summary: Any = screen.query_one("#battles-summary")
        assert "sorted by time" in str(summary.render())


async def test_slash_typed_in_field(battles_db: Database, settings: Settings) -> None:
    """The slash opens Search from a table, but inside a field it is typed."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_battles(app, pilot)
        await pilot.press("f", *"a/b")
        field = screen.query_one("#battles-filter", Input)
        assert field.value == "a/b"
        assert app.screen is screen


async def test_prompt_burst(settings: Settings, db: Database) -> None:
    """``k5001`` typed at once lost the digits typed before the prompt showed."""
    from evedmv_tui.widgets.prompt import PromptScreen

    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        burst(app, *"k5001")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        field = app.screen.query_one(Input)
        await until(pilot, lambda: field.value == "5001")

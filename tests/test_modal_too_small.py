"""Dialogs below 80x24 show the size message, as dashboard screens do."""

from __future__ import annotations

from typing import Any

from textual.command import CommandPalette
from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens import TooSmall
from evedmv_tui.screens.watch import ProfileForm, WatchScreen
from evedmv_tui.widgets.perf_dialogs import TextScreen


async def settle(pilot: Any, until: Any, rounds: int = 200) -> None:
    """Let workers and timers run until ``until()`` is true (bounded)."""
    for _ in range(rounds):
        if until():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


async def test_watch_form_gives_way_to_size_message(settings: Settings) -> None:
    """The watch profile form was cut off at 70x20, showing "Save      Canc"."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.db is not None)
        await pilot.press("w")
        await settle(pilot, lambda: isinstance(app.screen, WatchScreen))
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, ProfileForm))
        form = app.screen
        field = form.focused
        assert isinstance(field, Input)

        await pilot.resize_terminal(70, 20)
        await settle(pilot, lambda: form.has_class("-too-small"))
        notice = form.query_one(TooSmall)
        assert notice.display
        assert str(notice.render()).startswith(
            "The terminal is 70x20; evedmv needs at least 80x24."
        )
        assert not form.query_one("#form-save").region
        assert form.focused is None
        await pilot.press("x")
        assert field.value == ""
        assert app.screen is form

        await pilot.resize_terminal(80, 24)
        await settle(pilot, lambda: not form.has_class("-too-small"))
        assert not notice.display
        assert form.query_one("#form-save").region
        assert form.focused is field


async def test_dialog_pushed_while_small(settings: Settings) -> None:
    """A dialog that opens below 80x24 shows the message, and q still quits."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.db is not None)
        await pilot.resize_terminal(60, 18)
        await pilot.pause()
        dialog = TextScreen("query", "SELECT 1")
        app.push_screen(dialog)
        await settle(pilot, lambda: dialog.has_class("-too-small"))
        assert dialog.query_one(TooSmall).display
        await pilot.press("escape")
        assert app.screen is dialog
        await pilot.press("q")
        await settle(pilot, lambda: not app.is_running)


async def test_palette_gives_way_to_size_message(settings: Settings) -> None:
    """The command palette stayed drawn, cut off, below 80x24 while it
    dropped what was typed."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: app.db is not None)
        await pilot.press("ctrl+p")
        await settle(pilot, lambda: isinstance(app.screen, CommandPalette))
        palette = app.screen
        await pilot.press(*"char")
        field = palette.query_one(Input)
        assert field.value == "char"

        await pilot.resize_terminal(60, 15)
        await settle(pilot, lambda: palette.has_class("-too-small"))
        notice = palette.query_one(TooSmall)
        assert notice.display
        assert notice.region.width > 0
        assert not field.region

        await pilot.resize_terminal(80, 24)
        await settle(pilot, lambda: not palette.has_class("-too-small"))
        assert not notice.display
        assert field.region
        assert palette.focused is field
        assert field.value == "char"

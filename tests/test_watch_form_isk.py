"""Editing a watch profile shows its Min value as the user types it."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.commands.arguments import isk_amount
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.screens.watch import ProfileForm, WatchScreen, isk_text
from evedmv_tui.store.db import Database
from tests.test_watch_form_fixes import save_form
from tests.test_watch_screen_keys import open_watch, settle


async def test_edit_shows_min_value_with_its_unit(
    settings: Settings, db: Database
) -> None:
    """A profile saved with Min value 2.5b showed 2500000000 in Edit."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await save_form(app, pilot, {"name": "big kills", "min_value": "2.5b"})
        assert isinstance(app.screen, WatchScreen)
        [profile] = watch.list_profiles(db)
        assert profile.min_value == 2.5e9

        await pilot.press("e")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        assert form.query_one("#form-min_value", Input).value == "2.5b"

        # Saving again keeps the amount.
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, WatchScreen)
        [profile] = watch.list_profiles(db)
        assert profile.min_value == 2.5e9


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.5e9, "2.5b"),
        (750e6, "750m"),
        (1e12, "1t"),
        (1500.0, "1.5k"),
        (1_234_567.0, "1.234567m"),
        (999.0, "999"),
        (0.0, "0"),
        (0.5, "0.5"),
    ],
)
def test_isk_text_reads_back_exactly(value: float, text: str) -> None:
    assert isk_text(value) == text
    assert isk_amount(text) == value

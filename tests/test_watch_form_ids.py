"""The watch profile form checks ids as the command line does, and a save
the server refuses does not suggest waiting for a connection."""

from __future__ import annotations

from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.names import BIGINT_MAX
from evedmv_tui.screens.watch import FORM_FIELDS, ProfileForm, WatchScreen
from evedmv_tui.store.db import Database
from tests.test_watch_form_fixes import error_lines, save_form
from tests.test_watch_screen_keys import open_watch, settle

TOO_LARGE = "99999999999999999999999"


async def test_every_id_field_takes_ids_up_to_bigint(
    settings: Settings, db: Database
) -> None:
    """Ship types 99999999999999999999999 passed the form, then the save
    failed with "bigint out of range"."""
    id_fields = [field for field, _, _ in FORM_FIELDS if field.endswith("_ids")]
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        for field in id_fields:
            await pilot.press("a")
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, ProfileForm)
            await save_form(app, pilot, {"name": "big", field: TOO_LARGE})
            assert app.screen is form, field
            [line] = error_lines(form)
            label = next(label for f, label, _ in FORM_FIELDS if f == field)
            assert line.startswith(f"{label}: ")
            assert TOO_LARGE in line
            assert f"give ids from 1 to {BIGINT_MAX:,}" in line
            assert form.query_one(f"#form-{field}", Input).has_class("-has-problem")
            await pilot.press("escape")
            await settle(app, pilot)
        assert watch.list_profiles(db) == []


async def test_refused_save_does_not_blame_the_connection(
    settings: Settings, db: Database
) -> None:
    """A save the server refused while connected advised pressing Enter once
    the status bar showed the database connected."""
    db.execute(
        "ALTER TABLE watch_profiles ADD CONSTRAINT no_hubs CHECK (name <> 'hub')"
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await save_form(app, pilot, {"name": "hub", "min_attackers": "5"})
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        assert form.error.startswith("Not saved: ")
        assert "no_hubs" in form.error
        assert "connected" not in form.error
        assert "Correct the fields" in form.error

        # A lost connection still gets the advice to wait for it.
        app.db = None
        await pilot.press("enter")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        assert "shows the database connected" in form.error
        assert isinstance(app.screen_stack[-2], WatchScreen)
        assert screen in app.screen_stack

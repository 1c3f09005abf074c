"""The watch profile form: each problem line gives its fix, and editing
shows places by the names the user typed."""

from __future__ import annotations

from textual.widgets import Input, Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.screens.watch import ProfileForm, WatchScreen
from evedmv_tui.ship_classes import SHIP_CLASSES
from evedmv_tui.store.db import Database
from tests.test_watch_screen_keys import open_watch, settle


def store_jita(db: Database) -> None:
    db.execute(
        "INSERT INTO regions (region_id, region_name) VALUES (10000002, 'The Forge')"
    )
    db.execute(
        "INSERT INTO solar_systems (solar_system_id, solar_system_name,"
        " constellation_id, region_id, security) VALUES"
        " (30000142, 'Jita', 20000020, 10000002, 0.95)"
    )


async def save_form(app: EvedmvApp, pilot: object, typed: dict[str, str]) -> None:
    form = app.screen
    assert isinstance(form, ProfileForm)
    for field, text in typed.items():
        form.query_one(f"#form-{field}", Input).value = text
    form.query_one("#form-name", Input).focus()
    await pilot.press("enter")  # type: ignore[attr-defined]
    await settle(app, pilot)  # type: ignore[arg-type]


def error_lines(form: ProfileForm) -> list[str]:
    return str(form.query_one("#form-error", Static).render()).splitlines()


async def test_problem_lines_name_the_fix(settings: Settings, db: Database) -> None:
    """An unknown system and an unknown ship class were listed without what
    to do: no way to find a system's name and no list of the classes."""
    store_jita(db)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        await save_form(
            app,
            pilot,
            {
                "name": "caps",
                "solar_system_ids": "Nosuchplace",
                "ship_classes": "titan",
                "min_value": "abc",
                "min_attackers": "5",
                "max_attackers": "2",
            },
        )
        assert app.screen is form
        text = " ".join(str(form.query_one("#form-error", Static).render()).split())
        systems, ship_classes = text.split("Ship classes:")
        assert systems.startswith("Systems: no solar system named 'Nosuchplace'")
        assert "escape, then / finds systems by name" in systems
        assert "unknown ship class 'titan'" in ship_classes
        assert f"known classes: {', '.join(SHIP_CLASSES)}" in ship_classes
        # The buttons stay in view with the five problems at 80x24.
        shown = app.export_screenshot()
        assert "Save" in shown
        assert "Cancel" in shown


async def test_edit_shows_typed_system_names(settings: Settings, db: Database) -> None:
    """A profile saved with Systems "Jita" showed "30000142" in Edit."""
    store_jita(db)
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await save_form(
            app,
            pilot,
            {
                "name": "trade hub",
                "solar_system_ids": "Jita, 31000005",
                "region_ids": "The Forge",
            },
        )
        assert isinstance(app.screen, WatchScreen)
        [profile] = watch.list_profiles(db)
        assert profile.solar_system_ids == [31000005, 30000142]

        await pilot.press("e")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        systems = form.query_one("#form-solar_system_ids", Input).value
        # A system missing from the static data stays an id.
        assert systems == "31000005,Jita"
        assert form.query_one("#form-region_ids", Input).value == "The Forge"

        # Saving again keeps the same places.
        await pilot.press("enter")
        await settle(app, pilot)
        [profile] = watch.list_profiles(db)
        assert profile.solar_system_ids == [31000005, 30000142]
        assert profile.region_ids == [10000002]

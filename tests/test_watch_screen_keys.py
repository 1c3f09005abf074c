"""The watch screen's keys, and the profile form's checks and hints."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.intel.watch import ProfileSpec, WatchError
from evedmv_tui.screens.watch import (
    ProfileForm,
    WatchScreen,
    form_values,
    parse_form,
)
from evedmv_tui.store.db import Database
from evedmv_tui.widgets.table import KeyedTable
from tests.conftest import assert_footer_fits


def form_error(field: str, text: str) -> str:
    values = form_values(None)
    values["name"] = "hint check"
    values[field] = text
    with pytest.raises(WatchError) as error:
        parse_form(values)
    return error.value.message


def test_entity_id_hint_leaves_form_first() -> None:
    """The hint for a name in an id field pointed to /, a key that
    does nothing while the form is open."""
    for field in ("character_ids", "corporation_ids", "alliance_ids"):
        message = form_error(field, "Goonswarm")
        assert "close the form with escape and press / to search" in message
        assert "(search with /" not in message


def test_type_id_hint_omits_search() -> None:
    """Search finds no ship types, so the ship type hint does not send the
    user there."""
    message = form_error("ship_type_ids", "Rifter")
    assert "whole-number ids separated by commas" in message
    assert "search" not in message


async def test_mark_key_names_what_it_marks(settings: Settings, db: Database) -> None:
    """The footer's "x Mark" did not say what it marks, nor the header that
    marking is for the space and d keys."""
    watch.create_profile(db, ProfileSpec("alpha", corporation_ids=(1,)))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, WatchScreen)
        keys = {key.key: key.description for key in app.screen.query(FooterKey)}
        assert keys["x"] == "Mark row"
        assert_footer_fits(app)
        title = str(app.screen.query_one("#profiles-title", Static).render())
        assert "0 marked for space and d" in title
        await pilot.press("x")
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        title = str(app.screen.query_one("#profiles-title", Static).render())
        assert "1 marked for space and d" in title


async def open_watch(app: EvedmvApp, pilot: Pilot[None]) -> WatchScreen:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("w")
    await settle(app, pilot)
    assert isinstance(app.screen, WatchScreen)
    return app.screen


async def settle(app: EvedmvApp, pilot: Pilot[None]) -> None:
    for _ in range(2):
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()


async def test_form_lists_every_problem_at_once(
    settings: Settings, db: Database
) -> None:
    """One save reported one problem: Min value, then the attacker bounds,
    then the unknown system, the last in a reopened form and a toast."""
    db.execute(
        "INSERT INTO regions (region_id, region_name) VALUES (10000002, 'The Forge')"
    )
    db.execute(
        "INSERT INTO solar_systems (solar_system_id, solar_system_name,"
        " constellation_id, region_id, security) VALUES"
        " (30000142, 'Jita', 20000020, 10000002, 0.95)"
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        typed = {
            "name": "test one",
            "solar_system_ids": "Jita, Nowhere",
            "min_value": "abc",
            "min_attackers": "5",
            "max_attackers": "2",
        }
        for field, text in typed.items():
            form.query_one(f"#form-{field}", Input).value = text
        form.query_one("#form-name", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)

        assert app.screen is form
        lines = str(form.query_one("#form-error", Static).render()).splitlines()
        assert [line.split(":", 1)[0] for line in lines] == [
            "Systems",
            "Min value",
            "Max attackers",
        ]
        assert "no solar system named 'Nowhere' is stored" in lines[0]
        assert "'abc' is not valid; give an ISK amount" in lines[1]
        assert "maximum attacker count 2 is below the minimum 5" in lines[2]
        assert app.focused is form.query_one("#form-solar_system_ids", Input)
        invalid = {i.id for i in form.query(Input) if i.has_class("-has-problem")}
        assert invalid == {
            "form-solar_system_ids",
            "form-min_value",
            "form-max_attackers",
        }
        assert not app._notifications
        assert watch.list_profiles(db) == []
        # The buttons stay in view with the three problems at 80x24.
        shown = app.export_screenshot()
        assert "Save" in shown
        assert "Cancel" in shown

        form.query_one("#form-solar_system_ids", Input).value = "Jita, 31000005"
        form.query_one("#form-min_value", Input).value = "1b"
        form.query_one("#form-max_attackers", Input).value = "9"
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        [profile] = watch.list_profiles(db)
        assert profile.solar_system_ids == [31000005, 30000142]
        # The Conditions column showed "systems 30000142".
        table = screen.query_one("#watch-profiles", KeyedTable)
        [row_key] = table.row_keys
        conditions = str(table.get_row(row_key)[-1])
        assert conditions.startswith("systems 31000005,Jita; value >= ")


async def test_delete_prompt_names_its_matches(
    settings: Settings, db: Database
) -> None:
    """The prompt read "delete test one and their matches" for one profile."""
    watch.create_profile(db, ProfileSpec("test one", corporation_ids=(1,)))
    watch.create_profile(db, ProfileSpec("test two", corporation_ids=(2,)))
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        messages = [note.message for note in app._notifications]
        assert messages[-1] == (
            "Press d again within 5 s to delete test one and its matches."
        )
        await pilot.press("x", "down", "x")
        await settle(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        messages = [note.message for note in app._notifications]
        assert messages[-1] == (
            "Press d again within 5 s to delete test one, test two and their matches."
        )


NAME = "a long watch profile name"


@pytest.mark.parametrize("size", [(80, 24), (160, 30)])
async def test_profile_conditions_fit_with_a_mark(
    settings: Settings, db: Database, size: tuple[int, int]
) -> None:
    """At 80 columns the Conditions column ran past the screen's edge and
    was cropped with no mark, and wider terminals still cut it at 40."""
    corporations = tuple(range(98_000_001, 98_000_005))
    watch.create_profile(
        db, ProfileSpec(NAME, corporation_ids=corporations, min_attackers=3)
    )
    described = watch.list_profiles(db)[0].describe()
    app = EvedmvApp(settings)
    async with app.run_test(size=size) as pilot:
        screen = await open_watch(app, pilot)
        table = screen.query_one("#watch-profiles", KeyedTable)
        conditions = str(table.get_row(NAME)[-1])
        widths = sum(c.get_render_width(table) for c in table.ordered_columns)
        assert widths <= table.scrollable_content_region.width
        if size[0] == 80:
            assert conditions.endswith("\N{HORIZONTAL ELLIPSIS}")
            assert described.startswith(conditions[:-1])
        else:
            assert conditions == described

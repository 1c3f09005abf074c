"""The watch screen as a role that may read the evedmv tables but not write them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from textual.widgets import Input

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.intel import watch
from evedmv_tui.intel.watch import ProfileSpec
from evedmv_tui.screens.watch import ProfileForm, WatchScreen
from evedmv_tui.store.db import Database
from tests.conftest import login_role
from tests.test_watch_form_fixes import error_lines, save_form
from tests.test_watch_screen_keys import open_watch, settle


@pytest.fixture
def reader_settings(db_url: str, settings: Settings) -> Iterator[Settings]:
    """Settings of a role that may read every table but write none."""
    grants = (
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}",
        # Without it, the dashboard opens with a notification of its own.
        "GRANT pg_read_all_stats TO {}",
    )
    with login_role(db_url, "reader", *grants) as url:
        yield dataclasses.replace(settings, dsn=url)


def role_of(settings: Settings) -> str:
    assert settings.dsn is not None
    return str(psycopg.conninfo.conninfo_to_dict(settings.dsn)["user"])


async def test_denied_save_names_role_and_fix(
    reader_settings: Settings, db: Database
) -> None:
    """A save denied by the server showed "Correct the fields" and a
    notification that began with the screen's class name."""
    app = EvedmvApp(reader_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_watch(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)

        await save_form(app, pilot, {"name": "ro-test", "min_value": "1b"})

        form = app.screen
        assert isinstance(form, ProfileForm)
        text = " ".join(" ".join(error_lines(form)).split())
        role = role_of(reader_settings)
        assert text.startswith(
            f"Not saved: role {role} may not write table watch_profiles, because"
            " it lacks INSERT, UPDATE, DELETE, TRUNCATE."
        ), text
        assert "Open the dashboard as role evedmv, or as evedmv run: GRANT" in text
        assert f"ON ALL TABLES IN SCHEMA public TO {role};" in text
        assert text.endswith("Then press Enter to save again.")
        assert "Correct the fields" not in text
        notes = [(n.title, n.message) for n in app._notifications]
        assert not notes
        # What was typed stays in the form, and its buttons stay in view.
        assert form.query_one("#form-name", Input).value == "ro-test"
        assert form.query_one("#form-min_value", Input).value == "1b"
        shown = app.export_screenshot()
        assert "Save" in shown
        assert "Cancel" in shown
    assert watch.list_profiles(db) == []


async def test_denied_switch_notification_title(
    reader_settings: Settings, db: Database
) -> None:
    """Turning a profile off as a reader showed a notification that began
    with the screen's class name."""
    watch.create_profile(db, ProfileSpec("stored", corporation_ids=(1,)))
    app = EvedmvApp(reader_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_watch(app, pilot)
        await pilot.press("space")
        await settle(app, pilot)

        assert isinstance(app.screen, WatchScreen)
        assert app.screen is screen
        notes = [(n.title, n.message) for n in app._notifications]
        assert len(notes) == 1, notes
        [note] = app._notifications
        assert note.title == "permission denied"
        role = role_of(reader_settings)
        assert note.message.startswith(
            f"role {role} lacks INSERT, UPDATE, DELETE, TRUNCATE"
            " on table watch_profiles"
        ), note.message
        assert "WatchScreen" not in note.message
        assert "\nhint: open the dashboard as role evedmv, or as evedmv run: GRANT" in (
            note.message
        )
    [profile] = watch.list_profiles(db)
    assert profile.enabled

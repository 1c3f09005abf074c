"""Command palette entries show typed text and stored names as written.

Textual parses a hit's display string as markup, so ``[b]`` in what the user
typed or in a stored name used to be taken as a style tag and dropped.
"""

from __future__ import annotations

from typing import Any

from textual.command import Command, CommandList, CommandPalette

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.store.db import Database
from tests.test_app import until, wait_connected

STORED_NAME = "Test [b]Alliance[/b] \\ Slash"


async def palette_entries(app: EvedmvApp, pilot: Any, typed: str) -> list[str]:
    """Type ``typed`` in the palette and return the first line of each entry."""
    await wait_connected(app, pilot)
    await pilot.press("ctrl+p")
    await pilot.press(*typed)
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    await until(pilot, lambda: not getattr(palette, "searching", True))
    await pilot.pause(0.3)
    options = palette.query_one(CommandList).options
    return [
        option.prompt.plain.split("\n")[0]
        for option in options
        if isinstance(option, Command)
    ]


async def test_typed_argument_shown_as_typed(settings: Settings) -> None:
    """``alliance [b]x\\`` was offered as "Open Alliance x\\"."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        entries = await palette_entries(app, pilot, "alliance [b]x\\")
        assert "Open Alliance [b]x\\" in entries


async def test_stored_name_shown_as_stored(settings: Settings, db: Database) -> None:
    """The entry that opens a stored name with tags dropped the tags."""
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES (%s, 'alliance', %s)",
        (99000077, STORED_NAME),
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        entries = await palette_entries(app, pilot, f"alliance {STORED_NAME}")
        assert f"Open Alliance {STORED_NAME}" in entries


async def test_search_hit_shown_as_stored(settings: Settings, db: Database) -> None:
    """The search hit of a stored name with tags shows the tags."""
    db.execute(
        "INSERT INTO names (entity_id, category, name) VALUES (%s, 'alliance', %s)",
        (99000077, STORED_NAME),
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        entries = await palette_entries(app, pilot, STORED_NAME)
        assert f"{STORED_NAME} (alliance)" in entries


async def test_invalid_argument_shown_as_typed(settings: Settings) -> None:
    """The reason given for an invalid id dropped the tag the user typed."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        entries = await palette_entries(app, pilot, "battle [b]x")
        [reason] = entries
        assert "got '[b]x'." in reason

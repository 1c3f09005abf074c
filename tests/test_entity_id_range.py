"""The entity screens given a number past the id range."""

from __future__ import annotations

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.entity import CharacterScreen
from evedmv_tui.store.db import Database
from tests.test_intel_screens import settle, text_of


async def test_number_past_id_range_gets_range(
    db: Database, settings: Settings
) -> None:
    """'character 99999999999999999999999' in the palette showed "Give the
    numeric id", although a numeric id was given; the command names the
    id range."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_screen("character", "99999999999999999999999")
        await settle(pilot)
        assert isinstance(app.screen, CharacterScreen)
        title = " ".join(text_of(app, "#entity-title").split())
    assert title.startswith(
        "No character with the id or name '99999999999999999999999' is stored."
        " Ids run from 1 to 9223372036854775807, so '99999999999999999999999'"
        " is not a valid id."
    )
    assert "numeric id" not in title

"""The dashboard's header survives title changes after its title widget is gone."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.widgets import Header
from textual.widgets._header import HeaderTitle

from evedmv_tui.screens import AppHeader


class HeaderApp(App[None]):
    def __init__(self, header: type[Header]) -> None:
        super().__init__()
        self.header_class = header

    def compose(self) -> ComposeResult:
        yield self.header_class()


async def _change_title_without_title_widget(app: HeaderApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        header = app.query_one(Header)
        await header.query_one(HeaderTitle).remove()
        app.sub_title = "connected"
        await pilot.pause()
        app.sub_title = "disconnected"
        await pilot.pause()


async def test_textual_header_raises_without_title_widget() -> None:
    """The failure the app's header guards against, as Textual has it."""
    with pytest.raises(NoMatches, match="HeaderTitle"):
        await _change_title_without_title_widget(HeaderApp(Header))


async def test_app_header_skips_change_without_title_widget() -> None:
    app = HeaderApp(AppHeader)
    await _change_title_without_title_widget(app)
    assert app.return_code in (None, 0)


async def test_app_header_shows_title_changes() -> None:
    app = HeaderApp(AppHeader)
    async with app.run_test(size=(80, 24)) as pilot:
        app.title = "evedmv"
        app.sub_title = "connected: PostgreSQL 15"
        await pilot.pause()
        title_text = str(app.query_one(HeaderTitle).render())
        assert "evedmv" in title_text
        assert "connected: PostgreSQL 15" in title_text

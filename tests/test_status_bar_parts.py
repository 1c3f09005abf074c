"""The status bar takes a state change after its parts are gone."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.reactive import reactive
from textual.widgets import Static

from evedmv_tui.widgets.status import ConnectionState, StatusBar, StatusState


class StatusApp(App[None]):
    status: reactive[StatusState] = reactive(StatusState)

    def compose(self) -> ComposeResult:
        yield StatusBar()


def connected() -> StatusState:
    return StatusState(connection=ConnectionState("connected", "PostgreSQL 15"))


async def test_state_after_parts_removed_is_skipped() -> None:
    """A screen pushed just before the app quit had its status bar mounted
    after the exiting app removed the bar's parts, and the query for the
    connection part raised NoMatches out of the app."""
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        await bar.query_one("#status-connection", Static).remove()
        app.status = connected()
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_state_change_shows_connection() -> None:
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.status = connected()
        await pilot.pause()
        part = app.query_one("#status-connection", Static)
        assert str(part.render()) == "DB connected"
        assert part.has_class("-ok")

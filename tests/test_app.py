"""The dashboard shell: start-up, connection state, navigation and help."""

from __future__ import annotations

import contextlib
from pathlib import Path

from textual.widgets import Static
from textual.worker import WorkerFailed

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.screens.home import HomeScreen


def static_text(app: EvedmvApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def wait_connected(app: EvedmvApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    await app.screen.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def test_app_connects_and_shows_home(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        assert app.db is not None
        assert app.capabilities is not None
        assert isinstance(app.screen, HomeScreen)
        assert app.status.connection.phase == "connected"
        assert app.sub_title.startswith("connected: PostgreSQL")
        assert "Killmails stored   0" in static_text(app, "#overview")


async def test_help_opens_and_closes(settings: Settings) -> None:
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_connected(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Quit" in static_text(app, "#help-bindings")
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_failed_start_exits_nonzero(tmp_path: Path) -> None:
    settings = Settings(
        dsn="postgresql://nobody@127.0.0.1:9/none?connect_timeout=1",
        data_dir=tmp_path / "data",
        state_dir=tmp_path / "state",
    )
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)):
        with contextlib.suppress(WorkerFailed):
            await app.workers.wait_for_complete()
    assert app.return_code == 2
    assert app.startup_error is not None
    assert app.startup_error.title == "cannot connect to PostgreSQL"

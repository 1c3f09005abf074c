"""How Home's "Go to" list and the help screen name the way to each screen."""

from __future__ import annotations

from textual.widgets import OptionList, Static

from evedmv_tui.app import EvedmvApp
from evedmv_tui.config import Settings
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.screens.home import HomeScreen


async def wait_idle(app: EvedmvApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    await app.screen.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


def palette_only_titles(app: EvedmvApp) -> list[str]:
    """Titles of the screens without a key, with an ellipsis if they ask for more."""
    return [
        entry.title + ("\N{HORIZONTAL ELLIPSIS}" if entry.prompt else "")
        for entry in app.screen_entries
        if not entry.key
    ]


async def test_home_lists_palette_key(settings: Settings) -> None:
    """Screens without a key showed the word "palette" in the key column,
    which reads as a key to press."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        options = app.screen.query_one("#destinations", OptionList)
        lines = [
            str(options.get_option_at_index(index).prompt)
            for index in range(options.option_count)
        ]
        for line in lines:
            assert not line.lstrip().startswith("palette"), line
        titles = palette_only_titles(app)
        assert titles
        for title in titles:
            assert f"     ^p  Open {title}" in lines


async def test_help_lists_palette_key(settings: Settings) -> None:
    """The Screens section of help gave "palette" as the key of screens that
    open only from the command palette."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-screens", Static).render())
        keys = [line[:12].strip() for line in text.splitlines()]
        assert "palette" not in keys
        for title in palette_only_titles(app):
            assert f"^p  Open {title}:" in text
        assert "k  Killmail: One killmail" in text
        assert "^p  Open Rejected records: Records imports" in text


async def test_tab_keeps_focus_on_go_to_list(settings: Settings) -> None:
    """Tab used to move focus to the data column, which showed no focus and
    took Down and Enter without doing anything, while all of it was in view."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        destinations = screen.query_one("#destinations", OptionList)
        column = screen.query_one("#home-data")
        assert column.max_scroll_y == 0
        await pilot.press("tab")
        assert app.focused is destinations
        await pilot.press("shift+tab")
        assert app.focused is destinations

        destinations.highlighted = 0
        await pilot.press("tab", "down")
        assert destinations.highlighted == 1
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert app.screen is not screen


async def test_tab_reaches_data_column_that_scrolls(settings: Settings) -> None:
    """A data column taller than the screen takes focus, so Down scrolls it."""
    app = EvedmvApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        screen.query_one("#capabilities", Static).update(
            "\n".join(f"- warning {index}" for index in range(40))
        )
        await pilot.pause()
        column = screen.query_one("#home-data")
        assert column.max_scroll_y > 0
        await pilot.press("tab")
        assert app.focused is column
        await pilot.press("down")
        await pilot.pause()
        assert column.scroll_y > 0

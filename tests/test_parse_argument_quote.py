"""How screen arguments that fail to parse are quoted in their errors."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, Static

from evedmv_tui.screens import SCREENS, ScreenEntry
from evedmv_tui.screens.palette import argument_error
from evedmv_tui.widgets.prompt import PromptScreen


def entry_named(name: str) -> ScreenEntry:
    [entry] = [entry for entry in SCREENS if entry.name == name]
    return entry


@pytest.mark.parametrize(
    ("typed", "quoted"),
    [
        ("a\\b", "'a\\b'"),
        ("it's", "'it's'"),
        ('"7"', "'\"7\"'"),
        ("[b]1", "'[b]1'"),
    ],
)
def test_invalid_id_quoted_as_typed(typed: str, quoted: str) -> None:
    """The error quoted the input with repr, which doubled a backslash and
    switched to double quotes around a value with a single quote."""
    with pytest.raises(ValueError) as error:
        entry_named("killmail").parse_argument(typed)
    assert str(error.value) == (
        f"Killmail id must be a positive whole number, got {quoted}"
    )


def test_id_past_bigint_quoted_as_typed() -> None:
    """An id too large for the database is quoted without repr's escapes."""
    typed = "9" * 20
    with pytest.raises(ValueError) as error:
        entry_named("killmail").parse_argument(f" {typed} ")
    assert str(error.value).startswith(f"'{typed}' is not a valid killmail id,")


def test_control_characters_stay_escaped() -> None:
    """A control character in the input shows as its escape, not raw."""
    with pytest.raises(ValueError) as error:
        entry_named("killmail").parse_argument("1\x1b[2J")
    assert "'1\\x1b[2J'" in str(error.value)
    assert "\x1b" not in str(error.value)


def test_palette_error_keeps_one_backslash() -> None:
    """The palette's hit for ``killmail a\\b`` showed ``'a\\\\b'``."""
    error = argument_error(entry_named("killmail"), ["killmail", "a\\b"])
    assert error is not None
    assert "got 'a\\b'." in error
    assert "\\\\" not in error


class PromptApp(App[None]):
    def on_mount(self) -> None:
        entry = entry_named("killmail")
        assert entry.prompt is not None
        self.push_screen(PromptScreen(entry.prompt, entry.parse_argument))


async def test_prompt_error_keeps_one_backslash() -> None:
    """The prompt under the input showed a typed backslash doubled, and a
    bracket in the input must still show as typed rather than as markup."""
    app = PromptApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = "[b]a\\b"
        await pilot.press("enter")
        await pilot.pause()
        error = app.screen.query_one("#prompt-error", Static)
        lines = [error.render_line(y).text for y in range(error.size.height)]
        text = " ".join(" ".join(lines).split())
        assert "got '[b]a\\b'" in text
        assert "\\\\" not in text

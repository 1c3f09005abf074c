"""The help screen: the keys of the screen below, every screen's key, and tips."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from evedmv_tui.screens import DashboardScreen, ScreenEntry, describe_key

TIPS = (
    "Every action works from the keyboard: Tab and Shift+Tab move the focus,"
    " arrows move in tables and trees, Enter opens the selected row.",
    "Ctrl+P opens the command palette: type a screen name, or a name and an id"
    " (for example 'killmail 96812093') to go straight there.",
    "Escape goes back to the previous screen; h returns to the home screen.",
    "The status bar shows the connection, the open alerts and the last message."
    " Ctrl+R checks or re-opens the database connection.",
    "Start with --no-mouse to leave the mouse to the terminal (for copying text).",
)


def describe_bindings(app: App[Any], bindings: Iterable[Binding]) -> list[str]:
    """Return one ``key  description`` line per action that has a description.

    Keys bound to the same action and description share a line (``^c/super+c``),
    so a binding listed under two keys (``plus,equals_sign``) shows once.
    """
    keys: dict[tuple[str, str], list[str]] = {}
    for binding in bindings:
        if not binding.description:
            continue
        key = binding.key_display or describe_key(app, binding.key)
        same = keys.setdefault((binding.action, binding.description), [])
        if key not in same:
            same.append(key)
    return [
        f"{'/'.join(same):>12}  {description}"
        for (_, description), same in keys.items()
    ]


def describe_screens(app: App[Any], entries: Iterable[ScreenEntry]) -> list[str]:
    """Return one line per registered screen: key, title, description."""
    lines = []
    for entry in entries:
        text = f"{describe_key(app, entry.key):>12}  {entry.title}"
        if entry.description:
            text += f": {entry.description}"
        lines.append(text)
    return lines


class HelpScreen(DashboardScreen):
    """Keys of the screen that was open, every screen's key, and usage tips."""

    TITLE = "Help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "app.back", "Close help", id="help.close"),
    ]

    def __init__(
        self,
        sections: Sequence[tuple[str, Sequence[Binding]]],
        entries: Sequence[ScreenEntry],
    ) -> None:
        """Show ``sections`` (title, bindings), then the registered screens."""
        super().__init__()
        self.sections = sections
        self.entries = entries

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            for index, (title, bindings) in enumerate(self.sections):
                lines = describe_bindings(self.app, bindings)
                if not lines:
                    continue
                yield Static(title, classes="section-title", markup=False)
                yield Static(
                    "\n".join(lines),
                    id=f"help-bindings-{index}",
                    classes="help-bindings",
                    markup=False,
                )
            yield Static("Screens", classes="section-title")
            yield Static(
                "\n".join(describe_screens(self.app, self.entries)),
                id="help-screens",
                markup=False,
            )
            yield Static("Tips", classes="section-title")
            yield Static(
                "\n".join(f"- {tip}" for tip in TIPS), id="help-tips", markup=False
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#help-body").focus()

"""The help screen: the keys of the screen below, every screen's key, and tips."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from evedmv_tui.screens import DashboardScreen, ScreenEntry, describe_key
from evedmv_tui.widgets.status import MESSAGES_KEY

TIPS = (
    "Every action works from the keyboard: Tab and Shift+Tab move the focus,"
    " arrows move in tables and trees, Enter opens the selected row.",
    "Ctrl+P opens the command palette: type a screen name, or a name and an id"
    " (for example 'killmail' and then a killmail id) to go straight there.",
    "Escape goes back to the previous screen; h returns to the home screen.",
    "The status bar shows the connection, the open alerts and the last message."
    f" {MESSAGES_KEY} lists the recent messages in full, also those cut at the"
    " terminal's width. Ctrl+R checks or re-opens the database connection.",
    "Start with --no-mouse to leave the mouse to the terminal (for copying text).",
)


KEY_WIDTH = 12
"""Columns of the right-aligned key before each description."""
DESCRIPTION_INDENT = " " * (KEY_WIDTH + 2)
SCROLLBAR_WIDTH = 2


def hang(lines: Iterable[str], width: int, indent: str) -> str:
    """Wrap each of ``lines`` at ``width``, indenting every continuation line.

    A description that wraps then starts its second line under its first
    word, not at the left edge under the keys.
    """
    wrapped = []
    for line in lines:
        wrapped.extend(
            textwrap.wrap(
                line,
                width=max(width, len(indent) + 20),
                subsequent_indent=indent,
                drop_whitespace=True,
            )
            or [""]
        )
    return "\n".join(wrapped)


def describe_bindings(app: App[Any], bindings: Iterable[Binding]) -> list[str]:
    """Return one ``key  description`` line per action that has a description.

    Keys bound to the same action and description share a line (``^c/super+c``),
    so a binding listed under two keys (``plus,equals_sign``) shows once.
    Descriptions start with a capital, like the project's own, also where
    Textual's are lower case (its Ctrl+P binding says ``palette``).
    """
    keys: dict[tuple[str, str], list[str]] = {}
    for binding in bindings:
        if not binding.description:
            continue
        key = binding.key_display or describe_key(app, binding.key)
        description = binding.description[:1].upper() + binding.description[1:]
        same = keys.setdefault((binding.action, description), [])
        if key not in same:
            same.append(key)
    return [
        f"{'/'.join(same):>{KEY_WIDTH}}  {description}"
        for (_, description), same in keys.items()
    ]


PALETTE_KEY = "ctrl+p"
"""Textual's key for the command palette, which opens screens without a key."""


def describe_destination(app: App[Any], entry: ScreenEntry) -> tuple[str, str]:
    """Return the key that opens ``entry`` and the title to show beside it.

    A screen without a key of its own opens from the command palette, so it
    shows the palette's key and the palette command's name, with an ellipsis
    when the screen prompts for an argument: ``^p  Open Corporation…``.
    """
    if entry.key:
        return describe_key(app, entry.key), entry.title
    ellipsis = "\N{HORIZONTAL ELLIPSIS}" if entry.prompt else ""
    return describe_key(app, PALETTE_KEY), f"Open {entry.title}{ellipsis}"


def describe_screens(app: App[Any], entries: Iterable[ScreenEntry]) -> list[str]:
    """Return one line per registered screen: key, title, description."""
    lines = []
    for entry in entries:
        key, title = describe_destination(app, entry)
        text = f"{key:>{KEY_WIDTH}}  {title}"
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
        notes: Sequence[str] = (),
        notes_title: str = "About this screen",
    ) -> None:
        """Show ``sections`` (title, bindings), ``notes``, then the screens."""
        super().__init__()
        self.sections = sections
        self.entries = entries
        self.notes = tuple(notes)
        self.notes_title = notes_title
        self._texts: dict[str, tuple[list[str], str]] = {}
        """Lines and continuation indent of each text, by widget id."""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            for index, (title, bindings) in enumerate(self.sections):
                lines = describe_bindings(self.app, bindings)
                if not lines:
                    continue
                yield Static(title, classes="section-title", markup=False)
                yield self._text(
                    f"help-bindings-{index}", lines, DESCRIPTION_INDENT, "help-bindings"
                )
            if self.notes:
                yield Static(self.notes_title, classes="section-title", markup=False)
                yield self._text("help-notes", [f"- {n}" for n in self.notes], "  ")
            yield Static("Screens", classes="section-title")
            yield self._text(
                "help-screens",
                describe_screens(self.app, self.entries),
                DESCRIPTION_INDENT,
            )
            yield Static("Tips", classes="section-title")
            yield self._text("help-tips", [f"- {tip}" for tip in TIPS], "  ")

    def _text(
        self, widget_id: str, lines: list[str], indent: str, classes: str | None = None
    ) -> Static:
        self._texts[widget_id] = (lines, indent)
        width = self.app.size.width - SCROLLBAR_WIDTH
        return Static(
            hang(lines, width, indent), id=widget_id, classes=classes, markup=False
        )

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def on_resize(self, event: events.Resize) -> None:
        """Wrap the texts again for the new width."""
        width = event.size.width - SCROLLBAR_WIDTH
        for widget_id, (lines, indent) in self._texts.items():
            self.query_one(f"#{widget_id}", Static).update(hang(lines, width, indent))

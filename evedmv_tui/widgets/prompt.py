"""A modal that asks for one value, such as the id of the killmail to open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from evedmv_tui.widgets.ordered_input import OrderedInput
from evedmv_tui.widgets.status import KeyFooter


class PromptScreen(ModalScreen[Any]):
    """Ask for a value; dismiss with ``parse(text)``, or None when cancelled.

    ``parse`` raises ValueError for invalid input; its message is shown under
    the input and the prompt stays open.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
    ]

    DEFAULT_CSS = """
    PromptScreen {
        align: center middle;
    }
    PromptScreen > Vertical {
        width: 60;
        height: auto;
        border: round $primary;
        padding: 0 1;
        background: $surface;
    }
    PromptScreen #prompt-error {
        color: $error;
        height: auto;
    }
    """

    def __init__(self, label: str, parse: Callable[[str], Any]) -> None:
        super().__init__()
        self.label = label
        self.parse = parse

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.label, markup=False)
            yield OrderedInput(id="prompt-input")
            yield Static("", id="prompt-error", markup=False)
            yield Label("Enter to open, Escape to cancel", classes="hint")
        yield KeyFooter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            value = self.parse(event.value)
        except ValueError as exc:
            self.query_one("#prompt-error", Static).update(f"Invalid input: {exc}")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)

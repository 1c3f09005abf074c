"""The recent status bar messages and pop-up notifications in full, newest first.

The status bar cuts a message that is longer than the terminal is wide, and a
pop-up goes after a few seconds. This screen shows each one whole, with the
time it appeared and its severity.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from evedmv_tui.screens import DashboardScreen
from evedmv_tui.widgets.status import MessageLog, message_log


def describe_messages(log: MessageLog) -> str:
    """Return the logged messages, newest first, each under its time and severity."""
    if not log.messages:
        return "No status messages yet."
    entries = [
        f"{message.shown_at:%H:%M:%S} {message.severity.name}\n{message.text}"
        for message in reversed(log.messages)
    ]
    return "\n\n".join(entries)


class MessagesScreen(DashboardScreen):
    """The recent status bar messages and pop-ups, uncut and newest first."""

    TITLE = "Status messages"
    SUB_TITLE = ""
    """The header shows the title alone. The connection state, the sub title on
    other screens, would cut it at 80 columns, and the status bar shows it."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.back", "Close", id="messages.close"),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="messages-body"):
            yield Static(id="messages-list", markup=False)

    def on_mount(self) -> None:
        self.query_one("#messages-body").focus()
        # A message that arrives while the screen is open, from the status bar
        # or a pop-up, is added at the top at once.
        log = message_log(self.app)
        log.listeners.append(self._show_messages)
        self._show_messages()

    def on_unmount(self) -> None:
        log = message_log(self.app)
        if self._show_messages in log.listeners:
            log.listeners.remove(self._show_messages)

    def _show_messages(self) -> None:
        log = message_log(self.app)
        self.query_one("#messages-list", Static).update(describe_messages(log))

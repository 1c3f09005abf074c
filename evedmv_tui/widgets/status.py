"""The status bar shown on every screen: connection, alerts and a message.

The state is one frozen :class:`StatusState` held by the app in its
``status`` reactive; every screen's :class:`StatusBar` watches it, so a
change shows on whichever screen is on top. Each part carries a word as well
as a colour class (``-ok``, ``-info``, ``-warning``, ``-error``), so the bar still reads
under ``NO_COLOR`` and on 8-colour terminals. Colours come from theme
variables in ``app.tcss``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from rich.cells import cell_len, set_cell_size
from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Footer, Static

from evedmv_tui.widgets.watchers import prune_closed_watchers


class Severity(enum.IntEnum):
    """Alert and message severities, ordered so ``max()`` gives the worst."""

    OK = 0
    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: object) -> Severity:
        """Convert a name (any case), an enum with such a name or value, or None."""
        if value is None:
            return cls.OK
        if isinstance(value, cls):
            return value
        name = getattr(value, "name", None) or getattr(value, "value", value)
        try:
            return cls[str(name).upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {value!r}: expected one of"
                f" {', '.join(s.name.lower() for s in cls)}"
            ) from None

    @property
    def css_class(self) -> str:
        """The colour class for this severity."""
        if self >= Severity.ERROR:
            return "-error"
        if self == Severity.WARNING:
            return "-warning"
        if self == Severity.INFO:
            return "-info"
        return "-ok"


ConnectionPhase = Literal["connecting", "connected", "not responding", "disconnected"]


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionState:
    """Where the app's database connection stands."""

    phase: ConnectionPhase = "connecting"
    detail: str = ""
    """Server version when connected, the reason when not responding or disconnected."""
    since: dt.datetime | None = None
    """Local time the server stopped responding or the connection was lost."""
    retry_at: dt.datetime | None = None
    """Local time of the next reconnection attempt, when one is scheduled."""
    brief: str = ""
    """The reason in a few words (``no server socket``), for the status bar."""
    reconnecting: bool = False
    """Whether a reconnection attempt is running now."""

    def describe(self) -> str:
        """Return the short form shown in the status bar."""
        if self.phase == "connected":
            return "DB connected"
        if self.phase == "connecting":
            return "DB connecting"
        since = self.since.strftime("%H:%M:%S") if self.since else "start-up"
        text = f"DB {self.phase} since {since}"
        return f"{text}: {self.brief}" if self.brief else text

    def describe_long(self) -> str:
        """Return the longer form shown in the header."""
        if self.phase == "connected":
            return f"connected: {self.detail}" if self.detail else "connected"
        if self.phase == "connecting":
            return "connecting to PostgreSQL"
        text = self.describe()[3:]
        if self.reconnecting:
            text += ", reconnecting…"
        elif self.retry_at is not None:
            text += f", next try {self.retry_at:%H:%M:%S}"
        return text

    @property
    def severity(self) -> Severity:
        """The colour of the connection part: red when stalled or lost."""
        if self.phase in ("not responding", "disconnected"):
            return Severity.ERROR
        return Severity.OK


@dataclasses.dataclass(frozen=True, slots=True)
class StatusState:
    """Everything the status bar shows."""

    connection: ConnectionState = ConnectionState()
    alert_count: int = 0
    """The number of open alerts, acknowledged or not."""
    alert_acknowledged: int = 0
    """Of the open alerts, the number acknowledged."""
    alert_severity: Severity = Severity.OK
    """The worst severity among the open alerts, which sets the colour."""
    alert_label: str | None = None
    """The worst severity in the alert table's words (``high``, ``was high``).
    None shows the name of :attr:`alert_severity`, and an empty label shows
    no worst."""
    message: str = ""
    message_severity: Severity = Severity.INFO

    def describe_alerts(self) -> str:
        """Return the alert part, such as ``3 alerts, 1 acknowledged, worst high``.

        The count is of all open alerts, so it matches the ``active`` count
        of the Alerts screen, and the acknowledged ones are named as such.
        The text is at most 46 columns (counts below 100), so the connection
        part still fits beside it on 80 columns.
        """
        if self.alert_count == 0:
            return "no alerts"
        noun = "alert" if self.alert_count == 1 else "alerts"
        text = f"{self.alert_count} {noun}"
        acknowledged = min(self.alert_acknowledged, self.alert_count)
        if acknowledged == self.alert_count:
            return f"{text} acknowledged"
        if acknowledged:
            text += f", {acknowledged} acknowledged"
        label = self.alert_label
        if label is None:
            label = self.alert_severity.name.lower()
        return f"{text}, worst {label}" if label else text


MESSAGES_KEY = "l"
"""The app's key for the screen that lists the recent status messages in full."""

MESSAGE_LOG_SIZE = 50
"""Status messages the message log keeps; older ones are dropped."""

CUT_SUFFIX = f"\N{HORIZONTAL ELLIPSIS} ({MESSAGES_KEY}: full text)"
"""Ending of a status message cut to the terminal's width."""


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedMessage:
    """One message that the status bar showed."""

    shown_at: dt.datetime
    """Local time the message appeared."""
    severity: Severity
    text: str


class MessageLog:
    """The recent messages of an app's status bar, oldest first."""

    def __init__(self, size: int = MESSAGE_LOG_SIZE) -> None:
        self.messages: deque[LoggedMessage] = deque(maxlen=size)
        self.listeners: list[Callable[[], None]] = []
        """Called after each message is added, for a list that shows the log."""
        self._previous = ""
        """The message of the last status recorded, logged or not."""

    def add(self, message: LoggedMessage) -> None:
        """Append ``message`` and tell every listener."""
        self.messages.append(message)
        for listener in list(self.listeners):
            listener()

    def record(self, state: StatusState) -> None:
        """Add the message of ``state`` unless it is empty or already shown.

        The status also changes with the connection and the alert count,
        which leave the message as it was.
        """
        if state.message and state.message != self._previous:
            self.add(
                LoggedMessage(dt.datetime.now(), state.message_severity, state.message)
            )
        self._previous = state.message


_MESSAGE_LOGS: weakref.WeakKeyDictionary[App[Any], MessageLog] = (
    weakref.WeakKeyDictionary()
)


def message_log(app: App[Any]) -> MessageLog:
    """Return the message log of ``app``, which records from the first call on.

    Every status bar calls it when mounted, so the log starts with the
    first screen.
    """
    log = _MESSAGE_LOGS.get(app)
    if log is None:
        log = _MESSAGE_LOGS[app] = MessageLog()
        app.watch(app, "status", log.record, init=True)
    return log


DATABASE_UNAVAILABLE = (
    "The database is unavailable; this screen reloads when the dashboard reconnects."
)
"""Text a screen shows in place of data that it could not load without a connection."""


class StatusBar(Widget):
    """The bar above the footer: connection, alert count and a message.

    It is one line while the message fits beside the other two parts. A
    longer message takes a second line of its own, so a warning stays
    readable on 80 columns. Only a message longer than that whole line is
    cut, and its end names the key of the full text (:data:`CUT_SUFFIX`).
    The alert count is never cut: a connection part too long to fit beside
    it ends in an ellipsis instead.
    """

    DEFAULT_CSS = """
    StatusBar {
        layout: grid;
        grid-size: 3;
        grid-columns: auto auto 1fr;
        grid-rows: 1;
        height: auto;
        width: 1fr;
    }
    StatusBar > Static {
        width: auto;
        height: 1;
        padding: 0 1;
    }
    /* A wrapped message would show only its first words, so cut it instead. */
    StatusBar > #status-message {
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    /* The alerts fill the first row, so the message starts the second. */
    StatusBar.-message-below > #status-alerts {
        column-span: 2;
    }
    StatusBar.-message-below > #status-message {
        column-span: 3;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="status-connection", markup=False)
        yield Static(id="status-alerts", markup=False)
        yield Static(id="status-message", markup=False)

    _connection = ""
    """The whole connection part, as it would show uncut."""
    _message = ""
    """The whole message, with its severity, as it would show uncut."""

    def on_mount(self) -> None:
        message_log(self.app)
        self.watch(self.app, "status", self.show_state, init=True)

    def on_resize(self) -> None:
        self._fit_parts()

    def show_state(self, state: StatusState) -> None:
        """Render ``state`` into the three parts.

        A state that reaches a bar whose parts are gone is skipped. That
        happens when the app quits right after pushing a screen, because the
        bar's mount handler, which shows the current state, then runs after
        the exiting app removed the bar's children.
        """
        with contextlib.suppress(NoMatches):
            self._show_state(state)

    def _show_state(self, state: StatusState) -> None:
        self._connection = state.connection.describe()
        self._set_part(
            "#status-connection", self._connection, state.connection.severity
        )
        alerts = state.alert_severity if state.alert_count else Severity.OK
        self._set_part("#status-alerts", state.describe_alerts(), alerts)
        message = state.message
        if message and state.message_severity >= Severity.WARNING:
            message = f"{state.message_severity.name}: {message}"
        self._message = message
        self._set_part("#status-message", message, state.message_severity)
        self._fit_parts()

    def _fit_parts(self) -> None:
        """Fit the connection beside the alert count, and place the message.

        The message goes on a second line when it does not fit beside the
        other two parts.
        """
        width = self.size.width or self.app.size.width
        alerts = cell_len(str(self.query_one("#status-alerts", Static).render()))
        # Each part has one column of padding on either side.
        room = width - (alerts + 2) - 2
        connection = self._connection
        if cell_len(connection) > room:
            connection = set_cell_size(connection, max(room - 1, 0)).rstrip() + "…"
        self.query_one("#status-connection", Static).update(connection)
        used = cell_len(connection) + 2 + alerts + 2
        message = self._message
        below = bool(message) and used + cell_len(message) + 2 > width
        self.set_class(below, "-message-below")
        if below and cell_len(message) + 2 > width:
            room = max(width - 2 - cell_len(CUT_SUFFIX), 0)
            message = set_cell_size(message, room).rstrip() + CUT_SUFFIX
        self.query_one("#status-message", Static).update(message)

    def _set_part(self, selector: str, text: str, severity: Severity) -> None:
        part = self.query_one(selector, Static)
        part.update(text)
        for name in ("-ok", "-info", "-warning", "-error"):
            part.set_class(name == severity.css_class, name)


class KeyFooter(Footer):
    """The keys of the screen it is on, compact and without the palette's key.

    Every screen and dialog yields one, so a dialog shows its own keys
    instead of leaving the keys of the screen under it in view. The help
    screen names the palette's key; without it, every screen's keys fit in
    80 columns.
    """

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    async def recompose(self) -> None:
        """Show the current keys, and release the watchers of the old ones."""
        await super().recompose()
        prune_closed_watchers(self)

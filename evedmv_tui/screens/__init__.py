"""The screen registry and the base class every dashboard screen extends.

Register a screen with one :class:`ScreenEntry` in :data:`SCREENS`; the app
binds its key, lists it in the command palette and the help screen, and
imports its module only when the screen is first opened. Add a command
palette provider of your own (a ``textual.command.Provider`` subclass) as one
``"module:Class"`` string in :data:`COMMAND_PROVIDERS`.

See :mod:`evedmv_tui.app` for how a screen gets the database and runs its
queries in a thread worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, cast

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Static, TabbedContent
from textual.widgets._header import HeaderTitle
from textual.worker import Worker, get_current_worker

from evedmv_tui.commands.arguments import BIGINT_MAX as MAX_ID
from evedmv_tui.errors import DatabaseUnavailable
from evedmv_tui.store.db import Database
from evedmv_tui.store.telemetry import operation
from evedmv_tui.widgets.filter import FilterInput
from evedmv_tui.widgets.status import KeyFooter, StatusBar
from evedmv_tui.widgets.text import quote_value
from evedmv_tui.widgets.watchers import prune_closed_watchers

if TYPE_CHECKING:
    from evedmv_tui.app import EvedmvApp

log = logging.getLogger(__name__)

T = TypeVar("T")

MIN_WIDTH = 80
MIN_HEIGHT = 24


class AppHeader(Header):
    """Textual's header, whose title updates outlive its children.

    Textual's header watches the app's and the screen's titles and updates
    its title widget, catching only the case of no screen. The app's
    connection state can change while a screen is being removed, as the app
    quits or a screen closes. The title widget is then gone, and the query's
    NoMatches used to end the app with a traceback. This header registers
    the same watchers and skips such a change instead.
    """

    def _on_mount(self, event: events.Mount) -> None:
        # Stop Header._on_mount from registering its own watchers. Widget's
        # handler, which the stop also skips, is run here instead.
        event.prevent_default()
        Widget._on_mount(self, event)

        async def set_title() -> None:
            with contextlib.suppress(NoScreen, NoMatches):
                self.query_one(HeaderTitle).update(self.format_title())

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)


@dataclasses.dataclass(frozen=True, slots=True)
class ScreenEntry:
    """One screen the app can open by key, from the palette or by name."""

    name: str
    """Stable identifier, used by :meth:`EvedmvApp.open_screen`."""
    title: str
    """Shown in the command palette, the help screen and the home screen."""
    target: str
    """``"package.module:ScreenClass"``, imported when first opened."""
    key: str | None = None
    """Global key binding, or None for palette-only screens."""
    description: str = ""
    """One line of help: what the screen shows."""
    prompt: str | None = None
    """When set, the screen takes one argument, asked for with this label."""
    argument: Literal["id", "text"] = "id"
    """Kind of the argument: ``id`` (a positive integer) or free ``text``."""
    argument_hint: str = ""
    """A sentence the palette adds when the typed argument is invalid, such
    as another way to find what the user typed."""

    def resolve(self) -> type[Screen[Any]]:
        """Import and return the screen class named by :attr:`target`."""
        return cast("type[Screen[Any]]", resolve_target(self.target))

    def parse_argument(self, text: str) -> int | str:
        """Convert prompt input to the screen's argument or raise ValueError."""
        value = text.strip()
        if self.argument == "text":
            if not value:
                raise ValueError(f"{self.prompt or 'the value'} must not be empty")
            return value
        # Tables show ids with thousands separators, so a copied id has them.
        digits = value.replace(",", "")
        label = self.prompt or "the id"
        if not digits.isdigit() or int(digits) <= 0:
            raise ValueError(
                f"{label} must be a positive whole number, got {quote_value(value)}"
            )
        if int(digits) > MAX_ID:
            raise ValueError(
                f"{quote_value(value)} is not a valid {label.lower()},"
                f" because ids run from 1 to {MAX_ID:,}"
            )
        return int(digits)


SCREENS: tuple[ScreenEntry, ...] = (
    ScreenEntry(
        "home",
        "Home",
        "evedmv_tui.screens.home:HomeScreen",
        "h",
        "What is loaded, and where to go from here",
    ),
    ScreenEntry(
        "killmail",
        "Killmail",
        "evedmv_tui.screens.killmail:KillmailScreen",
        "k",
        "One killmail: victim, attackers and the items dropped or destroyed",
        prompt="Killmail id",
    ),
    ScreenEntry(
        "search",
        "Search",
        "evedmv_tui.screens.search:SearchScreen",
        "slash",
        "Characters, corporations, alliances and systems by name or id",
    ),
    ScreenEntry(
        "corporation",
        "Corporation",
        "evedmv_tui.screens.entity:CorporationScreen",
        None,
        "A corporation's kills, losses, top lists, activity and battles",
        prompt="Corporation id or name",
        argument="text",
    ),
    ScreenEntry(
        "alliance",
        "Alliance",
        "evedmv_tui.screens.entity:AllianceScreen",
        None,
        "An alliance's kills, losses, top lists, activity and battles",
        prompt="Alliance id or name",
        argument="text",
    ),
    ScreenEntry(
        "character",
        "Character",
        "evedmv_tui.screens.entity:CharacterScreen",
        None,
        "A character's kills, losses, ships, activity and battles",
        prompt="Character id or name",
        argument="text",
    ),
    ScreenEntry(
        "battles",
        "Battles",
        "evedmv_tui.screens.battles:BattlesScreen",
        "b",
        "Detected battles: time, systems, kills, pilots, ISK, sides",
    ),
    ScreenEntry(
        "battle",
        "Battle report",
        "evedmv_tui.screens.battle_report:BattleReportScreen",
        None,
        "One battle: sides, ships, timeline, killmails and entities",
        prompt="Battle id",
        argument_hint="For the battles in a system, type the system's name and"
        " pick it.",
    ),
    ScreenEntry(
        "watch",
        "Watch profiles",
        "evedmv_tui.screens.watch:WatchScreen",
        "w",
        "Conditions that flag matching killmails, and their matches",
    ),
    ScreenEntry(
        "alerts",
        "Alerts",
        "evedmv_tui.screens.alerts:AlertsScreen",
        "a",
        "Performance regressions: key, baseline, current value, severity, log",
    ),
    ScreenEntry(
        "performance",
        "Performance",
        "evedmv_tui.screens.performance:PerformanceScreen",
        "p",
        "Live PostgreSQL and app performance: statements, activity, memory, caches",
    ),
    ScreenEntry(
        "rejects",
        "Rejected records",
        "evedmv_tui.screens.rejects:RejectsScreen",
        None,
        "Records imports could not store: where, why, and their raw text",
    ),
)
"""Every screen of the dashboard, in the order the palette and help list them."""

COMMAND_PROVIDERS: tuple[str, ...] = (
    "evedmv_tui.screens.search:SearchProvider",
    "evedmv_tui.screens.palette:InvalidArgumentCommands",
)
"""Extra command palette providers, each ``"package.module:ProviderClass"``."""


def resolve_target(target: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise ValueError(f"target {target!r} must look like 'package.module:Name'")
    return getattr(importlib.import_module(module_name), attribute)


def find_entry(name: str, entries: Iterable[ScreenEntry] = SCREENS) -> ScreenEntry:
    """Return the registered screen called ``name`` or raise KeyError."""
    for entry in entries:
        if entry.name == name:
            return entry
    raise KeyError(f"no screen named {name!r} is registered")


def describe_key(app: App[Any], key: str | None) -> str:
    """Return a key as the footer shows it (``/`` for ``slash``), or ``palette``."""
    if not key:
        return "palette"
    return app.get_key_display(Binding(key, ""))


@dataclasses.dataclass
class DatabaseConnected(Message):
    """Posted to every screen on the stack when a connection is (re)established."""


class TooSmall(Static):
    """Replaces a screen's content while the terminal is below 80x24."""


def declared_bindings(widget_class: type[Widget]) -> list[Binding]:
    """Return the bindings a widget or screen class and its bases declare.

    They are merged as Textual merges them: a class's ``BINDINGS`` lists only
    its own keys, and a subclass's bindings of a key replace its base's. One
    class may bind a key twice, to actions that act in different places
    (``/`` filters on one tab and opens Search on the others), and both stay.
    """
    by_key: dict[str, list[Binding]] = {}
    for cls in reversed(widget_class.__mro__):
        own: dict[str, list[Binding]] = {}
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", ())):
            own.setdefault(binding.key, []).append(binding)
        by_key.update(own)
    return [binding for bindings in by_key.values() for binding in bindings]


class DashboardScreen(Screen[None]):
    """A screen with the header, status bar and footer, and database helpers.

    Subclasses yield their content from :meth:`compose_body`, start their
    queries in :meth:`load_data`, and set ``TITLE`` (never ``SUB_TITLE``,
    which the app uses for the connection state in the header).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.back", "Back", id="back"),
    ]
    TAB_ACTIONS: ClassVar[Mapping[str, frozenset[str]]] = {}
    """Actions that act on some tabs of the screen's TabbedContent only, with
    the ids of those tabs. On the other tabs they leave the footer and do
    nothing."""

    FILTER_ACTION: ClassVar[str | None] = None
    """The action that opens the screen's filter field. It leaves the footer
    while that field has focus, where the field's own keys are shown."""

    _focus_before_too_small: Widget | None = None
    _loaded_db: Database | None = None
    """The connection this screen last loaded for, at mount or reconnection."""

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield TooSmall(id="too-small", markup=False)
        with Vertical(id="body"):
            yield from self.compose_body()
        yield StatusBar()
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        """Yield the widgets of this screen into its body (a vertical container)."""
        yield from ()

    def on_mount(self) -> None:
        # Textual calls the on_mount of every class in the screen's MRO, this
        # one after the subclass's, so subclasses must not call it again. A
        # focus the subclass set is kept for when a too small terminal grows.
        self._check_size(self.app.size.width, self.app.size.height)
        self._load_for_connection()

    def on_unmount(self) -> None:
        # The header and status bar watch the app's title and status, which
        # would otherwise keep them, closed, until those change.
        prune_closed_watchers(self.app)

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def on_database_connected(self, message: DatabaseConnected) -> None:
        self._load_for_connection()

    def _load_for_connection(self) -> None:
        """Load once per connection.

        A screen mounted while the app connects can see the new connection
        at its mount and again in the connection message.
        """
        db = self.evedmv_app.db
        if db is None or db is self._loaded_db:
            return
        self._loaded_db = db
        self.load_data()

    def load_data(self) -> None:
        """Start this screen's queries.

        Called once the screen is mounted while connected, and again after
        every reconnection. The default loads nothing.
        """

    @property
    def evedmv_app(self) -> EvedmvApp:
        """The running app, typed."""
        return cast("EvedmvApp", self.app)

    def run_query(
        self,
        query: Callable[..., T],
        *args: Any,
        then: Callable[[T], None],
        name: str | None = None,
        group: str = "load",
        on_error: Callable[[Exception], None] | None = None,
    ) -> Worker[T]:
        """Run ``query(db, *args)`` in a thread worker, then ``then(result)``.

        ``then`` runs on the UI thread. The worker is exclusive within
        ``group``, so a newer load cancels an older one of the same group.
        Its queries are tagged with ``name`` (default: the screen's class
        name) in the app's query telemetry. A failure, including a lost
        connection, goes to the app's one failure handler, then to
        ``on_error`` on the UI thread if given, and ``then`` does not run.
        Once the screen is closed, or the app exits, neither ``then`` nor
        ``on_error`` runs.
        """
        app = self.evedmv_app
        tag = name or type(self).__name__

        def showing() -> bool:
            # A screen closed while its query ran, or taken apart as the app
            # exits, has no widgets to fill.
            return self.is_attached and self.is_running and self in app.screen_stack

        def deliver(result: T) -> None:
            if showing():
                then(result)

        def failed(exc: Exception) -> None:
            if on_error is not None and showing():
                on_error(exc)

        return self.run_worker(
            lambda: _run_in_thread(app, tag, query, args, deliver, failed),
            name=tag,
            group=group,
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    @property
    def too_small(self) -> bool:
        """True while the size message replaces this screen's content."""
        return self.has_class("-too-small")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys must not change what the size message hides.
        if self.too_small:
            return False
        if action == self.FILTER_ACTION and isinstance(self.focused, FilterInput):
            return False
        tabs = self.TAB_ACTIONS.get(action)
        return tabs is None or self.query_one(TabbedContent).active in tabs

    def on_tabbed_content_tab_activated(
        self, event: TabbedContent.TabActivated
    ) -> None:
        """Show the keys of the tab that is now shown."""
        if self.TAB_ACTIONS:
            self.refresh_bindings()

    def other_tab_keys(self, listed: set[str]) -> list[tuple[str, list[Binding]]]:
        """Return the keys of other tabs than the one shown, grouped by tab.

        The footer and the active bindings leave them out until their tab
        is shown (:attr:`TAB_ACTIONS`), but help lists every key of the
        screen. ``listed`` contains the actions that help lists already.
        """
        if not self.TAB_ACTIONS:
            return []
        tabs = self.query_one(TabbedContent)
        groups: dict[frozenset[str], list[Binding]] = {}
        for binding in declared_bindings(type(self)):
            # The action's name, without arguments such as "move(1)" has.
            where = self.TAB_ACTIONS.get(binding.action.partition("(")[0])
            if where is not None and binding.action not in listed:
                groups.setdefault(where, []).append(binding)
        sections = []
        for where, bindings in groups.items():
            # Labels may start with the digit that shows the tab: "5 Entities",
            # or "1Statements" where a space would not fit.
            labels = sorted(
                re.sub(r"^\d+\s*", "", tabs.get_tab(tab).label.plain) for tab in where
            )
            if len(labels) == 1:
                title = f"Keys of the {labels[0]} tab"
            else:
                title = f"Keys of the {', '.join(labels[:-1])} and {labels[-1]} tabs"
            sections.append((title, bindings))
        return sections

    def _check_size(self, width: int, height: int) -> None:
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        if too_small:
            self.query_one(TooSmall).update(
                f"The terminal is {width}x{height}; evedmv needs at least"
                f" {MIN_WIDTH}x{MIN_HEIGHT}. Enlarge the window, or press q to quit."
            )
            if not self.too_small:
                # The focused table or input is hidden; keep its keys from it.
                self._focus_before_too_small = self.focused
                self.set_focus(None)
        elif self.too_small and self._focus_before_too_small is not None:
            self.set_focus(self._focus_before_too_small)
            self._focus_before_too_small = None
        self.set_class(too_small, "-too-small")
        self.refresh_bindings()


def _run_in_thread(
    app: EvedmvApp,
    tag: str,
    query: Callable[..., T],
    args: tuple[Any, ...],
    then: Callable[[T], None],
    on_error: Callable[[Exception], None] | None = None,
) -> T:
    try:
        db = require_database(app)
        with operation(tag):
            result = query(db, *args)
    except Exception as exc:
        app.call_from_thread(app.report_failure, exc, tag)
        if on_error is not None:
            app.call_from_thread(on_error, exc)
        raise
    worker = get_current_worker()

    def deliver(value: T) -> None:
        # A newer load of the same group cancels this worker, but a thread
        # cannot be stopped, so its query runs on. Its result would replace
        # the newer one when it comes last, as a search for an older, shorter
        # text can.
        if not worker.is_cancelled:
            then(value)

    try:
        app.call_from_thread(deliver, result)
    except Exception as exc:
        # call_from_thread raises here what ``then`` raised on the UI thread,
        # and the worker's own failure is not shown anywhere.
        app.call_from_thread(app.report_failure, exc, tag)
        raise
    return result


def require_database(app: EvedmvApp) -> Database:
    """Return the app's database or raise DatabaseUnavailable while disconnected."""
    db = app.db
    if db is None:
        raise DatabaseUnavailable(
            "not connected",
            app.db_reason or "the database connection is not open",
            "the dashboard reconnects by itself; the screen reloads when it does",
        )
    return db

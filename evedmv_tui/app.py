"""The Textual application: screens, global bindings and the database connection.

Registering a screen
    Subclass :class:`evedmv_tui.screens.DashboardScreen` (it brings the
    header, the status bar and the footer), yield the content from
    ``compose_body``, set ``TITLE`` and give the screen's own keys ``BINDINGS``
    with ids. Then add one :class:`evedmv_tui.screens.ScreenEntry` to
    ``SCREENS`` in ``evedmv_tui/screens/__init__.py``::

        ScreenEntry("battles", "Battles", "evedmv_tui.screens.battles:BattlesScreen",
                    "b", "Recent battles, largest first"),

    The app binds the key, lists the screen in the command palette, the help
    screen and the home screen, and imports the module only when the screen
    is first opened. A screen that takes one argument (a battle id, a
    corporation id) sets ``prompt="Battle id"``: the app then asks for the
    value and calls ``BattleReportScreen(value)``. Other screens open it with
    ``self.evedmv_app.open_screen("battle", battle_id)``.

Getting the database and running queries
    ``app.db`` is a :class:`evedmv_tui.store.db.Database`, or None while
    disconnected (``app.db_reason`` says why); ``app.capabilities`` holds the
    server's :class:`~evedmv_tui.store.connect.Capabilities`. Never query on
    the UI thread. In a screen, override ``load_data`` and call
    ``run_query``; it runs the function in a thread worker, tags its
    queries for the telemetry, and calls back on the UI thread::

        def load_data(self) -> None:
            self.run_query(battles.recent_battles, 50, then=self.show_battles)

        def show_battles(self, rows: list[BattleRow]) -> None:
            self.query_one(KeyedTable).update_rows(...)

    ``load_data`` runs when the screen mounts while connected, and again
    after every reconnection. A failed query goes to :meth:`EvedmvApp.report_failure`:
    an :class:`~evedmv_tui.errors.EvedmvError` becomes a notification with its
    title, message and hint; a lost connection starts reconnection. Workers
    written by hand use ``exit_on_error=False`` and call
    ``app.call_from_thread(app.report_failure, exc, name)`` themselves.

Polling
    Use a one-shot timer re-armed when the previous refresh has finished
    (``self.set_timer(interval, self.load_data)`` at the end of the callback),
    so a slow query never stacks up refreshes.

Status bar
    ``app.set_alert_count(count, worst_severity, acknowledged=n)`` and
    ``app.set_status(message, severity)`` may be called from any thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from psycopg_pool import PoolTimeout
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import MarkupError
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from evedmv_tui.config import Settings
from evedmv_tui.errors import DatabaseUnavailable, EvedmvError
from evedmv_tui.esi import EsiClient
from evedmv_tui.keyhold import CHECK_SECONDS, AfterKeys, KeyHold
from evedmv_tui.monitor.ingest import budget_of_client, register_esi_budget
from evedmv_tui.names import NameResolver
from evedmv_tui.screens import (
    COMMAND_PROVIDERS,
    MIN_HEIGHT,
    MIN_WIDTH,
    SCREENS,
    DashboardScreen,
    DatabaseConnected,
    ScreenEntry,
    TooSmall,
    declared_bindings,
    find_entry,
    resolve_target,
)
from evedmv_tui.store.connect import (
    Capabilities,
    check_capabilities,
    dashboard_denial,
    open_database,
    password_rejected,
)
from evedmv_tui.store.db import (
    SHORT_CONNECT_REASONS,
    Database,
    check_server,
    first_line,
)
from evedmv_tui.store.telemetry import operation
from evedmv_tui.widgets.prompt import PromptScreen
from evedmv_tui.widgets.status import (
    MESSAGES_KEY,
    ConnectionState,
    LoggedMessage,
    Severity,
    StatusState,
    message_log,
)
from evedmv_tui.widgets.text import strip_control

log = logging.getLogger(__name__)

NOTIFY_SEVERITIES: dict[str, Severity] = {
    "information": Severity.INFO,
    "warning": Severity.WARNING,
    "error": Severity.ERROR,
}
"""The message log's severity for each pop-up notification severity."""

HEARTBEAT_SECONDS = 5.0
"""Interval between connection checks while connected."""
HEARTBEAT_TIMEOUT = 5.0
"""Seconds a check waits for a pooled connection before it counts as lost."""
HEARTBEAT_DEADLINE = 5.0
"""Seconds a connection check may run before the connection shows as not responding.

A stopped server or backend (``kill -STOP``, a frozen host, a network that
drops packets) neither responds nor fails. A server-side
``statement_timeout`` cannot fire in a stopped backend, so this deadline is
kept on the client.

NOTE: a check that waits for a pooled connection while long queries hold
all of them can also pass this deadline. The probe on a new connection then
responds, and the status bar records a short gap that was only a busy pool.
"""
HEARTBEAT_QUICK_BORROW = 1.0
"""Seconds a check waits for a pooled connection before it connects directly.

A pool whose server is gone keeps retrying until ``HEARTBEAT_TIMEOUT``, while a
direct connection fails at once when the server is gone.
"""
RECONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Wait before each reconnection attempt; the last value repeats."""
STATUS_MESSAGE_SECONDS = 10.0
"""An info message in the status bar clears itself after this long."""


def _check_pool(db: Database) -> None:
    """Run ``SELECT 1`` on a pooled connection, or raise why none works.

    When no pooled connection comes within ``HEARTBEAT_QUICK_BORROW``, the
    pool is busy or its server is gone. A connection of the check's own
    raises at once in the second case, with the reason (a missing socket, a
    refused port), instead of the pool's timeout after ``HEARTBEAT_TIMEOUT``.
    """
    try:
        with db.pool.connection(timeout=HEARTBEAT_QUICK_BORROW) as conn:
            db.fetch_value("SELECT 1", conn=conn)
        return
    except PoolTimeout:
        log.debug("no pooled connection within %.1f s", HEARTBEAT_QUICK_BORROW)
    check_server(db.conninfo, HEARTBEAT_TIMEOUT, application_name=db.application_name)
    with db.pool.connection(timeout=HEARTBEAT_TIMEOUT) as conn:
        db.fetch_value("SELECT 1", conn=conn)


def _probe_server(db: Database) -> None:
    """Run ``SELECT 1`` on a new connection, or raise why it failed.

    A pooled connection whose backend is stopped never responds. A new
    connection gets a new backend, and libpq's ``connect_timeout`` ends the
    attempt when the whole server is stopped.
    """
    conninfo = db.conninfo
    options: dict[str, Any] = {"application_name": db.application_name}
    if "connect_timeout" not in psycopg.conninfo.conninfo_to_dict(conninfo):
        options["connect_timeout"] = max(round(HEARTBEAT_TIMEOUT), 1)
    with psycopg.connect(conninfo, **options) as conn:
        conn.execute("SELECT 1")


BRIEF_REASON_CELLS = 30
"""Maximum length of the reason in the status bar, so it fits 80 columns."""
PASSWORD_REJECTED = "password rejected"
"""The brief reason of a connection whose password the server rejected."""
PASSWORD_HINT = (
    "The dashboard retries with the same password, so fix it where it comes"
    " from. Set the role's password on the server back to it, or correct"
    " ~/.pgpass, which is read at each attempt: the dashboard then reconnects"
    " by itself. A wrong password in --dsn, EVEDMV_DSN or PGPASSWORD needs a"
    " restart of the dashboard with the right one."
)
"""Advice for a password that the server rejects after start-up."""


def brief_reason(reason: str) -> str:
    """Return libpq's reason at the end of ``reason`` in a few words.

    ``connection failed: connection to server on socket "/x/.s.PGSQL.5432"
    failed: No such file or directory`` gives ``no server socket``.
    """
    if password_rejected(reason):
        return PASSWORD_REJECTED
    tail = reason.rsplit(": ", 1)[-1].strip()
    tail = SHORT_CONNECT_REASONS.get(tail, tail)
    if len(tail) > BRIEF_REASON_CELLS:
        tail = tail[: BRIEF_REASON_CELLS - 1].rstrip() + "…"
    return tail


def is_connection_error(error: BaseException) -> bool:
    """Tell whether ``error`` may mean the server is unreachable."""
    if isinstance(error, DatabaseUnavailable):
        return error.title in {
            "not connected",
            "cannot connect to PostgreSQL",
            "server unreachable",
            "database busy or unreachable",
        }
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


class ScreenCommands(Provider):
    """Command palette entries that open every registered screen.

    Typing a screen name and an argument (``killmail 96812093``) offers to
    open that screen on that argument directly.
    """

    @property
    def _app(self) -> EvedmvApp:
        app = self.app
        assert isinstance(app, EvedmvApp)
        return app

    async def discover(self) -> Hits:
        for entry in self._app.screen_entries:
            yield DiscoveryHit(
                f"Open {entry.title}",
                functools.partial(self._app.open_screen, entry.name),
                help=entry.description,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        words = query.split()
        for entry in self._app.screen_entries:
            text = f"Open {entry.title}"
            if entry.prompt and len(words) >= 2:
                direct = self._direct_hit(entry, words)
                if direct is not None:
                    yield direct
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    functools.partial(self._app.open_screen, entry.name),
                    help=entry.description,
                )

    def _direct_hit(self, entry: ScreenEntry, words: list[str]) -> Hit | None:
        """Offer ``entry`` opened on the words after its name, if they parse.

        The name takes as many leading words as the title has at most
        (``battle report 42``), and every word after it is the argument, so a
        name with spaces (``alliance Brave Arrow``) reaches the screen whole.
        """
        longest = min(len(entry.title.split()), len(words) - 1)
        for count in range(longest, 0, -1):
            if self.matcher(" ".join(words[:count])).match(entry.title) <= 0:
                continue
            try:
                argument = entry.parse_argument(" ".join(words[count:]))
            except ValueError:
                continue
            text = f"Open {entry.title} {argument}"
            # The argument is what the user typed, so it must not be parsed as
            # markup. A Content is shown as it is.
            return Hit(
                1.0,
                Content(strip_control(text)),
                functools.partial(self._app.open_screen, entry.name, argument),
                text=text,
                help=entry.description,
            )
        return None


def _lazy_provider(target: str) -> type[Provider]:
    provider = resolve_target(target)
    if not (isinstance(provider, type) and issubclass(provider, Provider)):
        raise TypeError(f"{target} is not a textual.command.Provider subclass")
    return provider


class EvedmvApp(App[int]):
    """The evedmv dashboard."""

    CSS_PATH = "app.tcss"
    TITLE = "evedmv"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("ctrl+r", "reconnect", "Reconnect", show=False, id="reconnect"),
        Binding(MESSAGES_KEY, "messages", "Status messages", show=False, id="messages"),
    ]
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {
        ScreenCommands,
        *(functools.partial(_lazy_provider, target) for target in COMMAND_PROVIDERS),
    }

    status: reactive[StatusState] = reactive(StatusState)
    """What every screen's status bar shows."""
    _connection_message: str | None = None
    """The status message a lost connection caused, cleared on reconnection."""

    def __init__(
        self,
        settings: Settings,
        *,
        screens: Iterable[ScreenEntry] = SCREENS,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.screen_entries = tuple(screens)
        self.db: Database | None = None
        """The open database, or None while connecting or disconnected."""
        self._lost_dbs: list[Database] = []
        """Databases dropped for a lost connection, whose threads may still
        wait on the server; they are cut when the app exits."""
        self.db_reason: str | None = "connecting"
        """Why ``db`` is None, for messages."""
        self.capabilities: Capabilities | None = None
        """What the connected server offers; None until first connected."""
        self.startup_error: EvedmvError | None = None
        """Set when the first connection failed and the app exited."""
        self._ever_connected = False
        self._reconnect_attempt = 0
        self._password_hint_shown = False
        """Whether the password hint was shown since the connection was lost."""
        self._heartbeat_timer: Timer | None = None
        self._heartbeat_serial = 0
        """Number of the latest connection check; older checks' results are stale."""
        self._heartbeat_deadline: Timer | None = None
        """Marks the connection as not responding when the latest check is late."""
        self._message_timer: Timer | None = None
        self._names: NameResolver | None = None
        self._ui_thread = threading.get_ident()
        self._modal_focus: weakref.WeakKeyDictionary[Screen[Any], Widget | None] = (
            weakref.WeakKeyDictionary()
        )
        """The focused widget of each dialog that the size message hides."""
        self._key_hold: KeyHold | None = None
        """Keys waiting for a field to take focus (see evedmv_tui.keyhold)."""
        for entry in self.screen_entries:
            if entry.key:
                # Priority bindings act when the app reads the key, so the
                # keys typed right after it (k5001) reach the screen it opens.
                # check_action hands the key on where the screen or the
                # focused widget uses it, or a field takes it as text.
                self._bindings.bind(
                    entry.key,
                    f"open_screen('{entry.name}')",
                    description=entry.title,
                    show=False,
                    priority=True,
                )

    # -- start-up and shutdown ------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        screen = find_entry("home", self.screen_entries).resolve()()
        screen.entry_key = ("home", None)  # type: ignore[attr-defined]
        return screen

    def on_mount(self) -> None:
        self._ui_thread = threading.get_ident()
        self.screen_change_signal.subscribe(self, self._on_screen_change)
        from evedmv_tui.screens.alerts import start_alert_center

        start_alert_center(self)
        from evedmv_tui.screens.watch import start_watch_notifications

        start_watch_notifications(self)
        from evedmv_tui.screens.performance import start_monitor

        start_monitor(self, self.settings)
        self._set_connection(ConnectionState("connecting"))
        self.run_worker(
            self._connect,
            name="connect",
            group="connection",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    async def on_unmount(self) -> None:
        monitor_service = getattr(self, "monitor_service", None)
        if monitor_service is not None:
            monitor_service.close()
        from evedmv_tui.screens.alerts import stop_alert_center

        await stop_alert_center(self)
        # A thread that waits on a server that stopped responding would keep
        # the process alive after the dashboard closes, so cut every
        # connection rather than wait for them.
        db, self.db = self.db, None
        for lost in [*self._lost_dbs, *([db] if db is not None else [])]:
            lost.abort()
        self._lost_dbs.clear()
        if self._names is not None and self._names.client is not None:
            self._names.client.close()

    def name_resolver(self) -> NameResolver | None:
        """Return the shared name resolver (cache, ``names`` table, then ESI).

        None while disconnected. Its ESI client uses ``settings.esi_url``, so
        tests point that at a loopback server.
        """
        db = self.db
        if db is None:
            return None
        if self._names is None and self.settings.offline:
            # Offline mode reads stored names only, so missing ones stay ids.
            self._names = NameResolver(db, None)
        elif self._names is None:
            client = EsiClient(
                self.settings.esi_url, user_agent=self.settings.user_agent
            )
            self._names = NameResolver(db, client)
            register_esi_budget(lambda: budget_of_client(client))
        self._names.db = db
        return self._names

    def _connect(self, start_cluster: bool = True) -> None:
        """Open the database and read its capabilities (runs in a thread).

        Timed reconnection attempts pass ``start_cluster=False``: a private
        cluster that was stopped while the dashboard ran stays stopped until
        the user starts it or presses ctrl+r.
        """
        with operation("app.connect"):
            # The dashboard reads, so it never migrates a server given with
            # --dsn: without the schema it opens in monitor-only mode.
            db = open_database(
                self.settings,
                start_cluster=start_cluster,
                writes=False,
                require_schema=False,
            )
            try:
                capabilities = check_capabilities(db)
            except BaseException:
                db.close()
                raise
        self.call_from_thread(self._connected, db, capabilities)

    def _connected(self, db: Database, capabilities: Capabilities) -> None:
        if self.db is not None or self.startup_error is not None:
            # An older attempt finished after a newer one, or the app exits.
            db.close()
            return
        self.db = db
        self.db_reason = None
        self.capabilities = capabilities
        self._ever_connected = True
        self._reconnect_attempt = 0
        self._password_hint_shown = False
        log.info("connected to PostgreSQL %s", capabilities.server_version)
        self._set_connection(
            ConnectionState(
                "connected", f"PostgreSQL {capabilities.server_version.split()[0]}"
            )
        )
        if capabilities.warnings:
            # The warnings with their fixes made a pop-up taller than a
            # screen of 24 rows, so it names only the problems.
            gaps = "\n".join(f"- {gap}" for gap in capabilities.gaps)
            self.notify(
                f"{gaps}\nThe Home screen and {MESSAGES_KEY} show the fixes.",
                title="Monitoring is limited",
                severity="warning",
                markup=False,
                timeout=15,
                full_text="\n".join(capabilities.warnings),
            )
        if (
            self._connection_message is not None
            and self.status.message == self._connection_message
        ):
            self.set_status("")
        self._connection_message = None
        for screen in self.screen_stack:
            screen.post_message(DatabaseConnected())
        monitor_service = getattr(self, "monitor_service", None)
        if monitor_service is not None:
            # The monitor's own pool would wait out its backoff first.
            monitor_service.reconnect_now()
        self._arm_heartbeat()

    def _connect_failed(self, error: BaseException) -> None:
        if self.db is not None:
            return
        reason = first_line(error)
        if not self._ever_connected:
            if isinstance(error, EvedmvError):
                self.startup_error = error
            else:
                log.error("start-up failed", exc_info=error)
                self.startup_error = EvedmvError(
                    "start-up failed",
                    f"{type(error).__name__}: {reason}",
                    "run with --log-file FILE -v for details",
                )
            # A definite failure arrives within milliseconds, while the first
            # screen is still mounting. Exiting at that moment crashed Textual's
            # Header, which looked up a title widget already removed.
            self.call_after_refresh(self.exit, return_code=self.startup_error.exit_code)
            return
        log.warning("reconnection failed: %s", reason)
        # An EvedmvError's title is its reason in a few words, such as
        # "private cluster stopped", where the end of its text is "stopped".
        brief = error.title if isinstance(error, EvedmvError) else None
        if password_rejected(reason):
            brief = PASSWORD_REJECTED
            self._show_password_hint(reason)
        self._schedule_reconnect(reason, brief)

    def _show_password_hint(self, reason: str) -> None:
        """Say once per outage what to do about a rejected password.

        Every timed attempt fails the same way until the password is fixed,
        and one notification each would bury the others.
        """
        if self._password_hint_shown:
            return
        self._password_hint_shown = True
        self.notify(
            f"{reason}\n{PASSWORD_HINT}",
            title="Database password rejected",
            severity="error",
            markup=False,
        )

    # -- connection loss and reconnection -------------------------------------

    def _arm_heartbeat(self) -> None:
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.stop()
        self._heartbeat_timer = self.set_timer(HEARTBEAT_SECONDS, self.check_connection)

    def check_connection(self, *, announce: bool = False) -> None:
        """Check in a thread worker that the connection works; handle a loss.

        With ``announce``, a working connection is also reported in the status
        bar (for a check the user asked for).
        """
        self._start_check(announce=announce, probe=False)

    def _start_check(self, *, announce: bool, probe: bool) -> None:
        """Run a check of the pool, or with ``probe`` of a new connection."""
        db = self.db
        if db is None:
            return
        self._heartbeat_serial += 1
        serial = self._heartbeat_serial
        self.run_worker(
            functools.partial(self._heartbeat, db, serial, announce, probe),
            name="heartbeat",
            group="heartbeat",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )
        self._stop_heartbeat_deadline()
        if probe:
            # NOTE: a probe has no deadline of its own, because a newer check
            # would make its result stale. Its connect_timeout ends it when
            # the server does not respond, but a SELECT 1 on a backend stopped
            # right after connecting waits until ctrl+r starts a new check.
            return
        self._heartbeat_deadline = self.set_timer(
            HEARTBEAT_DEADLINE,
            functools.partial(self._heartbeat_overdue, db, serial, dt.datetime.now()),
        )

    def _stop_heartbeat_deadline(self) -> None:
        if self._heartbeat_deadline is not None:
            self._heartbeat_deadline.stop()
            self._heartbeat_deadline = None

    def _heartbeat_overdue(
        self, db: Database, serial: int, started: dt.datetime
    ) -> None:
        """Show the connection as not responding: check ``serial`` is late.

        The late check keeps its thread until the server responds or the
        socket fails, which may be never. A probe on a new connection
        (:func:`_probe_server`) decides instead: it gets a response, or fails
        to connect within ``HEARTBEAT_TIMEOUT`` and the connection counts as
        lost since the first check that got no response.
        """
        if db is not self.db or serial != self._heartbeat_serial:
            return
        self._heartbeat_deadline = None
        state = self.status.connection
        if state.phase != "not responding":
            log.warning(
                "connection check %d got no response within %g s",
                serial,
                HEARTBEAT_DEADLINE,
            )
            state = ConnectionState(
                "not responding",
                f"a connection check got no response within {HEARTBEAT_DEADLINE:g} s",
                since=started,
            )
            self._set_connection(state)
        self._start_check(announce=False, probe=True)

    def _heartbeat(
        self, db: Database, serial: int, announce: bool, probe: bool = False
    ) -> None:
        try:
            with operation("app.heartbeat"):
                if probe:
                    _probe_server(db)
                else:
                    _check_pool(db)
        except psycopg.Error as exc:
            self.call_from_thread(self._heartbeat_failed, db, serial, first_line(exc))
            return
        self.call_from_thread(self._heartbeat_ok, db, serial, announce)

    def _heartbeat_ok(self, db: Database, serial: int, announce: bool) -> None:
        if db is not self.db or serial != self._heartbeat_serial:
            return
        self._stop_heartbeat_deadline()
        self._arm_heartbeat()
        state = self.status.connection
        if state.phase == "not responding":
            self._responding_again(state)
        elif announce:
            self.set_status("database connection checked: the server answers")

    def _responding_again(self, state: ConnectionState) -> None:
        """Show the connection as connected again and keep a record of the gap."""
        since = state.since or dt.datetime.now()
        now = dt.datetime.now()
        log.warning(
            "the server responds again after %.0f s", (now - since).total_seconds()
        )
        version = self.capabilities.server_version if self.capabilities else ""
        self._set_connection(
            ConnectionState(
                "connected", f"PostgreSQL {version.split()[0]}" if version else ""
            )
        )
        self.set_status(
            f"the database did not respond from {since:%H:%M:%S} to {now:%H:%M:%S}",
            Severity.WARNING,
        )

    def _heartbeat_failed(self, db: Database, serial: int, reason: str) -> None:
        if serial != self._heartbeat_serial:
            # A newer check started after this one (ctrl+r, another failure)
            # and decides alone, so a slow old check that failed before the
            # server came back does not report a loss after reconnection.
            log.debug("ignored the failure of an older connection check: %s", reason)
            return
        self._stop_heartbeat_deadline()
        self.connection_lost(db, reason)

    def connection_lost(self, db: Database, reason: str) -> None:
        """Mark the connection as lost, close its pool and start reconnecting."""
        if db is not self.db:
            return
        log.warning("connection lost: %s", reason)
        self.db = None
        self.db_reason = f"connection lost: {reason}"
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.stop()
        self._stop_heartbeat_deadline()
        # A connection that stopped responding was lost when it stopped.
        previous = self.status.connection
        since = previous.since if previous.phase == "not responding" else None
        self._set_connection(
            ConnectionState(
                "disconnected",
                reason,
                since=since or dt.datetime.now(),
                brief=brief_reason(reason),
            )
        )
        if password_rejected(reason):
            self._password_hint_shown = True
            hint = PASSWORD_HINT
        elif self.settings.dsn is None:
            hint = (
                "The dashboard retries by itself. If the private cluster was"
                " stopped, press ctrl+r to start it, or run 'evedmv db start'."
            )
        else:
            hint = "The dashboard retries by itself; ctrl+r retries now."
        self.notify(
            f"{reason}\n{hint}",
            title="Database connection lost",
            severity="error",
            markup=False,
        )
        # NOTE: ConnectionPool.close waits up to 5 s for its workers, so the
        # old pool is closed off the UI thread.
        self.run_worker(db.close, thread=True, group="close", exit_on_error=False)
        self._lost_dbs = [d for d in self._lost_dbs if d.open_connections]
        self._lost_dbs.append(db)
        self._schedule_reconnect(reason)

    def _schedule_reconnect(self, reason: str, brief: str | None = None) -> None:
        index = min(self._reconnect_attempt, len(RECONNECT_DELAYS) - 1)
        delay = RECONNECT_DELAYS[index]
        self._reconnect_attempt += 1
        since = self.status.connection.since or dt.datetime.now()
        retry_at = dt.datetime.now() + dt.timedelta(seconds=delay)
        self._set_connection(
            ConnectionState(
                "disconnected",
                reason,
                since=since,
                retry_at=retry_at,
                brief=brief or brief_reason(reason),
            )
        )
        self.set_timer(delay, self._reconnect)

    def _reconnect(self, start_cluster: bool = False) -> None:
        if self.db is not None:
            return
        log.debug("reconnection attempt %d", self._reconnect_attempt)
        state = self.status.connection
        if state.phase == "disconnected":
            # The attempt may take seconds (a server that is shutting down
            # gets the pool's retries), and "next try" would name a past time.
            self._set_connection(
                dataclasses.replace(state, retry_at=None, reconnecting=True)
            )
        self.run_worker(
            functools.partial(self._connect, start_cluster),
            name="connect",
            group="connection",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        if worker.group == "connection":
            self._connect_failed(worker.error)
        elif worker.group == "close":
            log.debug("closing the old pool failed: %s", first_line(worker.error))
        elif worker.group != "heartbeat":
            self.report_failure(worker.error, worker.name or "worker")

    # -- the one failure handler ----------------------------------------------

    def report_failure(self, error: BaseException, source: str = "") -> None:
        """Show a failed worker's error to the user; never raise, never exit.

        A connection error sets a status message and checks the connection
        at once. An :class:`EvedmvError` becomes a notification with its title,
        message and hint, and so does a statement the server denied, with the
        GRANT statements for the connected role. Any other error is logged
        with its traceback (to the log file, if one is set) and shown as one
        line.
        """
        # Workers are named after their screen's class; users see its title.
        title = self._source_title(source)
        where = f"{title}: " if title else ""
        if is_connection_error(error):
            text = f"{where}{first_line(error)}"
            self.set_status(text, Severity.WARNING)
            # _connected clears this message once the connection is back.
            self._connection_message = text
            self.check_connection()
            return
        if isinstance(error, EvedmvError):
            text = error.message
            if error.hint:
                text += f"\nhint: {error.hint}"
            self.notify(text, title=error.title, severity="error", markup=False)
            return
        if (
            isinstance(error, psycopg.errors.InsufficientPrivilege)
            and self.db is not None
        ):
            # Unlike the CLI, this looks up neither the owner nor the missing
            # privileges: it runs on the UI thread, which must not wait on a query.
            denied = dashboard_denial(error, self.db.conninfo)
            log.warning("%s%s", where, denied.render())
            self.notify(
                f"{where}{denied.message}\nhint: {denied.hint}",
                title=denied.title,
                severity="error",
                markup=False,
            )
            return
        if isinstance(error, psycopg.Error):
            log.warning("%squery failed: %s", where, first_line(error))
            self.notify(
                f"{where}{first_line(error)}",
                title="Query failed",
                severity="error",
                markup=False,
            )
            return
        log.error("%sunexpected error", where, exc_info=error)
        self.notify(
            f"{where}{type(error).__name__}: {first_line(error)}\n"
            "hint: run with --log-file FILE for the traceback",
            title="Unexpected error",
            severity="error",
            markup=False,
        )

    def _source_title(self, source: str) -> str:
        """Return the title of the screen that runs the worker named ``source``.

        Screens name their workers after their class or a dotted query name,
        and neither means much to a user. A source that no screen owns is
        returned unchanged.
        """
        for screen in reversed(self.screen_stack):
            owns = type(screen).__name__ == source or any(
                worker.name == source for worker in screen.workers
            )
            if owns and screen.title:
                return str(screen.title)
        return source

    # -- status bar -----------------------------------------------------------

    def _on_ui_thread(self) -> bool:
        return threading.get_ident() == self._ui_thread

    def _set_connection(self, state: ConnectionState) -> None:
        self.status = dataclasses.replace(self.status, connection=state)
        self.sub_title = state.describe_long()

    def set_alert_count(
        self,
        count: int,
        worst_severity: object = None,
        worst_label: str | None = None,
        acknowledged: int = 0,
    ) -> None:
        """Show ``count`` open alerts, worst ``worst_severity`` (any thread).

        ``worst_severity`` is a :class:`~evedmv_tui.widgets.status.Severity`,
        a name such as ``"warning"``, or an enum whose name is one. It sets
        the colour. ``worst_label`` is the word shown for it, as the alert
        table writes it: None shows the severity's name, and an empty label
        leaves the worst out. ``acknowledged`` of the ``count`` alerts are
        acknowledged. The figures change in one update of the status.
        """
        if not 0 <= acknowledged <= count:
            raise ValueError(
                f"alert counts must satisfy 0 <= acknowledged <= count,"
                f" got {acknowledged} of {count}"
            )
        severity = Severity.parse(worst_severity) if count else Severity.OK
        if not self._on_ui_thread():
            self.call_from_thread(
                self.set_alert_count, count, severity, worst_label, acknowledged
            )
            return
        self.status = dataclasses.replace(
            self.status,
            alert_count=count,
            alert_acknowledged=acknowledged,
            alert_severity=severity,
            alert_label=worst_label,
        )

    def set_status(self, message: str, severity: object = Severity.INFO) -> None:
        """Show a short message in the status bar (any thread).

        An info message clears itself after ``STATUS_MESSAGE_SECONDS``;
        warnings and errors stay until the next message replaces them.
        """
        level = Severity.parse(severity)
        if not self._on_ui_thread():
            self.call_from_thread(self.set_status, message, level)
            return
        if self._message_timer is not None:
            self._message_timer.stop()
            self._message_timer = None
        self.status = dataclasses.replace(
            self.status, message=message, message_severity=level
        )
        if message and level <= Severity.INFO:
            self._message_timer = self.set_timer(
                STATUS_MESSAGE_SECONDS, lambda: self.set_status("")
            )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
        full_text: str | None = None,
    ) -> None:
        """Show a pop-up notification and keep it in the recent messages list.

        A pop-up goes after a few seconds, so the messages screen lists it
        with the status bar's messages. ``full_text``, when given, is listed
        there in place of the pop-up's shorter ``message``. Any thread may
        call this.
        """
        if not self._on_ui_thread():
            self.call_from_thread(
                self.notify,
                message,
                title=title,
                severity=severity,
                timeout=timeout,
                markup=markup,
                full_text=full_text,
            )
            return
        text = message if full_text is None else full_text
        if markup:
            # Bad markup fails in the pop-up too; the log keeps the raw text.
            with contextlib.suppress(MarkupError):
                text = Content.from_markup(text).plain
        level = NOTIFY_SEVERITIES.get(severity, Severity.INFO)
        logged = LoggedMessage(
            dt.datetime.now(), level, f"{title}: {text}" if title else text
        )
        message_log(self).add(logged)
        super().notify(
            message, title=title, severity=severity, timeout=timeout, markup=markup
        )

    # -- navigation -----------------------------------------------------------

    def hold_keys_for(self, field: Widget) -> None:
        """Hold keys typed from now until ``field`` has focus.

        For a screen that shows a field and focuses it: the keys typed right
        after the one that opened the field go into it.
        """
        hold = KeyHold.start(field)
        previous = self._key_hold
        if previous is not None:
            hold.keys.extend(previous.keys)
        self._key_hold = hold

    # -- dialogs below 80x24 -------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._fit_modal(self.screen, event.size.width, event.size.height)

    def _on_screen_change(self, screen: Screen[Any]) -> None:
        self._fit_modal(screen, self.size.width, self.size.height)

    def _fit_modal(self, screen: Screen[Any], width: int, height: int) -> None:
        """Show the size message in place of a dialog below 80x24.

        A dashboard screen does this itself (DashboardScreen). A dialog's
        form was cut off at the edge instead, with its buttons half shown.
        """
        if not isinstance(screen, ModalScreen):
            return
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        if too_small:
            notices = screen.query_children(TooSmall)
            notice = notices.first() if notices else TooSmall(markup=False)
            notice.update(
                f"The terminal is {width}x{height}; evedmv needs at least"
                f" {MIN_WIDTH}x{MIN_HEIGHT}. Enlarge the window, or press q to quit."
            )
            if not notices:
                screen.mount(notice)
            if not screen.has_class("-too-small"):
                # The focused field is hidden; keep typed keys from it.
                self._modal_focus[screen] = screen.focused
                screen.set_focus(None)
        elif screen.has_class("-too-small"):
            focused = self._modal_focus.pop(screen, None)
            if focused is not None and focused.is_attached:
                screen.set_focus(focused)
        screen.set_class(too_small, "-too-small")

    def _modal_too_small(self) -> bool:
        screen = self.screen
        return isinstance(screen, ModalScreen) and screen.has_class("-too-small")

    async def on_event(self, event: events.Event) -> None:
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and self._modal_too_small()
        ):
            # Only quitting acts while the size message hides the dialog,
            # as on a dashboard screen: its keys would act on hidden fields.
            if event.key == "q":
                await self.run_action("quit")
            return
        hold = self._key_hold
        # A forwarded key is one the app routed already, on its way back up.
        if (
            hold is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
        ):
            if not hold.keys and hold.ready(self.screen):
                self._key_hold = None
            else:
                if not hold.keys:
                    self.set_timer(CHECK_SECONDS, self._release_keys)
                hold.keys.append(event)
                return
        await super().on_event(event)

    def on_after_keys(self, message: AfterKeys) -> None:
        message.callback()

    async def _release_keys(self) -> None:
        """Route the held keys, in the order typed, once their field has focus."""
        hold = self._key_hold
        if hold is None:
            return
        if not hold.ready(self.screen):
            self.set_timer(CHECK_SECONDS, self._release_keys)
            return
        self._key_hold = None
        for key in hold.keys:
            await super().on_event(key)

    def open_screen(self, name: str, argument: int | str | None = None) -> None:
        """Open the registered screen ``name``, asking for its argument if needed.

        If that screen, with that argument, is already on the stack, the
        screens above it are closed instead of opening a second copy.
        """
        try:
            entry = find_entry(name, self.screen_entries)
        except KeyError as exc:
            self.report_failure(exc, "open screen")
            return
        if entry.prompt and argument is None:
            self.push_screen(
                PromptScreen(entry.prompt, entry.parse_argument),
                functools.partial(self._open_with, entry),
            )
            return
        self._open_with(entry, argument)

    def _open_with(self, entry: ScreenEntry, argument: int | str | None) -> None:
        if entry.prompt and argument is None:
            return
        key = (entry.name, argument)
        for index, screen in enumerate(self.screen_stack):
            if getattr(screen, "entry_key", None) == key:
                for _ in range(len(self.screen_stack) - index - 1):
                    self.pop_screen()
                return
        try:
            factory: Callable[..., Screen[Any]] = entry.resolve()
            screen = factory() if argument is None else factory(argument)
        except Exception as exc:
            self.report_failure(exc, f"open {entry.title}")
            return
        screen.entry_key = key  # type: ignore[attr-defined]
        self.push_screen(screen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "quit":
            return True
        if action == "open_screen" and not self._screen_key_is_free(parameters):
            return False
        # While a screen shows the size message only quitting acts.
        if getattr(self.screen, "too_small", False):
            return False
        # The home screen is the bottom of the stack: there is nothing to go
        # back to, so its footer does not offer Back.
        return action != "back" or len(self.screen_stack) > 1

    def _screen_key_is_free(self, parameters: tuple[object, ...]) -> bool:
        """Tell whether the key of the screen named in ``parameters`` may open it.

        Not while a dialog is open, nor when the focused widget is a field
        (where the key is text) or the screen or focused widget binds the
        same key for itself (``a`` acknowledges on the Alerts screen).
        """
        if isinstance(self.screen, ModalScreen) or isinstance(self.focused, Input):
            return False
        try:
            key = find_entry(str(parameters[0]), self.screen_entries).key
        except (IndexError, KeyError):
            return True
        owners = [owner for owner in (self.screen, self.focused) if owner is not None]
        return not any(
            binding.key == key
            for owner in owners
            for binding in declared_bindings(type(owner))
        )

    def action_open_screen(self, name: str) -> None:
        self.open_screen(name)

    def action_command_palette(self) -> None:
        """Open the command palette; its Enter waits for the typed text's search."""
        from evedmv_tui.screens.palette import SearchingCommandPalette

        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(SearchingCommandPalette(id="--command-palette"))

    def action_help(self) -> None:
        from evedmv_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        screen = self.screen
        own: list[Binding] = []
        focused: list[Binding] = []
        everywhere: list[Binding] = []
        for active in screen.active_bindings.values():
            action = active.binding.action
            if action.removeprefix("app.").startswith("open_screen("):
                # Screen keys are listed with their screens, not here.
                continue
            if active.node is self:
                everywhere.append(active.binding)
            elif active.node is screen:
                own.append(active.binding)
            else:
                focused.append(active.binding)
        sections = [
            (f"Keys of {screen.title or 'this screen'}", own),
            *(
                screen.other_tab_keys({binding.action for binding in own})
                if isinstance(screen, DashboardScreen)
                else []
            ),
            ("Keys of the focused table, tree or list", focused),
            ("Keys everywhere", everywhere),
        ]
        notes = getattr(screen, "HELP_NOTES", ())
        title = f"About {screen.title or 'this screen'}"
        self.push_screen(HelpScreen(sections, self.screen_entries, notes, title))

    def action_messages(self) -> None:
        """Open the recent status messages in full, or close them."""
        from evedmv_tui.screens.messages import MessagesScreen

        if isinstance(self.screen, MessagesScreen):
            self.pop_screen()
            return
        self.push_screen(MessagesScreen())

    def action_reconnect(self) -> None:
        """Retry the connection now instead of waiting for the next attempt."""
        if self.db is not None:
            self.set_status("checking the database connection…")
            self.check_connection(announce=True)
            return
        self._reconnect(start_cluster=True)

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save an SVG of the screen under the state directory.

        Textual saves into the user's Downloads folder, which servers
        reached over SSH seldom have; the state directory always exists.
        Textual's own notification names the saved file.
        """
        directory = Path(path) if path else self.settings.state_dir / "screenshots"
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self._screenshot_failed(directory, error)
            return None
        return super().deliver_screenshot(filename, str(directory), time_format)

    def on_delivery_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "screenshot":
            directory = self.settings.state_dir / "screenshots"
            self._screenshot_failed(directory, event.exception)

    def _screenshot_failed(self, directory: Path, error: BaseException) -> None:
        reason = getattr(error, "strerror", None) or str(error)
        self.notify(
            f"Could not save a screenshot in {directory}: {reason}. "
            "Point EVEDMV_STATE_DIR at a writable directory.",
            title="Screenshot",
            severity="error",
            markup=False,
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's Keys panel docks beside the screen, which squeezes an
        # 80-column layout, and Escape does not close it; Help lists the keys.
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command
        yield SystemCommand("Help", "Keys and screens", self.action_help)
        yield SystemCommand(
            "Reconnect", "Check or re-open the connection now", self.action_reconnect
        )

"""The landing screen: what the database holds and where to go from here."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from evedmv_tui.errors import EvedmvError
from evedmv_tui.ingest.pending import FETCH_PENDING_COMMAND
from evedmv_tui.queries.overview import Overview, load_overview
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.screens.help import describe_destination
from evedmv_tui.store.connect import Capabilities, check_capabilities
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import schema_problem
from evedmv_tui.widgets.text import format_count


def describe_overview(overview: Overview) -> str:
    """Return the plain-text summary of what is loaded.

    Times are shown in UTC whatever the server's time zone setting.
    """
    lines = [f"Killmails stored   {format_count(overview.stored_killmails)}"]
    first, last = overview.first_killmail_time, overview.last_killmail_time
    if first and last:
        lines.append(
            f"First killmail     {first.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        )
        lines.append(f"Last killmail      {last.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
    if overview.pending_killmails:
        lines.append(f"Bodies pending     {format_count(overview.pending_killmails)}")
    if overview.invalid_killmails:
        lines.append(f"Invalid hashes     {format_count(overview.invalid_killmails)}")
    lines += [
        f"Solar systems      {format_count(overview.solar_systems)}",
        f"Item types         {format_count(overview.types)}",
        f"Prices             {format_count(overview.prices)}",
        f"Names              {format_count(overview.names)}",
    ]
    if overview.rejects:
        # Resolved rejects, such as those whose killmail is stored, are not
        # counted.
        lines.append(f"Rejected records   {format_count(overview.rejects)}")
    if overview.last_import_at:
        imported = overview.last_import_at.astimezone(dt.UTC)
        lines.append(f"Last import        {imported:%Y-%m-%d %H:%M:%S} UTC")
    if overview.last_feed_at:
        followed = overview.last_feed_at.astimezone(dt.UTC)
        lines.append(f"Live feed moved    {followed:%Y-%m-%d %H:%M:%S} UTC")
    if overview.pending_killmails:
        # A paragraph of its own: in the figures' column its words would
        # wrap back under the labels at 80 columns.
        lines.append(
            f"\nPending bodies are killmails known by id and hash only;"
            f" '{FETCH_PENDING_COMMAND}' fetches them, while online."
        )
    if overview.invalid_killmails:
        lines.append(
            "\nInvalid hashes are killmails whose id and hash ESI rejected, so"
            " their bodies are not fetched; import a reference with the right"
            " hash to fetch one."
        )
    if not overview.has_static_data:
        lines.append(
            "\nNo static data yet: import the SDE first (evedmv --help lists"
            " the import commands)."
        )
    elif not overview.stored_killmails:
        lines.append("\nNo killmails yet: import an archive or start the live feed.")
    return "\n".join(lines)


def describe_capabilities(capabilities: Capabilities | None) -> str:
    """Return the server line and any monitoring gaps with their fixes."""
    if capabilities is None:
        return "Not connected yet."
    lines = [f"PostgreSQL {capabilities.server_version}"]
    if capabilities.pg_stat_statements:
        lines.append(f"pg_stat_statements {capabilities.pg_stat_statements}")
    lines += [f"- {warning}" for warning in capabilities.warnings]
    return "\n".join(lines)


def recheck_capabilities(db: Database) -> Capabilities:
    """Read the server's capabilities, first re-checking a missing schema.

    A database opened in monitor-only mode keeps ``db.schema_problem`` until
    this check finds the migrations applied ('evedmv db migrate' run in
    another shell), which clears it for every screen sharing ``db``.
    """
    if db.schema_problem is not None:
        db.schema_problem = schema_problem(db)
    return check_capabilities(db)


class DataColumn(VerticalScroll):
    """The loaded data and server column, focusable only when it scrolls.

    Tab used to move focus to the column while all of it was in view, where
    nothing showed the focus and Down and Enter did nothing.
    """

    DEFAULT_CSS = """
    DataColumn:focus {
        background: $boost;
    }
    """

    def allow_focus(self) -> bool:
        return self.can_focus and self.max_scroll_y > 0


class HomeScreen(DashboardScreen):
    """What is loaded, the server's capabilities, and every screen's key."""

    TITLE = "Home"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Reload", id="home.reload"),
    ]
    _resumed = False
    """Whether the screen has been shown before; later resumes reload it."""
    _overview_waits = False
    """Whether the figures wait for the schema, which the database lacked."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="home-columns"):
            with DataColumn(id="home-data"):
                yield Static("Loaded data", classes="section-title")
                yield Static("Loading...", id="overview", markup=False)
                yield Static("Server", classes="section-title")
                yield Static("Connecting...", id="capabilities", markup=False)
            yield OptionList(*self._screen_options(), id="destinations")

    def on_mount(self) -> None:
        destinations = self.query_one("#destinations", OptionList)
        destinations.border_title = "Go to (Enter)"
        destinations.focus()

    def on_screen_resume(self) -> None:
        # Without a focused widget, Textual's auto focus picks the first
        # focusable one, the data column, where Down scrolls and Enter does
        # nothing. The list is what Home's keys act on.
        self.query_one("#destinations", OptionList).focus()
        # Coming back to Home shows what imports and other screens changed.
        # The first resume comes with the mount, which loads already.
        if self._resumed and self.evedmv_app.db is not None:
            self.load_data()
        self._resumed = True

    def _screen_options(self) -> list[Option]:
        options = []
        for entry in self.evedmv_app.screen_entries:
            if entry.name == "home":
                continue
            key, title = describe_destination(self.app, entry)
            options.append(Option(f"{key:>7}  {title}", id=entry.name))
        return options

    def load_data(self) -> None:
        self.query_one("#capabilities", Static).update(
            describe_capabilities(self.evedmv_app.capabilities)
        )
        # A setup problem fixed while the dashboard runs (CREATE EXTENSION, a
        # restart that preloads the library, 'evedmv db migrate') leaves the
        # pool connected, so the capabilities read at connection time would
        # stay stale.
        self.run_query(
            recheck_capabilities,
            then=self.show_capabilities,
            name="home.capabilities",
            group="capabilities",
        )
        db = self.evedmv_app.db
        self._overview_waits = db is not None and db.schema_problem is not None
        if db is not None and db.schema_problem is not None:
            # Loading would fail on the missing tables with a pop-up of the
            # problem that this screen and the capabilities pop-up show.
            self.show_overview_failure(db.schema_problem)
            return
        self._load_overview()

    def _load_overview(self) -> None:
        self.run_query(
            load_overview,
            then=self.show_overview,
            name="home",
            on_error=self.show_overview_failure,
        )

    def show_capabilities(self, capabilities: Capabilities) -> None:
        """Show the server's capabilities as just read, and keep them on the app.

        The figures that waited for a missing schema load once the recheck
        finds it.
        """
        self.evedmv_app.capabilities = capabilities
        self.query_one("#capabilities", Static).update(
            describe_capabilities(capabilities)
        )
        db = self.evedmv_app.db
        if self._overview_waits and db is not None and db.schema_problem is None:
            self._overview_waits = False
            self._load_overview()

    def show_overview(self, overview: Overview) -> None:
        """Show the loaded figures."""
        self.query_one("#overview", Static).update(describe_overview(overview))

    def show_overview_failure(self, error: Exception) -> None:
        """Say why there are no figures, such as a database without the schema.

        The notification of the failure goes away after a few seconds, and
        this text stays until the next load.
        """
        if isinstance(error, EvedmvError):
            text = error.message
            if error.hint:
                text += f"\nfix: {error.hint}"
            self.query_one("#overview", Static).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.evedmv_app.open_screen(event.option.id)

    def action_reload(self) -> None:
        if self.evedmv_app.db is None:
            self.evedmv_app.set_status("not connected; reloads on reconnect")
            return
        self.load_data()

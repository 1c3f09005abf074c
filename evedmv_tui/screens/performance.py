"""The live performance screen and the service that polls the monitor for the app.

:class:`MonitorService` runs :meth:`Monitor.poll` in a thread worker on a
one-shot timer that is re-armed when the previous poll has finished, so a
slow poll never overlaps the next. The app starts it once
(:func:`start_monitor`); it keeps polling while the screen is closed, so
the alert centre gets samples all the time. The screen subscribes to it and
refreshes its tables in place by row key.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, cast

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane, Tabs

from evedmv_tui.config import Settings
from evedmv_tui.monitor import memory as memory_mod
from evedmv_tui.monitor.activity import Backend
from evedmv_tui.monitor.appside import (
    SLOW_QUERY_KEEP_SECONDS,
    RecentSlowQueries,
    slow_query_key,
)
from evedmv_tui.monitor.explain import (
    ExplainError,
    ExplainResult,
    ExplainStopped,
    ExplainStopper,
    check_analyzable,
)
from evedmv_tui.monitor.ingest import IngestHealth
from evedmv_tui.monitor.poller import MAX_INTERVAL, MIN_INTERVAL, Monitor
from evedmv_tui.monitor.regressions import Alert
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import SORT_FIELDS, Snapshot
from evedmv_tui.monitor.statements import clip
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.store.connect import server_conninfo
from evedmv_tui.widgets import perf_rows
from evedmv_tui.widgets.filter import FilterInput
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen, PlanScreen, TextScreen
from evedmv_tui.widgets.plot import SeriesPlot
from evedmv_tui.widgets.table import (
    KeyedTable,
    MessageTable,
    QueryTable,
    narrow_columns,
)

log = logging.getLogger(__name__)

Listener = Callable[[Snapshot], None]
INTERVAL_STEPS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
"""Intervals that ``+`` and ``-`` step through, in seconds."""
HISTORY_SAMPLES = 300
"""Plot points kept per series: ten minutes at the default 2 s interval."""
PlotKey = tuple[str, str]
"""A plot's widget id and the name of one of its series."""


def plot_points(snapshot: Snapshot) -> list[tuple[PlotKey, float, float]]:
    """Return the Charts tab's points of ``snapshot``: key, time and value."""
    if not snapshot.connected:
        return []
    x = snapshot.at
    points: list[tuple[PlotKey, float, float]] = []
    database = snapshot.database
    if database is not None and database.tps is not None:
        points.append((("plot-tps", "tps"), x, database.tps))
    calls = sum(v.delta.calls for v in snapshot.statements if v.delta.trusted)
    exec_ms = sum(v.delta.exec_ms for v in snapshot.statements if v.delta.trusted)
    if calls and snapshot.statements_trusted:
        points.append((("plot-mean", "mean"), x, exec_ms / calls))
    memory = snapshot.memory
    if memory is not None and memory.app.rss is not None:
        points.append((("plot-memory", "rss"), x, memory.app.rss / memory_mod.MIB))
    return points


MIN_QUERY_WIDTH = 20
"""Columns the Activity tab's query keeps at least, by cutting the cells of
:data:`NARROWABLE_ACTIVITY_COLUMNS` first."""
NARROWABLE_ACTIVITY_COLUMNS = frozenset({"state", "wait", "blocked"})
"""Activity columns cut to leave the query room: enter shows their whole values."""


STALE_POLLS = 3
"""A poll running this many intervals marks the screen's data as stale."""
STALE_MIN_SECONDS = 5.0
"""A poll running this long marks the data as stale, however short the interval."""


class MonitorService:
    """Polls one :class:`Monitor` for the app and hands snapshots to listeners.

    All methods run on the app's thread; only the poll itself runs in a
    thread worker.
    """

    def __init__(
        self,
        app: App[Any],
        settings: Settings,
        monitor_factory: Callable[[str | None], Monitor] | None = None,
    ) -> None:
        self.app = app
        self._factory = monitor_factory or default_monitor_factory(settings)
        self.monitor: Monitor | None = None
        self.latest: Snapshot | None = None
        self.paused = False
        self.interval = min(max(settings.poll_interval, MIN_INTERVAL), MAX_INTERVAL)
        self._listeners: list[Listener] = []
        self._timer: Timer | None = None
        self._polling = False
        self.poll_started: float | None = None
        """Epoch time the running poll started, or None while no poll runs."""
        self.plot_history: dict[PlotKey, collections.deque[tuple[float, float]]] = {}
        """The Charts tab's points of the latest polls, kept while the screen
        is closed, so it shows the last ``HISTORY_SAMPLES`` polls when it opens."""
        self.slow_queries = RecentSlowQueries()
        """The App tab's slow application queries, kept while the screen is
        closed too."""
        self._closed = False
        self._feeds_alerts = False
        self.allocation_sites_enabled = False
        """Whether polls read tracemalloc's top sites: the Memory tab is in view."""

    def start(self) -> None:
        self._arm(0.0)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.stop()
        if self.monitor is not None:
            self.monitor.close()

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on the UI thread with every snapshot; returns an undo."""
        self._listeners.append(listener)
        if self.latest is not None:
            listener(self.latest)

        def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return stop

    def set_interval(self, seconds: float) -> None:
        """Change the interval now: a pending wait restarts with the new value."""
        self.interval = min(max(seconds, MIN_INTERVAL), MAX_INTERVAL)
        if self.monitor is not None:
            self.monitor.interval = self.interval
        if not self._polling:
            self._arm(self._delay())

    def reconnect_now(self) -> None:
        """Poll at once if the monitor is disconnected: the app has reconnected."""
        monitor = self.monitor
        if monitor is None or monitor.connected:
            return
        monitor.retry_now()
        if not self._polling and not self.paused:
            self._arm(0.0)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused and not self._polling:
            self._arm(0.0)

    def stale_after(self) -> float:
        """Return the seconds a poll may run before its data counts as stale."""
        return max(STALE_POLLS * self.interval, STALE_MIN_SECONDS)

    def stale_since(self, now: float | None = None) -> float | None:
        """Return the epoch time of the last data when the running poll is late.

        A stopped server or backend leaves a poll waiting for a response
        with no error. That is the time of the latest snapshot, or the
        poll's start when there is none yet. None while no poll is late.
        """
        started = self.poll_started
        if started is None:
            return None
        now = time.time() if now is None else now
        if now - started < self.stale_after():
            return None
        return self.latest.at if self.latest is not None else started

    def _delay(self) -> float:
        if self.monitor is None:
            return self.interval
        return self.monitor.next_delay()

    def _arm(self, delay: float) -> None:
        if self._closed:
            return
        if self._timer is not None:
            self._timer.stop()
        # Textual's timer divides by its delay, so it must not be zero.
        self._timer = self.app.set_timer(
            max(delay, 0.01), self._tick, name="monitor-poll"
        )

    def _tick(self) -> None:
        self._timer = None
        if self.paused or self._closed or self._polling:
            return
        if self.monitor is None and self._conninfo() is None:
            # The app has not connected yet; the app starts the private
            # cluster, and two starts at once would collide.
            self._arm(1.0)
            return
        self._polling = True
        self.poll_started = time.time()
        self.app.run_worker(
            self._poll,
            name="monitor-poll",
            group="monitor",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _conninfo(self) -> str | None:
        db = getattr(self.app, "db", None)
        if db is not None:
            return str(db.conninfo)
        return None if hasattr(self.app, "db") else ""

    def _poll(self) -> None:
        try:
            if self.monitor is None:
                self.monitor = self._factory(self._conninfo() or None)
                self.monitor.interval = self.interval
                self.monitor.allocation_sites.interval_seconds = (
                    memory_mod.ALLOCATION_SITES_INTERVAL_SECONDS
                )
            self.monitor.allocation_sites.enabled = self.allocation_sites_enabled
            snapshot = self.monitor.poll()
        except Exception as exc:
            # Monitor.poll turns server failures into a snapshot; this is a
            # failure to build the monitor at all (no private cluster, say).
            log.warning("monitor poll failed: %s", exc)
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._deliver, snapshot)

    def _deliver(self, snapshot: Snapshot) -> None:
        self._polling = False
        self._note_stall()
        center = getattr(self.app, "alert_center", None)
        if center is not None and not self._feeds_alerts and self.monitor is not None:
            # The alert centre opens its baseline file in a task of its own,
            # so it may appear after the first polls.
            center.subscribe(self.monitor)
            center.observe_threadsafe(snapshot.samples)
            self._feeds_alerts = True
        self.latest = snapshot
        self.slow_queries.add(snapshot.slow_app_queries, snapshot.at)
        for key, x, y in plot_points(snapshot):
            history = self.plot_history.get(key)
            if history is None:
                history = self.plot_history[key] = collections.deque(
                    maxlen=HISTORY_SAMPLES
                )
            history.append((x, y))
        for listener in list(self._listeners):
            listener(snapshot)
        self._arm(self._delay())

    def _note_stall(self) -> None:
        """Keep a record of a poll that ran late, in the log and the messages."""
        started, self.poll_started = self.poll_started, None
        if started is None:
            return
        now = time.time()
        if now - started < self.stale_after():
            return
        last = self.latest.at if self.latest is not None else started
        log.warning("monitor poll ran for %.0f s", now - started)
        self.app.notify(
            f"no data from {_clock_time(last)} to {_clock_time(now)}: a poll"
            f" waited {now - started:.0f} s for the server",
            title="Performance data was stale",
            severity="warning",
            markup=False,
        )

    def _failed(self, exc: BaseException) -> None:
        self._polling = False
        self._note_stall()
        self.app.notify(
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            title="Performance monitor failed",
            severity="error",
            markup=False,
        )
        self._arm(max(self.interval, 5.0))


def _clock_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


def default_monitor_factory(settings: Settings) -> Callable[[str | None], Monitor]:
    """Build monitors on the app's connection string, or on ``settings``."""

    def build(conninfo: str | None) -> Monitor:
        return Monitor(None, settings, conninfo=conninfo or server_conninfo(settings))

    return build


def start_monitor(app: App[Any], settings: Settings) -> MonitorService:
    """Create and start the app's monitor service; also set ``app.monitor_service``."""
    service = MonitorService(app, settings)
    app.monitor_service = service  # type: ignore[attr-defined]
    service.start()
    return service


@dataclasses.dataclass
class SnapshotArrived(Message):
    snapshot: Snapshot


@dataclasses.dataclass
class StatementsView:
    """The Statements tab's sort and text filter, kept while the app runs.

    The screen is built anew each time it opens, so it restores these from
    the app (:func:`statements_view`) instead of starting over at ``total``.
    """

    sort: str = "total"
    text_filter: str = ""


K = TypeVar("K")


def _kept_on_app(app: App[Any], name: str, kind: Callable[[], K]) -> K:
    """Return the app's attribute ``name``, set to ``kind()`` on first use.

    The screen is built anew each time it opens; what must outlive it is
    kept on the app.
    """
    value = getattr(app, name, None)
    if value is None:
        value = kind()
        setattr(app, name, value)
    return cast(K, value)


def statements_view(app: App[Any]) -> StatementsView:
    """Return the app's :class:`StatementsView`, creating it on first use."""
    return _kept_on_app(app, "performance_statements_view", StatementsView)


@dataclasses.dataclass(frozen=True, eq=False)
class ExplainJob:
    """One EXPLAIN that runs in a thread worker of the app."""

    query_text: str
    analyze: bool
    started: dt.datetime
    """Local time the EXPLAIN started."""
    stopper: ExplainStopper = dataclasses.field(default_factory=ExplainStopper)

    @property
    def heading(self) -> str:
        return "EXPLAIN ANALYZE" if self.analyze else "EXPLAIN"


@dataclasses.dataclass
class ExplainJobs:
    """The app's running EXPLAINs and the latest plan that finished out of view.

    EXPLAIN ANALYZE takes as long as its query, and the user may leave the
    screen meanwhile. The screen is built anew each time it opens, so these
    live on the app, and the next Performance screen shows the waiting plan.
    """

    running: list[ExplainJob] = dataclasses.field(default_factory=list)
    unseen: tuple[ExplainJob, ExplainResult] | None = None
    """The latest plan that finished while no Performance screen was in view."""


Explain = Callable[[bool, ExplainStopper], ExplainResult]
"""An EXPLAIN of one query, given ``analyze`` and the job's stopper."""


def explain_jobs(app: App[Any]) -> ExplainJobs:
    """Return the app's :class:`ExplainJobs`, creating it on first use."""
    return _kept_on_app(app, "performance_explain_jobs", ExplainJobs)


def performance_in_view(app: App[Any]) -> PerformanceScreen | None:
    """Return the Performance screen under the dialogs on top, if it is there."""
    for screen in reversed(app.screen_stack):
        if isinstance(screen, PerformanceScreen):
            return screen
        if not isinstance(screen, ModalScreen):
            return None
    return None


def start_explain(
    app: App[Any], explain: Callable[[ExplainStopper], ExplainResult], job: ExplainJob
) -> None:
    """Run ``explain`` in a thread worker of the app, not of the screen.

    A screen's workers are cancelled when it closes, and the result of an
    EXPLAIN ANALYZE that finishes afterwards must still reach the user.
    """
    jobs = explain_jobs(app)
    jobs.running.append(job)
    _show_running_explains(app)

    def run() -> None:
        outcome: ExplainResult | Exception
        try:
            outcome = explain(job.stopper)
        except Exception as exc:
            outcome = exc
        app.call_from_thread(_finish_explain, app, job, outcome)

    app.run_worker(
        run, name="explain", group="explain", thread=True, exit_on_error=False
    )


def stop_explains(app: App[Any]) -> list[ExplainJob]:
    """Stop every running EXPLAIN from a thread worker; return the jobs.

    Each job's worker then reports it stopped, or its plan when it finished
    before the cancel reached the server.
    """
    running = [job for job in explain_jobs(app).running if not job.stopper.requested]
    if not running:
        return []

    def stop() -> None:
        for job in running:
            job.stopper.stop()

    app.run_worker(
        stop, name="stop-explain", group="explain", thread=True, exit_on_error=False
    )
    return running


def _show_running_explains(app: App[Any]) -> None:
    for screen in app.screen_stack:
        if isinstance(screen, PerformanceScreen):
            screen.show_running_explains()


def _finish_explain(
    app: App[Any], job: ExplainJob, outcome: ExplainResult | Exception
) -> None:
    """Show the plan or the failure of ``job``, on the UI thread."""
    jobs = explain_jobs(app)
    if job in jobs.running:
        jobs.running.remove(job)
    _show_running_explains(app)
    in_view = performance_in_view(app) is not None
    if isinstance(outcome, ExplainResult):
        if in_view:
            app.push_screen(PlanScreen(job.query_text, outcome))
            return
        jobs.unseen = (job, outcome)
        app.notify(
            f"{job.heading} of {clip(job.query_text, 60)} finished at"
            f" {dt.datetime.now():%H:%M:%S}: its plan is ready, press p to see"
            " it on the Performance screen",
            title="Plan ready",
            markup=False,
        )
        return
    if isinstance(outcome, ExplainStopped):
        undone = " and its changes rolled back" if job.analyze else ""
        app.notify(
            f"{job.heading} of {clip(job.query_text, 60)} stopped{undone}",
            title="EXPLAIN stopped",
            markup=False,
        )
        return
    if isinstance(outcome, ExplainError):
        if outcome.hint is not None and in_view:
            # A hint with a statement to run by hand is too long for a
            # notification, and the user may want to copy it.
            app.push_screen(
                TextScreen("Cannot explain", f"{outcome}\n\n{outcome.hint}")
            )
            return
        app.notify(
            str(outcome), title="Cannot explain", severity="warning", markup=False
        )
        return
    app.notify(
        str(outcome).splitlines()[0] if str(outcome) else type(outcome).__name__,
        title=f"{job.heading} failed",
        severity="error",
        markup=False,
    )


_QUERY_TABS = frozenset({"tab-statements", "tab-activity", "tab-app"})

TABS = (
    ("tab-statements", "Statements"),
    ("tab-activity", "Activity"),
    ("tab-database", "Database"),
    ("tab-app", "App"),
    ("tab-memory", "Memory"),
    ("tab-caches", "Caches"),
    ("tab-ingest", "Ingest"),
    ("tab-alerts", "Alerts"),
    ("tab-charts", "Charts"),
)
"""Tab ids and titles in order: the digit keys 1 to 9 show them."""


def tab_label(tab: str) -> str:
    """Return the tab's label: its digit key in bold, then its title.

    No space follows the digit, because nine labels such as ``1 Statements``
    would not fit in 80 columns.
    """
    for index, (tab_id, title) in enumerate(TABS, start=1):
        if tab_id == tab:
            return f"[b]{index}[/b]{title}"
    raise KeyError(tab)


ROW_ACTIONS = frozenset(
    {"full_text", "explain", "explain_analyze", "cancel_backend", "terminate_backend"}
)
"""Actions on the selected row of the active tab's table."""

ROW_TABLES = {
    "tab-statements": "#statements",
    "tab-activity": "#activity",
    "tab-app": "#slow",
    "tab-alerts": "#alerts",
}
"""The table whose selected row a row action uses, by tab."""


class PerformanceScreen(DashboardScreen):
    """Live database and application performance, refreshed every poll."""

    TITLE = "Performance"
    FILTER_ACTION = "filter"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Two bindings of space, so the footer names what it does now.
        Binding("space", "pause", "Pause", id="perf-pause"),
        Binding("space", "resume", "Resume", id="perf-resume"),
        # The summary line shows the interval, so these two stay off the footer.
        Binding(
            "plus,equals_sign",
            "faster",
            "Faster",
            key_display="+",
            show=False,
            id="perf-faster",
        ),
        Binding(
            "minus", "slower", "Slower", key_display="-", show=False, id="perf-slower"
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            priority=True,
            id="perf-filter",
        ),
        # The screen's own / hides the app's, so on the tabs without a filter
        # this one opens the Search screen. Off the footer, as on other screens.
        Binding(
            "slash",
            "search",
            "Search",
            key_display="/",
            priority=True,
            show=False,
            id="perf-search",
        ),
        Binding("s", "cycle_sort", "Sort", id="perf-sort"),
        Binding("enter", "full_text", "Query", id="perf-full-text"),
        Binding("e", "explain", "Explain", id="perf-explain"),
        # Off the footer, which has no room for it next to e on 80 columns.
        Binding("A", "explain_analyze", "Analyze", show=False, id="perf-analyze"),
        # The line of running EXPLAINs names this key while it is shown.
        Binding("k", "stop_explains", "Stop EXPLAIN", show=False, id="perf-stop"),
        Binding("c", "cancel_backend", "Cancel", id="perf-cancel"),
        Binding("x", "terminate_backend", "Terminate", id="perf-terminate"),
        Binding("t", "toggle_trace", "Trace", id="perf-trace"),
        # Off the footer like the battle report's: the tab labels show the digits.
        *(
            Binding(
                str(index),
                f"show_tab('{tab_id}')",
                f"{title} tab",
                show=False,
                id=f"perf-{tab_id}",
            )
            for index, (tab_id, title) in enumerate(TABS, start=1)
        ),
    ]
    TAB_ACTIONS: ClassVar[Mapping[str, frozenset[str]]] = {
        "filter": frozenset({"tab-statements"}),
        "search": frozenset(tab for tab, _title in TABS) - {"tab-statements"},
        "cycle_sort": frozenset({"tab-statements"}),
        "full_text": _QUERY_TABS | {"tab-alerts"},
        "explain": _QUERY_TABS,
        "explain_analyze": _QUERY_TABS,
        "cancel_backend": frozenset({"tab-activity"}),
        "terminate_backend": frozenset({"tab-activity"}),
        "toggle_trace": frozenset({"tab-memory"}),
    }
    DEFAULT_CSS = """
    /* One row: a long disconnection error ends in an ellipsis. */
    PerformanceScreen #perf-summary {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    PerformanceScreen TabbedContent {
        height: 1fr;
    }
    PerformanceScreen TabPane {
        padding: 0;
    }
    /* One column between labels, so all nine fit in 80 columns. */
    PerformanceScreen Tab {
        padding: 0 0 0 1;
    }
    PerformanceScreen .perf-problem {
        height: auto;
        padding: 0 1;
        color: $text-warning;
    }
    PerformanceScreen .perf-problem.-none {
        display: none;
    }
    PerformanceScreen .perf-line {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    /* Wraps, so a long reason the rates are not trusted stays readable. */
    PerformanceScreen #statements-state {
        height: auto;
    }
    /* Cut with an ellipsis: the Alerts tab lists every chain on a row. */
    PerformanceScreen #activity-chains {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    PerformanceScreen #explain-running {
        display: none;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    PerformanceScreen #explain-running.-shown {
        display: block;
    }
    PerformanceScreen .perf-text {
        height: auto;
        padding: 0 1;
    }
    PerformanceScreen KeyedTable {
        height: 1fr;
    }
    PerformanceScreen #statement-filter {
        display: none;
    }
    PerformanceScreen #statement-filter.-shown {
        display: block;
    }
    PerformanceScreen SeriesPlot {
        height: 1fr;
        min-height: 5;
    }
    """

    def __init__(
        self, *, service: MonitorService | None = None, live: bool = True
    ) -> None:
        super().__init__()
        self._service = service
        self.live = live
        """False shows only snapshots given to :meth:`show_snapshot` (tests)."""
        self.snapshot: Snapshot | None = None
        self._last_ingest: IngestHealth | None = None
        """Ingest figures of the latest snapshot that had them, shown with
        their age while the monitor is disconnected."""
        self._alert_rows: list[perf_rows.Row] = []
        """Rows of the Alerts tab with whole messages, cut to fit on display."""
        self.sort = "total"
        """The Statements tab's sort field, restored from the app on mount."""
        self.text_filter = ""
        """The Statements tab's text filter, restored from the app on mount."""
        self._stop_listening: Callable[[], None] | None = None
        self._own_slow_queries = RecentSlowQueries()
        """The slow queries of shown snapshots, without a service."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("waiting for the first poll…"), id="perf-summary")
        yield Static(classes="perf-line", id="explain-running")
        with TabbedContent(id="perf-tabs"):
            with TabPane(tab_label("tab-statements"), id="tab-statements"):
                yield Static(classes="perf-problem -none", id="statements-problem")
                yield Static(classes="perf-line", id="statements-state")
                yield FilterInput(
                    placeholder="filter query text, enter to apply",
                    id="statement-filter",
                )
                yield QueryTable(perf_rows.STATEMENT_COLUMNS, id="statements")
            with TabPane(tab_label("tab-activity"), id="tab-activity"):
                yield Static(classes="perf-problem -none", id="activity-problem")
                yield Static(classes="perf-line", id="activity-chains")
                yield QueryTable(perf_rows.ACTIVITY_COLUMNS, id="activity")
                yield Static(classes="perf-line", id="activity-owner")
            with TabPane(tab_label("tab-database"), id="tab-database"):
                yield Static(classes="perf-text", id="database-text")
                yield Static(classes="perf-problem -none", id="tables-problem")
                yield Static(classes="perf-line", id="hints-state")
                yield KeyedTable(perf_rows.HINT_COLUMNS, id="hints")
            with TabPane(tab_label("tab-app"), id="tab-app"):
                yield KeyedTable(perf_rows.OPERATION_COLUMNS, id="operations")
                yield Static(classes="perf-line", id="slow-state")
                yield QueryTable(perf_rows.SLOW_COLUMNS, id="slow")
            with TabPane(tab_label("tab-memory"), id="tab-memory"):
                yield Static(classes="perf-text", id="memory-text")
                yield KeyedTable(perf_rows.BACKEND_COLUMNS, id="backends")
            with TabPane(tab_label("tab-caches"), id="tab-caches"):
                yield KeyedTable(perf_rows.CACHE_COLUMNS, id="caches")
            with TabPane(tab_label("tab-ingest"), id="tab-ingest"):
                yield Static(classes="perf-problem -none", id="ingest-problem")
                yield Static(classes="perf-text", id="ingest-text")
            with TabPane(tab_label("tab-alerts"), id="tab-alerts"):
                yield MessageTable(perf_rows.ALERT_COLUMNS, id="alerts")
            with TabPane(tab_label("tab-charts"), id="tab-charts"), Vertical():
                yield SeriesPlot(
                    "transactions per second",
                    time_axis=True,
                    y_label="tps",
                    max_samples=HISTORY_SAMPLES,
                    id="plot-tps",
                )
                yield SeriesPlot(
                    "mean statement time",
                    time_axis=True,
                    y_label="ms",
                    max_samples=HISTORY_SAMPLES,
                    id="plot-mean",
                )
                yield SeriesPlot(
                    "app memory (RSS)",
                    time_axis=True,
                    y_label="MiB",
                    max_samples=HISTORY_SAMPLES,
                    id="plot-memory",
                )

    def on_mount(self) -> None:
        view = statements_view(self.app)
        self.sort = view.sort
        self.text_filter = view.text_filter
        self._focus_active_tab()
        if not self.live:
            return
        service = self._service or getattr(self.app, "monitor_service", None)
        if service is None:
            service = start_monitor(self.app, self.evedmv_app.settings)
        self._service = service
        self._stop_listening = service.listen(self._post_snapshot)
        self._enable_allocation_sites()
        self.set_interval(1.0, self._show_summary, name="perf-staleness")

    def on_screen_resume(self) -> None:
        self._enable_allocation_sites()
        self.show_running_explains()
        jobs = explain_jobs(self.app)
        if jobs.unseen is not None:
            job, result = jobs.unseen
            jobs.unseen = None
            self.app.push_screen(PlanScreen(job.query_text, result))

    def show_running_explains(self) -> None:
        """Show the line of running EXPLAINs, or hide it when none runs."""
        running = explain_jobs(self.app).running
        line = self.query_one("#explain-running", Static)
        line.set_class(bool(running), "-shown")
        if running:
            first = running[0]
            text = (
                f"{first.heading} running since {first.started:%H:%M:%S}"
                f" (k stops it): {clip(first.query_text, 200)}"
            )
            if len(running) > 1:
                text = f"{len(running)} EXPLAINs running, k stops them; {text}"
            line.update(Text(text))

    def on_screen_suspend(self) -> None:
        if self._service is not None:
            self._service.allocation_sites_enabled = False

    def _enable_allocation_sites(self) -> None:
        """Let polls take tracemalloc snapshots only while the Memory tab shows."""
        if self._service is None or not self.is_current:
            return
        tabbed = self.query_one("#perf-tabs", TabbedContent)
        self._service.allocation_sites_enabled = tabbed.active == "tab-memory"

    def on_tabbed_content_tab_activated(
        self, event: TabbedContent.TabActivated
    ) -> None:
        # Arrows on the tab bar switch tabs and keep the focus there, so the
        # next arrow switches again. Any other change moves the focus into the tab.
        self._enable_allocation_sites()
        if not isinstance(self.focused, Tabs):
            self._focus_active_tab()
        if event.pane.id == "tab-app":
            self._reveal_operation_problems()

    def _reveal_operation_problems(self) -> None:
        """Move the cursor to the first operation in error or warning if it is
        out of view, as after End: the rows list those first."""
        snapshot = self.snapshot
        if snapshot is None:
            return
        first = next(
            (
                index
                for index, row in enumerate(snapshot.operations)
                if row.severity != Severity.OK
            ),
            None,
        )
        table = self.query_one("#operations", KeyedTable)
        if first is None or first >= table.row_count:
            return
        rows_shown = table.scrollable_content_region.height - table.header_height
        if not table.scroll_y <= first < table.scroll_y + rows_shown:
            table.move_cursor(row=first)

    def _focus_active_tab(self) -> None:
        """Focus the first table of the active tab, or the tab bar if it has none.

        The arrows, enter and e then act on the row the cursor shows.
        """
        tabbed = self.query_one("#perf-tabs", TabbedContent)
        pane = tabbed.get_pane(str(tabbed.active))
        tables = pane.query(KeyedTable)
        if tables:
            tables.first().focus()
        else:
            tabbed.query_one(Tabs).focus()

    def on_unmount(self) -> None:
        if self._service is not None:
            self._service.allocation_sites_enabled = False
        if self._stop_listening is not None:
            self._stop_listening()

    def _post_snapshot(self, snapshot: Snapshot) -> None:
        self.post_message(SnapshotArrived(snapshot))

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.show_snapshot(message.snapshot)

    # -- rendering --------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._service.paused if self._service is not None else False

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Refresh every panel from ``snapshot``, keeping cursors by row key."""
        self.snapshot = snapshot
        self._show_summary()
        self._show_problem("#statements-problem", snapshot, "statements")
        self._show_problem("#activity-problem", snapshot, "activity")
        self._show_problem("#tables-problem", snapshot, "tables")
        self._show_problem("#ingest-problem", snapshot, "ingest")
        self._render_statements()

        running = perf_rows.activity_rows(snapshot)
        self._update_query_table(
            "#activity",
            running,
            perf_rows.ACTIVITY_COLUMNS,
            narrowable=NARROWABLE_ACTIVITY_COLUMNS,
        )
        if snapshot.activity is not None and snapshot.activity.chains:
            chain_text = perf_rows.blocking_text(snapshot.activity)
        elif not snapshot.connected:
            chain_text = "not connected: the list returns when the monitor reconnects"
        elif not running and snapshot.activity is not None and snapshot.activity.hidden:
            chain_text = (
                "no visible query is running; other roles' sessions are hidden"
                " (see above)"
            )
        elif not running:
            chain_text = "no query is running; idle sessions are not listed"
        else:
            chain_text = (
                "no blocked backends · c cancels, x terminates the selected backend"
            )
        self.query_one("#activity-chains", Static).update(Text(chain_text))
        self._show_backend_owner()

        self.query_one("#database-text", Static).update(
            perf_rows.database_text(snapshot)
        )
        self._show_hints()
        self.query_one("#operations", KeyedTable).update_rows(
            perf_rows.operation_rows(snapshot)
        )
        self._slow_queries().add(snapshot.slow_app_queries, snapshot.at)
        self._show_slow_queries()

        self._show_memory()
        self.query_one("#backends", KeyedTable).update_rows(
            perf_rows.backend_rows(snapshot)
        )
        self.query_one("#caches", KeyedTable).update_rows(
            perf_rows.cache_rows(snapshot)
        )
        if snapshot.ingest is not None:
            self._last_ingest = snapshot.ingest
        self.query_one("#ingest-text", Static).update(
            perf_rows.ingest_text(snapshot, self._last_ingest)
        )
        self._alert_rows = self._regression_rows(snapshot) + perf_rows.alert_rows(
            self._with_lost_time(snapshot)
        )
        self._show_alerts()
        self._add_plot_points(snapshot)

    def on_resize(self, event: events.Resize) -> None:
        # DashboardScreen.on_resize runs too, since Textual calls the handler
        # of every class in the MRO.
        self._show_alerts()
        self._show_memory()
        if self.snapshot is not None:
            self._render_statements()
            self._show_hints()
            self._show_slow_queries()
            self._update_query_table(
                "#activity",
                perf_rows.activity_rows(self.snapshot),
                perf_rows.ACTIVITY_COLUMNS,
                narrowable=NARROWABLE_ACTIVITY_COLUMNS,
            )

    def _update_query_table(
        self,
        selector: str,
        rows: list[perf_rows.Row],
        columns: tuple[tuple[str, str], ...],
        *,
        narrowable: frozenset[str] = frozenset(),
        refit: bool = True,
        cut_column: int = -1,
    ) -> None:
        """Fill a table, cutting the text of column ``cut_column`` with ``…`` to fit.

        By default the cut column is the last one, a query. DataTable crops
        a cell at the table's edge with no mark, so the text is cut here
        instead. The width keeps room for the vertical scrollbar whether it
        shows or not. The ``narrowable`` columns are cut first, so that the
        last column keeps :data:`MIN_QUERY_WIDTH` columns.
        """
        table = self.query_one(selector, KeyedTable)
        width = self.size.width - table.styles.scrollbar_size_vertical
        if narrowable:
            rows = narrow_columns(
                rows, columns, narrowable, width, table.cell_padding, MIN_QUERY_WIDTH
            )
        shown = [column.content_width for column in table.ordered_columns]
        table.update_rows(
            perf_rows.fit_column_cells(
                rows,
                columns,
                cut_column % len(columns),
                width,
                table.cell_padding,
                shown_widths=shown,
            )
        )
        if narrowable and refit:
            # DataTable measures its columns again when it is idle, so cells
            # cut narrower leave the query more room only after that.
            self.call_after_refresh(
                self._refit_query_table, selector, rows, columns, narrowable, shown
            )

    def _refit_query_table(
        self,
        selector: str,
        rows: list[perf_rows.Row],
        columns: tuple[tuple[str, str], ...],
        narrowable: frozenset[str],
        shown: list[int],
    ) -> None:
        """Fill the table again if its columns changed width since ``shown``."""
        table = self.query_one(selector, KeyedTable)
        if shown != [column.content_width for column in table.ordered_columns]:
            self._update_query_table(
                selector, rows, columns, narrowable=narrowable, refit=False
            )

    def _show_memory(self) -> None:
        """Fill the Memory tab's text, one allocation site per line.

        The text's padding takes one column on each side of the screen.
        """
        if self.snapshot is None:
            return
        self.query_one("#memory-text", Static).update(
            perf_rows.memory_text(
                self.snapshot,
                tracing=memory_mod.is_tracing(),
                width=self.size.width - 2,
            )
        )

    def _show_alerts(self) -> None:
        """Fill the Alerts table, cutting messages with an ellipsis to fit.

        Without the cut, a long message ran past the right edge with no mark.
        The cut keeps the widths that the Sev and Panel columns still have
        from rows that have left, such as a ``✖ critical`` regression.
        """
        self._update_query_table("#alerts", self._alert_rows, perf_rows.ALERT_COLUMNS)

    def _show_hints(self) -> None:
        """Fill the Database tab's tables that may lack an index.

        Long table names are cut, so the figures after them stay in view.
        """
        if self.snapshot is None:
            return
        hints = perf_rows.hint_rows(self.snapshot)
        self.query_one("#hints-state", Static).update(perf_rows.hints_state(len(hints)))
        self._update_query_table("#hints", hints, perf_rows.HINT_COLUMNS, cut_column=0)

    def _show_slow_queries(self) -> None:
        """Fill the App tab's slow application queries of the last minutes.

        The Query column is cut, so the At column keeps the whole time.
        """
        if self.snapshot is None:
            return
        slow = perf_rows.slow_rows(
            dataclasses.replace(
                self.snapshot, slow_app_queries=self._slow_queries().listed()
            )
        )
        minutes = f"{SLOW_QUERY_KEEP_SECONDS / 60:g} min"
        self.query_one("#slow-state", Static).update(
            f"slow application queries of the last {minutes}, newest first (e explains)"
            if slow
            else "slow application queries: none over"
            f" {self.evedmv_app.settings.slow_warning_seconds:g} s in the last"
            f" {minutes}"
        )
        query = [key for key, _label in perf_rows.SLOW_COLUMNS].index("name")
        self._update_query_table(
            "#slow", slow, perf_rows.SLOW_COLUMNS, cut_column=query
        )

    def _app_lost_at(self) -> float | None:
        """Return the epoch time the app's own connection was lost, if it is."""
        connection = self.evedmv_app.status.connection
        if connection.phase != "disconnected" or connection.since is None:
            return None
        return connection.since.timestamp()

    def _with_lost_time(self, snapshot: Snapshot) -> Snapshot:
        """Give the connection alert the summary line's time of the loss.

        The app's check and the monitor's poll notice a loss a few seconds
        apart. The summary line, the header and the status bar give the
        earlier time, so the alert does too.
        """
        app_lost_at = self._app_lost_at()
        if snapshot.connected or app_lost_at is None:
            return snapshot
        lost_at = min(snapshot.disconnected_since or snapshot.at, app_lost_at)
        message = f"disconnected since {_clock_time(lost_at)}: {snapshot.error}"
        alerts = [
            dataclasses.replace(alert, message=message)
            if alert.source == "connection"
            else alert
            for alert in snapshot.alerts
        ]
        return dataclasses.replace(snapshot, alerts=alerts)

    def _regression_rows(self, snapshot: Snapshot) -> list[perf_rows.Row]:
        """Return rows for the open regression alerts of the app's alert centre.

        NOTE: the centre judges a poll's samples while the screen shows that
        poll, so an alert the poll opened may appear one poll later.
        """
        return perf_rows.regression_rows(self._open_regressions(), snapshot.at)

    def _open_regressions(self) -> list[Alert]:
        """Return the open regression alerts of the app's alert centre, if any."""
        center = getattr(self.app, "alert_center", None)
        return [] if center is None else center.service.active()

    def _show_problem(self, selector: str, snapshot: Snapshot, panel: str) -> None:
        widget = self.query_one(selector, Static)
        text = perf_rows.problems_text(snapshot, panel)
        widget.update(text or "")
        widget.set_class(text is None, "-none")

    def _render_statements(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        rows = perf_rows.statement_rows(
            snapshot, sort=self.sort, text_filter=self.text_filter
        )
        self.query_one("#statements-state", Static).update(
            perf_rows.statements_state(
                snapshot,
                self.sort,
                self.text_filter,
                empty=not rows,
                # The line's padding takes one column on each side.
                width=self.size.width - 2,
            )
        )
        self._update_query_table("#statements", rows, perf_rows.STATEMENT_COLUMNS)
        # Row actions show only while the active tab's table has a row, and a
        # poll or the filter may have emptied or filled the tables.
        self.refresh_bindings()

    def _add_plot_points(self, snapshot: Snapshot) -> None:
        """Plot ``snapshot``, or the service's whole history when there is one.

        The screen is built anew each time it opens, while the service keeps
        polling, so its history has the polls made while the screen was closed.
        """
        plots = list(self.query(SeriesPlot))
        for plot in plots:
            plot.aligned_plots = tuple(plots)
        if self._service is None:
            for (plot_id, series), x, y in plot_points(snapshot):
                self.query_one(f"#{plot_id}", SeriesPlot).add_sample(series, x, y)
            histories = [h for plot in plots for h in plot.series.values() if h]
        else:
            histories = [h for h in self._service.plot_history.values() if h]
        # Each plot would fit its time axis to its own points, and a plot
        # with no point in the newest or oldest polls would place one moment
        # at another column than the others.
        time_range = (
            (min(h[0][0] for h in histories), max(h[-1][0] for h in histories))
            if histories
            else None
        )
        for plot in plots:
            plot.time_range = time_range
        if self._service is None:
            for plot in plots:
                plot.redraw()
            return
        for (plot_id, series), points in self._service.plot_history.items():
            self.query_one(f"#{plot_id}", SeriesPlot).set_series(series, points)

    # -- actions ----------------------------------------------------------

    def _active_tab(self) -> str:
        return str(self.query_one(TabbedContent).active)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        if action == "search":
            return any(e.name == "search" for e in self.evedmv_app.screen_entries)
        if action in ROW_ACTIONS:
            selector = ROW_TABLES.get(self._active_tab())
            if (
                selector is not None
                and not self.query_one(selector, KeyedTable).row_count
            ):
                return False
        return allowed

    def action_pause(self) -> None:
        self._set_paused(True)

    def action_resume(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        if self._service is None:
            return
        self._service.set_paused(paused)
        self._show_summary()
        self.refresh_bindings()
        self.notify("polling paused" if paused else "polling resumed", timeout=2)

    def _step_interval(self, direction: int) -> None:
        if self._service is None:
            return
        current = self._service.interval
        if direction > 0:
            faster = [s for s in INTERVAL_STEPS if s < current]
            new = faster[-1] if faster else INTERVAL_STEPS[0]
        else:
            slower = [s for s in INTERVAL_STEPS if s > current]
            new = slower[0] if slower else INTERVAL_STEPS[-1]
        self._service.set_interval(new)
        self._show_summary()
        self.notify(f"polling every {new:g} s", timeout=2)

    def _show_summary(self) -> None:
        stale_since = (
            self._service.stale_since()
            if self._service is not None and not self.paused
            else None
        )
        if stale_since is not None and self._service is not None:
            self.query_one("#perf-summary", Static).update(
                self._stale_text(stale_since)
            )
            return
        if self.snapshot is None:
            return
        interval = self._service.interval if self._service is not None else None
        app_lost_at = self._app_lost_at()
        self.query_one("#perf-summary", Static).update(
            perf_rows.summary_text(
                self.snapshot,
                paused=self.paused,
                interval=interval,
                app_lost_at=app_lost_at,
                regression_alerts=self._open_regressions(),
            )
        )

    def _stale_text(self, stale_since: float) -> Text:
        """Return the summary line for data that a late poll has not replaced."""
        started = self._service.poll_started if self._service else None
        running = time.time() - started if started is not None else 0.0
        return Text(
            f"⚠ data stale since {_clock_time(stale_since)}: the poll has"
            f" waited {running:.0f} s for the server",
            style="bold",
        )

    def action_show_tab(self, tab: str) -> None:
        """Show ``tab`` and focus its first table, or the tab bar if it has none."""
        self.query_one("#perf-tabs", TabbedContent).active = tab
        self._focus_active_tab()

    def action_faster(self) -> None:
        self._step_interval(+1)

    def action_slower(self) -> None:
        self._step_interval(-1)

    def action_filter(self) -> None:
        self.query_one(TabbedContent).active = "tab-statements"
        field = self.query_one("#statement-filter", Input)
        field.add_class("-shown")
        field.value = self.text_filter
        self.evedmv_app.hold_keys_for(field)
        field.focus()

    def action_search(self) -> None:
        self.evedmv_app.open_screen("search")

    def on_filter_input_closed(self, event: FilterInput.Closed) -> None:
        """Close the filter field and keep the filter that was applied."""
        event.field.remove_class("-shown")
        self.query_one("#statements", KeyedTable).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "statement-filter":
            return
        self.text_filter = event.value.strip()
        statements_view(self.app).text_filter = self.text_filter
        event.input.remove_class("-shown")
        self.query_one("#statements", KeyedTable).focus()
        self._render_statements()

    def action_cycle_sort(self) -> None:
        index = SORT_FIELDS.index(self.sort)
        self.sort = SORT_FIELDS[(index + 1) % len(SORT_FIELDS)]
        statements_view(self.app).sort = self.sort
        self._render_statements()

    def _selected_statement(self) -> Any:
        snapshot = self.snapshot
        key = self.query_one("#statements", KeyedTable).cursor_key
        if snapshot is None or key is None:
            return None
        for view in snapshot.statements:
            if view.row_key == key:
                return view
        return None

    def _selected_backend(self) -> Backend | None:
        snapshot = self.snapshot
        key = self.query_one("#activity", KeyedTable).cursor_key
        if snapshot is None or snapshot.activity is None or key is None:
            return None
        for running in snapshot.activity.running:
            if str(running.backend.pid) == key:
                return running.backend
        return None

    def _slow_queries(self) -> RecentSlowQueries:
        if self._service is not None:
            return self._service.slow_queries
        return self._own_slow_queries

    def _selected_slow_query(self) -> Any:
        key = self.query_one("#slow", KeyedTable).cursor_key
        if key is None:
            return None
        for slow in self._slow_queries().listed():
            if slow_query_key(slow.record) == key:
                return slow.record
        return None

    def action_full_text(self) -> None:
        tab = self._active_tab()
        if tab == "tab-statements":
            view = self._selected_statement()
            if view is not None:
                title = (
                    "other roles (hidden)"
                    if view.delta.hidden
                    else f"queryid {view.queryid}"
                )
                self.app.push_screen(
                    TextScreen(title, view.query or "(text not available)")
                )
        elif tab == "tab-activity":
            backend = self._selected_backend()
            if backend is not None:
                self.app.push_screen(
                    TextScreen(
                        f"backend {backend.pid}", perf_rows.backend_detail(backend)
                    )
                )
        elif tab == "tab-app":
            record = self._selected_slow_query()
            if record is not None:
                self.app.push_screen(
                    TextScreen(
                        f"{record.operation}: {record.name}",
                        f"{record.sql}\n\nparameters: {record.params!r}",
                    )
                )
        elif tab == "tab-alerts":
            self._show_whole_alert()

    def _show_whole_alert(self) -> None:
        """Show the selected alert's message, which the table may have cut."""
        key = self.query_one("#alerts", KeyedTable).cursor_key
        for row_key, cells in self._alert_rows:
            if row_key == key:
                _severity, source, message = cells
                self.app.push_screen(TextScreen(f"{source} alert", str(message)))
                return

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "activity":
            self._show_backend_owner()

    def _show_backend_owner(self) -> None:
        self.query_one("#activity-owner", Static).update(
            perf_rows.backend_owner_line(self._selected_backend())
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # A focused table takes enter itself; show the full text from here.
        if event.data_table.id in {"statements", "activity", "slow", "alerts"}:
            self.action_full_text()

    def action_explain(self) -> None:
        target = self._explain_target()
        if target is None:
            return
        explain, text = target
        self._start_explain(explain, text, analyze=False)

    def action_explain_analyze(self) -> None:
        target = self._explain_target()
        if target is None:
            return
        explain, text = target
        # A slow application query carries its real parameter values. Other
        # texts are checked now, so a rejection comes before the question.
        if self._active_tab() != "tab-app":
            try:
                check_analyzable(text)
            except ExplainError as exc:
                self.notify(
                    str(exc), title="Cannot explain", severity="warning", markup=False
                )
                return

        def answered(yes: bool | None) -> None:
            if yes:
                job = self._start_explain(explain, text, analyze=True)
                self.notify(
                    f"running EXPLAIN ANALYZE of {clip(text, 60)} (started"
                    f" {job.started:%H:%M:%S}); its plan opens when it finishes",
                    title="EXPLAIN ANALYZE",
                    markup=False,
                )

        self.app.push_screen(
            ConfirmScreen(
                "Run EXPLAIN ANALYZE on this query?",
                subject=text,
                warning="ANALYZE executes the statement: table changes are rolled"
                " back, but functions it calls with effects outside the"
                " transaction (such as pg_terminate_backend) still act, and it"
                " takes as long and as many locks as the real query",
            ),
            answered,
        )

    def action_stop_explains(self) -> None:
        stopping = stop_explains(self.app)
        if not stopping:
            self.notify("no EXPLAIN of this dashboard is running", severity="warning")
            return
        subject = (
            f"{stopping[0].heading} of {clip(stopping[0].query_text, 60)}"
            if len(stopping) == 1
            else f"{len(stopping)} EXPLAINs"
        )
        self.notify(f"stopping {subject}", title="EXPLAIN", markup=False)

    def _explain_target(
        self,
    ) -> tuple[Explain, str] | None:
        """Return the selected query's explain call (taking ``analyze``) and text.

        Without a monitor or a selected query whose text is visible, notify
        why and return None.
        """
        service = self._service
        monitor = service.monitor if service is not None else None
        if monitor is None:
            self.notify("the monitor is not connected yet", severity="warning")
            return None
        tab = self._active_tab()
        if tab == "tab-app":
            record = self._selected_slow_query()
            if record is None:
                self.notify("select a slow application query first", severity="warning")
                return None

            def explain_record(analyze: bool, stopper: ExplainStopper) -> ExplainResult:
                return monitor.explain_app_query(
                    record, analyze=analyze, stopper=stopper
                )

            return explain_record, record.sql
        if tab == "tab-activity":
            backend = self._selected_backend()
            if backend is None or not backend.query:
                self.notify(
                    "select a backend whose query is visible first", severity="warning"
                )
                return None
            text = backend.query
        elif tab == "tab-statements":
            view = self._selected_statement()
            if view is None or view.query is None or view.delta.hidden:
                self.notify(
                    "select a statement whose text is visible first",
                    severity="warning",
                )
                return None
            text = view.query
        else:
            self.notify(
                "EXPLAIN works on the Statements, Activity and App tabs",
                severity="warning",
            )
            return None

        def explain_text(analyze: bool, stopper: ExplainStopper) -> ExplainResult:
            return monitor.explain_statement(text, analyze=analyze, stopper=stopper)

        return explain_text, text

    def _start_explain(
        self, explain: Explain, text: str, *, analyze: bool
    ) -> ExplainJob:
        job = ExplainJob(text, analyze, dt.datetime.now())
        start_explain(self.app, lambda stopper: explain(analyze, stopper), job)
        return job

    def _signal_backend(self, terminate: bool) -> None:
        backend = self._selected_backend()
        if backend is None:
            self.notify(
                "no backend is selected; the list shows running queries only",
                severity="warning",
            )
            return
        verb = "Terminate" if terminate else "Cancel the query of"
        warning = (
            "the session ends and its open transaction rolls back"
            if terminate
            else "the running statement fails with 'canceling statement'"
        )

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            service = self._service
            monitor = service.monitor if service is not None else None
            if monitor is None:
                self.notify("the monitor is not connected yet", severity="warning")
                return
            self._run_signal(monitor, backend, terminate)

        self.app.push_screen(
            ConfirmScreen(
                f"{verb} backend {backend.pid} ({backend.identity})?",
                subject=backend.query or None,
                warning=warning,
            ),
            answered,
        )

    @work(thread=True, group="signal", exit_on_error=False)
    def _run_signal(self, monitor: Monitor, backend: Backend, terminate: bool) -> None:
        pid = backend.pid
        try:
            done = (
                monitor.terminate_backend(backend)
                if terminate
                else monitor.cancel_backend(backend)
            )
        except Exception as exc:
            self.app.call_from_thread(
                self.notify,
                str(exc).splitlines()[0],
                title="Signal failed",
                severity="error",
                markup=False,
            )
            return
        if done:
            what = "terminated" if terminate else "cancelled"
            message = f"backend {pid} ({backend.identity}) {what}"
        elif terminate:
            message = (
                f"backend {pid} was not signalled: it ended, or a new session"
                " took its pid"
            )
        else:
            message = (
                f"backend {pid} was not signalled: the query shown ended (the"
                " session may run another now), or a new session took its pid"
            )
        self.app.call_from_thread(
            self.notify,
            message,
            severity="information" if done else "warning",
            markup=False,
        )

    def action_cancel_backend(self) -> None:
        self._signal_backend(terminate=False)

    def action_terminate_backend(self) -> None:
        self._signal_backend(terminate=True)

    def action_toggle_trace(self) -> None:
        if memory_mod.is_tracing():
            memory_mod.stop_tracing()
            self.notify("tracemalloc stopped", timeout=2)
        else:
            memory_mod.start_tracing()
            interval = memory_mod.ALLOCATION_SITES_INTERVAL_SECONDS
            self.notify(
                "tracemalloc started: it slows every allocation, and this tab"
                f" reads the top allocation sites every {interval:.0f} s",
                timeout=4,
            )

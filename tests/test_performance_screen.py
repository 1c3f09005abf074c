"""The performance screen: Pilot tests on the live monitor and snapshot tests
of a recorded snapshot at 80x24 and 120x40, with NO_COLOR too.

Regenerate the pictures after an intended change with
``.venv/bin/pytest tests/test_performance_screen.py --snapshot-update``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from textual.app import App
from textual.widgets import Input, Static, TabbedContent, TabPane, Tabs, Tree

from evedmv_tui.app import EvedmvApp
from evedmv_tui.cache import CacheRegistry, CacheStats
from evedmv_tui.config import Settings
from evedmv_tui.monitor import memory as memory_mod
from evedmv_tui.monitor import report
from evedmv_tui.monitor.activity import (
    ActivitySummary,
    Backend,
    DatabaseBackends,
    RunningQuery,
)
from evedmv_tui.monitor.appside import CacheRow, OperationRow
from evedmv_tui.monitor.capabilities import MonitorCapabilities, PanelProblem
from evedmv_tui.monitor.delta import StatementDelta
from evedmv_tui.monitor.explain import ExplainResult, PlanNode
from evedmv_tui.monitor.findings import build_alerts
from evedmv_tui.monitor.memory import (
    MIB,
    AllocationSite,
    GcGeneration,
    ProcessMemory,
    Trend,
)
from evedmv_tui.monitor.poller import Monitor
from evedmv_tui.monitor.samples import Sample
from evedmv_tui.monitor.server import DatabaseRates
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import (
    Alert,
    MemoryView,
    PollCost,
    Snapshot,
    StatementView,
)
from evedmv_tui.monitor.statements import HIDDEN_LABEL, Counters, StatementKey
from evedmv_tui.screens import SCREENS
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.screens.performance import MonitorService, PerformanceScreen
from evedmv_tui.store.telemetry import Telemetry
from evedmv_tui.widgets import perf_rows
from evedmv_tui.widgets.perf_dialogs import ConfirmScreen, PlanScreen, TextScreen
from evedmv_tui.widgets.table import KeyedTable

OWN_SCREENS = tuple(entry for entry in SCREENS if entry.name in {"home", "performance"})


def fast(settings: Settings) -> Settings:
    return dataclasses.replace(settings, poll_interval=0.5)


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def wait_for(pilot: Any, condition: Any, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.1)


async def open_live(pilot: Any) -> PerformanceScreen:
    await settle(pilot)
    await pilot.press("p")
    screen = pilot.app.screen
    assert isinstance(screen, PerformanceScreen)
    await wait_for(
        pilot, lambda: screen.snapshot is not None and screen.snapshot.elapsed
    )
    return screen


@contextlib.contextmanager
def repeating(url: str, *statements: str) -> Iterator[None]:
    """Run ``statements`` every 0.1 s, so every poll interval has calls."""
    stop = threading.Event()

    def work() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                for statement in statements:
                    conn.execute(statement)
                stop.wait(0.1)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def table(screen: PerformanceScreen, selector: str) -> KeyedTable:
    return screen.query_one(selector, KeyedTable)


def static_text(screen: PerformanceScreen, selector: str) -> str:
    from textual.widgets import Static

    return str(screen.query_one(selector, Static).render())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_live_screen_shows_statements(
    settings: Settings, db_url: str, size: tuple[int, int]
) -> None:
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=size) as pilot:
        screen = await open_live(pilot)
        with psycopg.connect(db_url, autocommit=True) as conn:
            for _ in range(3):
                conn.execute("SELECT relname FROM pg_class WHERE oid = %s", (1259,))
        first = screen.snapshot
        await wait_for(pilot, lambda: screen.snapshot is not first)
        await wait_for(
            pilot,
            lambda: any(
                "pg_class WHERE oid" in (v.query or "")
                for v in screen.snapshot.statements  # type: ignore[union-attr]
            ),
        )
        assert table(screen, "#statements").row_keys
        assert "PostgreSQL" in static_text(screen, "#perf-summary")
        assert "trusted" in static_text(screen, "#statements-state")


async def test_pause_and_interval_keys(settings: Settings) -> None:
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        service = app.monitor_service  # type: ignore[attr-defined]
        await pilot.press("space")
        assert service.paused is True
        assert "paused" in static_text(screen, "#perf-summary")
        paused_at = screen.snapshot
        await pilot.pause(1.2)
        assert screen.snapshot is paused_at
        await pilot.press("space")
        assert service.paused is False
        await wait_for(pilot, lambda: screen.snapshot is not paused_at)
        await pilot.press("minus")
        assert service.interval == 1.0
        assert service.monitor.interval == 1.0
        assert "every 1 s" in static_text(screen, "#perf-summary")
        await pilot.press("plus")
        await pilot.press("plus")
        assert service.interval == 0.5


async def test_filter_sort_and_full_text(settings: Settings, db_url: str) -> None:
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    with contextlib.ExitStack() as stack:
        await filter_sort_and_full_text(app, db_url, stack)


async def filter_sort_and_full_text(
    app: EvedmvApp, db_url: str, stack: contextlib.ExitStack
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        workload = repeating(
            db_url,
            "SELECT count(*) AS filter_me FROM pg_class",
            "SELECT count(*) AS other_one FROM pg_attribute",
        )
        stack.enter_context(workload)
        await wait_for(
            pilot,
            lambda: any(
                "filter_me" in (v.query or "")
                for v in screen.snapshot.statements  # type: ignore[union-attr]
            ),
        )
        await pilot.press("slash", *"filter_me", "enter")
        assert screen.text_filter == "filter_me"
        keys = table(screen, "#statements").row_keys
        assert len(keys) == 1
        assert "filter_me" in static_text(screen, "#statements-state")
        await pilot.press("s")
        assert screen.sort == "mean"
        table(screen, "#statements").focus()
        await pilot.press("enter")
        assert isinstance(app.screen, TextScreen)
        assert "filter_me" in app.screen.body
        await pilot.press("escape")
        assert app.screen is screen


async def test_explain_from_screen(settings: Settings, db_url: str) -> None:
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    with contextlib.ExitStack() as stack:
        await explain_from_screen(app, db_url, stack)


async def explain_from_screen(
    app: EvedmvApp, db_url: str, stack: contextlib.ExitStack
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_live(pilot)
        stack.enter_context(
            repeating(
                db_url,
                "SELECT relname AS explain_me FROM pg_class WHERE oid = 1",
                "SELECT count(*) AS analyze_me FROM pg_class",
                "SELECT count(*) AS untyped FROM pg_class WHERE relpages > 2*3",
            )
        )
        await wait_for(
            pilot,
            lambda: (
                {"explain_me", "analyze_me", "untyped"}
                <= {
                    word
                    for v in screen.snapshot.statements  # type: ignore[union-attr]
                    for word in (v.query or "").split()
                }
            ),
        )
        # Without parameters, ANALYZE can run, after a confirmation.
        await pilot.press("slash", *"analyze_me", "enter")
        await pilot.press("A")
        assert isinstance(app.screen, ConfirmScreen)
        assert "analyze_me" in static_text(app.screen, "#subject")
        await pilot.press("n")
        assert app.screen is screen
        # pg_stat_statements shows the constant 1 as $1, so ANALYZE is
        # rejected at once, with no confirmation first.
        await pilot.press("slash", "ctrl+u", *"explain_me", "enter")
        await pilot.press("A")
        assert app.screen is screen
        rejections = [n for n in app._notifications if n.title == "Cannot explain"]
        assert len(rejections) == 1
        assert "ANALYZE needs real parameter values" in rejections[0].message
        assert "from the App tab" in rejections[0].message
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        assert plan.result.plan.node_type == "Index Scan"
        assert plan.result.analyzed is False
        await pilot.press("escape")
        # pg_stat_statements keeps "relpages > $1*$2", whose parameter types
        # no generic plan can infer, so the failure explains that and the fix.
        await pilot.press("slash", "ctrl+u", *"untyped", "enter")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
        failure = app.screen
        assert isinstance(failure, TextScreen)
        assert failure.title_text == "Cannot explain"
        assert failure.body.startswith("PostgreSQL cannot infer the types of $1, $2")
        assert "operator is not unique: unknown * unknown" in failure.body
        assert "from the App tab" in failure.body
        assert "relpages > $1*$2;\nEXPLAIN EXECUTE q(VALUE, VALUE);" in failure.body
        await pilot.press("escape")
        assert app.screen is screen


async def test_cancel_backend_after_confirmation(
    settings: Settings, db_url: str
) -> None:
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        with sleeping_backend(db_url, "SELECT pg_sleep(30)") as sleeper:
            await select_backend(pilot, screen, sleeper.pid)
            await pilot.press("c")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, lambda: bool(sleeper.errors))
            await settle(pilot)
    assert isinstance(sleeper.errors[0], psycopg.errors.QueryCanceled)


@pytest.mark.parametrize(
    ("key", "ender", "reason"),
    [
        ("x", "pg_terminate_backend", "it ended, or a new session took its pid"),
        (
            "c",
            "pg_cancel_backend",
            "the query shown ended (the session may run another now), or a new"
            " session took its pid",
        ),
    ],
)
async def test_ended_backend_not_signalled(
    settings: Settings, db_url: str, key: str, ender: str, reason: str
) -> None:
    """A backend that ended while the confirmation was open was reported as
    "gone or not permitted". The signal now also leaves alone a new session
    that took the pid, and the message names both cases. A cancel confirmed
    for a query that ended meanwhile cancelled whatever the session ran
    next; now it signals nothing."""
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        with sleeping_backend(db_url, "SELECT pg_sleep(30)") as sleeper:
            await select_backend(pilot, screen, sleeper.pid)
            await pilot.press(key)
            assert isinstance(app.screen, ConfirmScreen)
            with psycopg.connect(db_url, autocommit=True) as other:
                other.execute(f"SELECT {ender}(%s)", (sleeper.pid,))
            await wait_for(pilot, lambda: bool(sleeper.errors))
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: any("not signalled" in n.message for n in app._notifications),
            )
    [message] = [n.message for n in app._notifications if "not signalled" in n.message]
    assert message == f"backend {sleeper.pid} was not signalled: {reason}"


async def test_explain_follows_the_active_tab(settings: Settings, db_url: str) -> None:
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    running = "SELECT pg_sleep(30) AS explain_running"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        with sleeping_backend(db_url, running) as sleeper:
            await wait_for(
                pilot, lambda: str(sleeper.pid) in table(screen, "#activity").row_keys
            )
            tabs = screen.query_one("#perf-tabs")
            tabs.active = "tab-database"  # type: ignore[attr-defined]
            await pilot.press("e")
            await settle(pilot)
            assert app.screen is screen
            await select_backend(pilot, screen, sleeper.pid)
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
            plan = app.screen
            assert isinstance(plan, PlanScreen)
            assert "explain_running" in plan.query_text
            assert plan.result.analyzed is False
            await pilot.press("escape")


@dataclasses.dataclass
class Sleeper:
    """A backend running a statement in a thread of the test."""

    pid: int
    errors: list[psycopg.Error]


@contextlib.contextmanager
def sleeping_backend(db_url: str, query: str) -> Iterator[Sleeper]:
    """Run ``query`` on a connection of its own until the block ends.

    The statement is cancelled on the way out, so a long pg_sleep does not
    keep the test waiting; its error, if any, is in ``errors``.
    """
    conn = psycopg.connect(db_url, autocommit=True)
    sleeper = Sleeper(conn.info.backend_pid, [])

    def run() -> None:
        try:
            conn.execute(query)
        except psycopg.Error as exc:
            sleeper.errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield sleeper
    finally:
        with psycopg.connect(db_url, autocommit=True) as other:
            other.execute("SELECT pg_cancel_backend(%s)", (sleeper.pid,))
        thread.join(35)
        conn.close()


async def select_backend(pilot: Any, screen: PerformanceScreen, pid: int) -> None:
    """Wait until the Activity tab lists ``pid``, then show it under the cursor."""
    await wait_for(pilot, lambda: str(pid) in table(screen, "#activity").row_keys)
    await pilot.press("2")
    activity = table(screen, "#activity")
    activity.move_cursor(row=activity.row_keys.index(str(pid)))


async def analyze_backend(pilot: Any, screen: PerformanceScreen, pid: int) -> None:
    """Select backend ``pid`` and confirm EXPLAIN ANALYZE of its query."""
    await select_backend(pilot, screen, pid)
    await pilot.press("A")
    assert isinstance(screen.app.screen, ConfirmScreen)
    await pilot.press("y")


async def test_dropped_extension_shows_fix(settings: Settings, db_url: str) -> None:
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("DROP EXTENSION pg_stat_statements")
        await wait_for(
            pilot,
            lambda: (
                screen.snapshot is not None
                and screen.snapshot.problem("statements") is not None
            ),
        )
        text = static_text(screen, "#statements-problem")
        assert "CREATE EXTENSION pg_stat_statements;" in text
        before = screen.snapshot
        await wait_for(pilot, lambda: screen.snapshot is not before)
        assert screen.snapshot is not None
        assert screen.snapshot.activity is not None
        assert screen.snapshot.database is not None


# -- the service's one-shot timer ------------------------------------------


class GatedMonitor(Monitor):
    """A monitor whose poll waits for ``gate`` and counts the polls running."""

    def __init__(self, url: str, settings: Settings) -> None:
        super().__init__(
            None,
            settings,
            conninfo=url,
            telemetry=Telemetry(),
            registry=CacheRegistry(),
        )
        self.gate = threading.Event()
        self.started = 0
        self.running = 0
        self.max_running = 0
        self._count_lock = threading.Lock()

    def poll(self) -> Snapshot:
        with self._count_lock:
            self.started += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            self.gate.wait(30)
            return super().poll()
        finally:
            with self._count_lock:
                self.running -= 1


class ServiceHost(App[None]):
    """A bare app that runs one :class:`MonitorService` on gated monitors."""

    def __init__(self, settings: Settings, url: str) -> None:
        super().__init__()
        self.monitors: list[GatedMonitor] = []
        self.service = MonitorService(self, settings, self._build)
        self._settings = settings
        self._url = url

    def _build(self, conninfo: str | None) -> Monitor:
        monitor = GatedMonitor(self._url, self._settings)
        self.monitors.append(monitor)
        return monitor

    def on_mount(self) -> None:
        self.service.start()

    def release(self) -> None:
        for monitor in self.monitors:
            monitor.gate.set()

    async def stop(self, pilot: Any) -> None:
        """Release the held polls, close the service and wait for the polls.

        A poll left running logged its lost connection after the test had
        ended, into a closed output stream.
        """
        self.release()
        self.service.close()
        await wait_for(pilot, lambda: not any(m.running for m in self.monitors))


async def test_service_slow_poll_never_overlaps(
    settings: Settings, db_url: str
) -> None:
    app = ServiceHost(fast(settings), db_url)
    async with app.run_test() as pilot:
        try:
            await wait_for(
                pilot, lambda: bool(app.monitors) and app.monitors[0].started
            )
            monitor = app.monitors[0]
            # Four intervals pass while the first poll is held.
            await pilot.pause(2.0)
            # An interval change during a poll arms no second timer.
            app.service.set_interval(0.5)
            await pilot.pause(1.0)
            assert monitor.started == 1
            assert app.service.latest is None
            monitor.gate.set()
            await wait_for(pilot, lambda: monitor.started >= 4)
            assert app.service.latest is not None
            assert monitor.max_running == 1
            assert len(app.monitors) == 1
        finally:
            await app.stop(pilot)


async def test_service_interval_change_rearms_wait(
    settings: Settings, db_url: str
) -> None:
    app = ServiceHost(dataclasses.replace(settings, poll_interval=60.0), db_url)
    async with app.run_test() as pilot:
        try:
            await wait_for(pilot, lambda: bool(app.monitors))
            monitor = app.monitors[0]
            monitor.gate.set()
            await wait_for(pilot, lambda: app.service.latest is not None)
            await pilot.pause(1.0)
            # The next poll is 60 s away until the interval changes.
            assert monitor.started == 1
            app.service.set_interval(0.5)
            assert monitor.interval == 0.5
            await wait_for(pilot, lambda: monitor.started >= 2, limit=10.0)
            assert monitor.max_running == 1
        finally:
            await app.stop(pilot)


# -- snapshot tests on a recorded snapshot --------------------------------


def backend(
    pid: int,
    seconds: float,
    query: str,
    blocked: list[int],
    *,
    role_name: str = "evedmv",
    application_name: str = "evedmv",
    client_addr: str | None = None,
) -> Backend:
    return Backend(
        pid=pid,
        database="evedmv",
        role_name=role_name,
        application_name=application_name,
        client_addr=client_addr,
        backend_type="client backend",
        state="active",
        wait_event_type="Lock" if blocked else None,
        wait_event="relation" if blocked else None,
        query_seconds=seconds,
        xact_seconds=seconds,
        query=query,
        blocked_by=blocked,
    )


def view(
    queryid: int | None, calls: int, exec_ms: float, query: str, severity: Severity
) -> StatementView:
    delta = Counters(calls=calls, exec_ms=exec_ms, rows=calls * 3, shared_blks_hit=40)
    key = None if queryid is None else StatementKey(10, 16384, queryid, True)
    return StatementView(
        StatementDelta(key, delta, delta, 2.0),
        HIDDEN_LABEL if key is None else query,
        None if key is None else f"{abs(queryid or 0):016x}"[:16],
        severity,
    )


def recorded_snapshot() -> Snapshot:
    statements = [
        view(-9223372036854775808, 1, 6100.0, "SELECT pg_sleep($1)", Severity.ERROR),
        view(
            4242,
            3,
            3900.0,
            "SELECT * FROM killmails WHERE solar_system_id = $1"
            " ORDER BY killmail_time DESC LIMIT $2",
            Severity.WARNING,
        ),
        view(
            17,
            120,
            36.0,
            "SELECT name FROM names WHERE entity_id = ANY($1)",
            Severity.OK,
        ),
        view(None, 8, 12.0, "", Severity.OK),
    ]
    running = [
        RunningQuery(
            backend(4101, 6.3, "SELECT pg_sleep(30)", []), Severity.ERROR, (4101,)
        ),
        RunningQuery(
            backend(4102, 1.4, "UPDATE names SET name = $1", [4103]),
            Severity.WARNING,
            (4102, 4103),
        ),
    ]
    caps = MonitorCapabilities(
        server_version="15.18",
        server_version_num=150018,
        pgss_version="1.10",
        pgss_schema="public",
        preloaded=True,
        read_all_stats=False,
        signal_backend=True,
        superuser=False,
        role_name="reporter",
        server_address=None,
        preload_libraries=None,
        pgss_track="top",
        compute_query_id="auto",
    )
    note = PanelProblem(
        "statements",
        "role reporter lacks pg_read_all_stats: other roles' statements are"
        " summed as one hidden row",
        "GRANT pg_read_all_stats TO reporter;",
    )
    memory = MemoryView(
        ProcessMemory(777, "app", "python", 182 * MIB, 120 * MIB, 5.5, 1.2),
        Trend(0.25 * MIB, 0.4, 300.0, 150, False, 300.0),
        [ProcessMemory(4101, "client backend", "postgres", 24 * MIB, None, 1.0, 0.5)],
        None,
        [GcGeneration(0, 10, 700, 50, 400, 0), GcGeneration(1, 2, 10, 5, 30, 0)],
        None,
    )
    alerts = [
        Alert(
            Severity.ERROR,
            "statements",
            "mean 6.10 s over 1 call: SELECT pg_sleep($1)",
            "s1",
        ),
        Alert(Severity.WARNING, "activity", "blocked: 4102 ← 4103", "chain"),
        Alert(Severity.WARNING, "statements", note.text, "note"),
    ]
    return Snapshot(
        sequence=9,
        at=1_800_000_000.0,
        elapsed=2.0,
        interval=2.0,
        connected=True,
        disconnected_since=None,
        error=None,
        server="host=/tmp port=5432",
        capabilities=caps,
        problems=[],
        notes=[note],
        statements=statements,
        statements_trusted=True,
        statements_reason=None,
        activity=ActivitySummary(
            running,
            {"active": 2, "idle": 3},
            5,
            1,
            1,
            [(4102, 4103)],
            databases={"evedmv": DatabaseBackends({"active": 2, "idle": 3}, 1, 0)},
        ),
        database=DatabaseRates(
            "evedmv", 6, 60, 123.5, 120.0, 3.5, 0.9912, 0, 1, 8 * MIB, 5000.0, True
        ),
        index_hints=[],
        operations=[
            OperationRow(
                "battles.detect", 40, 4, 80.0, 60.0, 1400.0, 1900.0, 0, Severity.WARNING
            ),
            OperationRow("names", 900, 30, 1.2, 0.8, 3.0, 9.0, 0, Severity.OK),
        ],
        slow_app_queries=[],
        memory=memory,
        caches=[
            CacheRow(
                CacheStats("names", 1200, 200000, 3 * MIB, 9000, 1000, 0), 0.95, 40, 0
            )
        ],
        ingest=None,
        alerts=alerts,
        samples=[],
        cost=PollCost(0.012, 0.004, 0.002, 6),
    )


def offline_app(settings: Settings) -> EvedmvApp:
    return EvedmvApp(
        dataclasses.replace(settings, poll_interval=60.0), screens=OWN_SCREENS
    )


def show_recorded(tab: str = "tab-statements") -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        screen = PerformanceScreen(live=False)
        await pilot.app.push_screen(screen)
        await pilot.pause()
        screen.show_snapshot(recorded_snapshot())
        screen.query_one("#perf-tabs").active = tab
        await pilot.pause()
        await pilot.pause()

    return run_before


@contextlib.asynccontextmanager
async def recorded_screen(
    settings: Settings,
) -> AsyncIterator[tuple[EvedmvApp, Any, PerformanceScreen]]:
    """Run the app at 80x24 with the screen showing the recorded snapshot."""
    app = offline_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_recorded()(pilot)
        screen = app.screen
        assert isinstance(screen, PerformanceScreen)
        yield app, pilot, screen


async def test_footer_shows_the_keys_of_the_tab(settings: Settings) -> None:
    """Each tab's footer lists the keys that act on it; the others are
    inert there, so c cannot cancel a backend from the Statements tab."""
    async with recorded_screen(settings) as (app, pilot, screen):

        def footer_actions() -> set[str]:
            return {b.binding.action for b in screen.active_bindings.values()}

        assert {"filter", "cycle_sort", "explain"} <= footer_actions()
        assert (
            not {"cancel_backend", "terminate_backend", "toggle_trace"}
            & footer_actions()
        )
        await pilot.press("c")
        assert app.screen is screen
        # With the table focused, its own enter, not the screen's, is shown.
        screen.query_one("#statements").focus()
        await pilot.pause()
        assert screen.active_bindings["enter"].binding.description == "Query"
        # The bindings follow the focus, which moves into the new tab on a
        # later message, so a busy machine needs more than one pause.
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-activity"
        await wait_for(pilot, lambda: "cancel_backend" in footer_actions())
        assert {"cancel_backend", "terminate_backend", "explain"} <= footer_actions()
        assert not {"filter", "cycle_sort", "toggle_trace"} & footer_actions()
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-memory"
        await wait_for(pilot, lambda: "toggle_trace" in footer_actions())
        assert not {"explain", "cancel_backend", "filter"} & footer_actions()


def test_paused_summary_keeps_alert_counts_in_80_columns() -> None:
    """The alert counts come before the pause mark, and the pause mark
    takes the place of the poll's cost, so the line fits the 78 columns
    inside the summary's padding."""
    snapshot = recorded_snapshot()
    line = perf_rows.summary_text(snapshot, paused=True).plain
    assert line.endswith("✖ 1 error ▲ 2 warnings · ⏸ paused")
    assert len(line) <= 78
    one_warning = [a for a in snapshot.alerts if a.severity == Severity.WARNING][:1]
    quiet = perf_rows.summary_text(
        dataclasses.replace(snapshot, alerts=one_warning), paused=True
    ).plain
    assert quiet.endswith("· ▲ 1 warning · ⏸ paused")
    calm = perf_rows.summary_text(dataclasses.replace(snapshot, alerts=[]), paused=True)
    assert calm.plain.endswith("· no alerts · ⏸ paused")


def test_summary_fits_80_columns_with_slow_poll() -> None:
    """A traced poll costs hundreds of milliseconds; its cost keeps its
    unit within 78 columns."""
    snapshot = recorded_snapshot()
    slow = dataclasses.replace(
        snapshot,
        cost=dataclasses.replace(snapshot.cost, wall_seconds=0.7021, cpu_seconds=0.565),
    )
    line = perf_rows.summary_text(slow, paused=False).plain
    assert line.endswith("· poll 702 ms, CPU 565 ms")
    assert len(line) <= 78
    fast = dataclasses.replace(
        snapshot,
        cost=dataclasses.replace(
            snapshot.cost, wall_seconds=0.0042, cpu_seconds=0.0012
        ),
    )
    assert perf_rows.summary_text(fast, paused=False).plain.endswith(
        "· poll 4.2 ms, CPU 1.2 ms"
    )


async def test_empty_panels_say_why(settings: Settings) -> None:
    """Tables left empty by a quiet server explain themselves."""
    async with recorded_screen(settings) as (_app, pilot, screen):
        quiet = dataclasses.replace(
            recorded_snapshot(),
            statements=[],
            activity=dataclasses.replace(
                recorded_snapshot().activity, running=[], chains=[]
            ),
            index_hints=[],
            slow_app_queries=[],
        )
        screen.show_snapshot(quiet)
        await pilot.pause()
        state = static_text(screen, "#statements-state")
        assert state.endswith("· no statement ran in the interval")
        assert static_text(screen, "#activity-chains") == (
            "no query is running; idle sessions are not listed"
        )
        assert static_text(screen, "#hints-state") == (
            "tables with sequential scans of 10,000+ rows: none; no index looks missing"
        )
        assert static_text(screen, "#slow-state") == (
            "slow application queries: none over 1 s in the last 5 min"
        )
        screen.show_snapshot(recorded_snapshot())
        await pilot.pause()
        assert "no statement" not in static_text(screen, "#statements-state")
        screen.text_filter = "nothing like this"
        screen.show_snapshot(recorded_snapshot())
        await pilot.pause()
        assert static_text(screen, "#statements-state").endswith(
            "· no statement matches"
        )


async def test_sort_and_filter_survive_reopening(settings: Settings) -> None:
    """Leaving the screen and coming back reset the sort to total and
    dropped the filter; both now last as long as the app."""
    async with recorded_screen(settings) as (app, pilot, screen):
        await pilot.press("s", "s", "slash", *"killmails", "enter")
        assert screen.sort == "calls"
        assert screen.text_filter == "killmails"
        await pilot.press("escape")
        assert app.screen is not screen
        again = PerformanceScreen(live=False)
        await app.push_screen(again)
        await pilot.pause()
        assert again.sort == "calls"
        assert again.text_filter == "killmails"
        again.show_snapshot(recorded_snapshot())
        await pilot.pause()
        state = static_text(again, "#statements-state")
        assert state.startswith("by calls over")
        assert "filter 'killmails'" in state
        assert table(again, "#statements").row_count == 1
        await pilot.press("slash")
        assert again.query_one("#statement-filter", Input).value == "killmails"


async def test_escape_closes_filter_not_screen(settings: Settings) -> None:
    async with recorded_screen(settings) as (app, pilot, screen):
        field = screen.query_one("#statement-filter")
        await pilot.press("slash", *"abc")
        assert field.has_class("-shown")
        assert "escape" in screen.active_bindings
        assert screen.active_bindings["escape"].binding.description == "Close filter"
        assert screen.active_bindings["enter"].binding.description == "Apply"
        await pilot.press("escape")
        assert app.screen is screen
        assert not field.has_class("-shown")
        assert app.focused is screen.query_one("#statements")
        assert screen.text_filter == ""
        await pilot.press("escape")
        assert app.screen is not screen


async def test_open_filter_hides_filter_key(settings: Settings) -> None:
    """While the filter field has focus, the footer shows its enter and
    escape but not `/` again, and `/` types into the field."""
    async with recorded_screen(settings) as (app, pilot, screen):

        def footer_keys() -> list[str]:
            return [
                key
                for key, active in screen.active_bindings.items()
                if active.enabled and active.binding.show
            ]

        assert "slash" in footer_keys()
        await pilot.press("slash")
        field = screen.query_one("#statement-filter", Input)
        assert app.focused is field
        assert "slash" not in footer_keys()
        assert {"enter", "escape"} <= set(footer_keys())
        await pilot.press(*"a/b")
        assert app.screen is screen
        assert field.value == "a/b"
        await pilot.press("escape")
        assert "slash" in footer_keys()


async def test_arrows_keep_focus_on_tab_bar(settings: Settings) -> None:
    """Left and Right switch tabs and leave the focus on the tab bar, also
    while new snapshots refill the tables, so the next arrow switches tab
    again instead of scrolling a table."""
    async with recorded_screen(settings) as (app, pilot, screen):
        tabbed = screen.query_one("#perf-tabs", TabbedContent)
        tab_bar = tabbed.query_one(Tabs)
        await pilot.press("shift+tab")
        assert app.focused is tab_bar
        panes = [str(pane.id) for pane in tabbed.query(TabPane)]
        assert len(panes) == 9
        for key, order in (("right", [*panes[1:], panes[0]]), ("left", panes[::-1])):
            for expected in order:
                await pilot.press(key)
                screen.show_snapshot(recorded_snapshot())
                await pilot.pause()
                assert tabbed.active == expected
                assert app.focused is tab_bar, f"{key} to {expected} moved focus"


async def test_shift_tab_from_alerts_reaches_tab_bar(settings: Settings) -> None:
    """Tab and Shift+Tab cycle between the Alerts table and the tab bar."""
    async with recorded_screen(settings) as (app, pilot, screen):
        tabbed = screen.query_one("#perf-tabs", TabbedContent)
        tab_bar = tabbed.query_one(Tabs)
        alerts = screen.query_one("#alerts", KeyedTable)
        await pilot.press("shift+tab", *["right"] * 7)
        assert tabbed.active == "tab-alerts"
        await pilot.press("tab")
        assert app.focused is alerts
        await pilot.press("shift+tab")
        assert app.focused is tab_bar
        await pilot.press("shift+tab")
        assert app.focused is alerts
        await pilot.press("tab")
        assert app.focused is tab_bar
        assert tabbed.active == "tab-alerts"


async def test_screen_opens_in_statements_table(settings: Settings) -> None:
    """Focus starts in the Statements table, so down moves its cursor and
    enter shows the row the cursor is on, not a row the user never chose."""
    async with recorded_screen(settings) as (app, pilot, screen):
        statements = table(screen, "#statements")
        assert app.focused is statements
        await pilot.press("down")
        assert statements.cursor_row == 1
        await pilot.press("enter")
        assert isinstance(app.screen, TextScreen)
        assert app.screen.body.startswith("SELECT * FROM killmails")
        await pilot.press("escape")
        assert app.focused is statements


async def test_every_tab_focuses_its_table(settings: Settings) -> None:
    """From the tab bar, the arrows switch tab and tab moves into the shown
    tab's first table. On a tab without a table the focus stays on the bar."""
    expected = {
        "tab-statements": "statements",
        "tab-activity": "activity",
        "tab-database": "hints",
        "tab-app": "operations",
        "tab-memory": "backends",
        "tab-caches": "caches",
        "tab-ingest": None,
        "tab-alerts": "alerts",
        "tab-charts": None,
    }
    async with recorded_screen(settings) as (app, pilot, screen):
        tabbed = screen.query_one("#perf-tabs", TabbedContent)
        tab_bar = tabbed.query_one(Tabs)
        panes = [str(pane.id) for pane in tabbed.query(TabPane)]
        assert panes == list(expected)
        await pilot.press("shift+tab")
        for pane in panes:
            assert app.focused is tab_bar
            assert tabbed.active == pane
            await pilot.press("tab")
            if expected[pane] is None:
                assert app.focused is tab_bar
            else:
                assert app.focused is table(screen, f"#{expected[pane]}")
                await pilot.press("shift+tab")
            await pilot.press("right")


async def test_digit_keys_show_tabs(settings: Settings) -> None:
    """Tabs were reached only with shift+tab to the tab bar and the arrows.
    The digits 1 to 9 show them in order, from a table or from the tab bar,
    and move the focus into the shown tab's table."""
    async with recorded_screen(settings) as (app, pilot, screen):
        tabbed = screen.query_one("#perf-tabs", TabbedContent)
        panes = [str(pane.id) for pane in tabbed.query(TabPane)]
        labels = [tabbed.get_tab(pane).label.plain for pane in panes]
        assert labels == [
            "1Statements",
            "2Activity",
            "3Database",
            "4App",
            "5Memory",
            "6Caches",
            "7Ingest",
            "8Alerts",
            "9Charts",
        ]
        for digit, pane in enumerate(panes, start=1):
            await pilot.press(str(digit))
            assert tabbed.active == pane
        await pilot.press("shift+tab")
        assert app.focused is tabbed.query_one(Tabs)
        await pilot.press("2")
        assert tabbed.active == "tab-activity"
        assert app.focused is table(screen, "#activity")
        # A digit typed into the filter is text, not a tab switch.
        await pilot.press("1", "slash", "4", "2")
        assert tabbed.active == "tab-statements"
        assert screen.query_one("#statement-filter", Input).value == "42"


async def test_help_lists_digit_keys(settings: Settings) -> None:
    async with recorded_screen(settings) as (app, pilot, _screen):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        titles = [str(s.render()) for s in app.screen.query(".section-title")]
        texts = [str(s.render()) for s in app.screen.query(".help-bindings")]
        own = texts[titles.index("Keys of Performance")]
        assert "1  Statements tab" in own
        assert "9  Charts tab" in own
        # Help names the tabs without their digits.
        assert "Keys of the Memory tab" in titles


async def test_tab_change_off_tab_bar_focuses_table(settings: Settings) -> None:
    """A tab shown while the focus is in a table moves the focus into the
    new tab, so keys never act on a table that is hidden."""
    async with recorded_screen(settings) as (app, pilot, screen):
        tabbed = screen.query_one("#perf-tabs", TabbedContent)
        tabbed.active = "tab-activity"
        await pilot.pause()
        assert app.focused is table(screen, "#activity")
        tabbed.active = "tab-ingest"
        await pilot.pause()
        assert app.focused is tabbed.query_one(Tabs)


async def test_alerts_tab_lists_regressions(settings: Settings) -> None:
    """The Alerts tab lists the regression alerts that the status bar counts
    and the notifications name, with the same severity word."""
    async with recorded_screen(settings) as (app, pilot, screen):
        await wait_for(pilot, lambda: getattr(app, "alert_center", None) is not None)
        center = app.alert_center  # type: ignore[attr-defined]
        key = "database:cache_hit_ratio"
        values = [0.999, 0.998, 0.9995, 0.999] * 10 + [0.963] * 3 + [0.457] * 4
        for index, value in enumerate(values):
            at = 1_800_000_000.0 + 2 * index
            await center.observe([Sample(key, value, at, 2.0, True, "hit ratio")])
        screen.show_snapshot(recorded_snapshot())
        await pilot.pause()
        alerts = table(screen, "#alerts")
        row_key = f"regression:{key}"
        assert alerts.row_keys[0] == row_key
        cells = [str(cell) for cell in alerts.get_row(row_key)]
        assert cells[0] == "✖ critical"
        assert cells[2].startswith("hit ratio: critical level: opened at 96.3 %")
        assert app.status.describe_alerts() == "1 alert, worst critical"
        # The summary line counts the tab's rows: the recorded poll's own
        # error and two warnings, and the critical regression as an error.
        summary = str(screen.query_one("#perf-summary", Static).render())
        assert "✖ 2 errors ▲ 2 warnings" in summary


async def test_plan_analyze_figures_fit_80_columns() -> None:
    """After ANALYZE, a node's measured figures followed its estimates on one
    line and ran past the dialog's edge at 80 columns until → scrolled."""
    node = PlanNode("Result", None, None, 0.0, 0.01, 1.0, 4, 12010.942, 1.0, 1, "", ())
    result = ExplainResult(node, "plain", True, 0.028, 12010.962, None, [])
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(PlanScreen("select pg_sleep(12) as c", result))
        await pilot.pause()
        tree = app.screen.query_one(Tree)
        lines = [tree.render_line(y).text for y in range(tree.size.height)]
        assert any("Result  cost=0.00..0.01 rows=1 width=4" in line for line in lines)
        assert any("actual time=12010.942 ms rows=1 loops=1" in line for line in lines)


async def test_confirm_names_query_on_one_line() -> None:
    """The confirmation shows the query as plain text on one line."""
    query = "SELECT '[bold]x[/bold]'\n  FROM pg_class\n WHERE " + "oid = 1 AND " * 20
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ConfirmScreen("Run it?", subject=query))
        await pilot.pause()
        subject = app.screen.query_one("#subject")
        assert subject.size.height == 1
        shown = subject.render_line(0).text.rstrip()
        assert shown.startswith("SELECT '[bold]x[/bold]' FROM pg_class WHERE oid")
        assert shown.endswith("…")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_statements_snapshot(snap_compare: Any, settings: Settings, size: Any) -> None:
    assert snap_compare(
        offline_app(settings), terminal_size=size, run_before=show_recorded()
    )


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_activity_no_color_snapshot(
    snap_compare: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, size: Any
) -> None:
    """Under NO_COLOR the severity of each backend must read from glyph and word."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(
        offline_app(settings),
        terminal_size=size,
        run_before=show_recorded("tab-activity"),
    )


def test_alerts_no_color_snapshot(
    snap_compare: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(
        offline_app(settings),
        terminal_size=(80, 24),
        run_before=show_recorded("tab-alerts"),
    )


async def test_backend_actions_name_its_owner(settings: Settings) -> None:
    """The line under the Activity table, the detail and both confirmations
    name the backend's role, application_name and client address, so a user
    can tell whose session a cancel or terminate hits. The names are shown
    as plain text."""
    stranger = backend(
        5489,
        82.0,
        "select pg_sleep(900)",
        [],
        role_name="reporter",
        application_name="[bold]psql[/bold]",
        client_addr="10.1.2.3",
    )
    snapshot = recorded_snapshot()
    assert snapshot.activity is not None
    activity = dataclasses.replace(
        snapshot.activity,
        running=[RunningQuery(stranger, Severity.ERROR, (5489,))],
        chains=[],
    )
    async with recorded_screen(settings) as (app, pilot, screen):
        screen.show_snapshot(dataclasses.replace(snapshot, activity=activity))
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-activity"
        await pilot.pause()
        assert static_text(screen, "#activity-owner") == (
            "backend 5489: role reporter, application [bold]psql[/bold],"
            " client 10.1.2.3"
        )
        await pilot.press("enter")
        assert isinstance(app.screen, TextScreen)
        detail = app.screen.body
        assert "role: reporter" in detail
        assert "application_name: [bold]psql[/bold]" in detail
        assert "client address: 10.1.2.3" in detail
        assert detail.endswith("select pg_sleep(900)")
        await pilot.press("escape")
        who = "role reporter, application [bold]psql[/bold], client 10.1.2.3"
        for key, verb in (("c", "Cancel the query of"), ("x", "Terminate")):
            await pilot.press(key)
            confirm = app.screen
            assert isinstance(confirm, ConfirmScreen)
            question = static_text(confirm, "#question")
            assert question == f"{verb} backend 5489 ({who})?"
            assert static_text(confirm, "#subject") == "select pg_sleep(900)"
            await pilot.press("n")
            assert app.screen is screen


def test_backend_identity_names_local_socket_client() -> None:
    local = backend(1, 0.0, "", [], application_name="")
    assert local.identity == "role evedmv, application (none), client local socket"
    assert "Unix-domain socket" in perf_rows.backend_detail(local)
    hidden = local._replace(state=None)
    assert hidden.identity == "role evedmv, application (none)"
    worker = local._replace(backend_type="autovacuum worker")
    assert worker.identity == "role evedmv, application (none)"


async def test_cancel_dialog_names_local_socket_client(settings: Settings) -> None:
    """A backend on the local Unix-domain socket has no client address, so
    the owner line and the confirmation name the socket as the client."""
    local = backend(
        21217, 40.0, "select pg_sleep(600)", [], application_name="tester-sleep"
    )
    snapshot = recorded_snapshot()
    assert snapshot.activity is not None
    activity = dataclasses.replace(
        snapshot.activity,
        running=[RunningQuery(local, Severity.ERROR, (21217,))],
        chains=[],
    )
    who = "role evedmv, application tester-sleep, client local socket"
    async with recorded_screen(settings) as (app, pilot, screen):
        screen.show_snapshot(dataclasses.replace(snapshot, activity=activity))
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-activity"
        await pilot.pause()
        assert static_text(screen, "#activity-owner") == f"backend 21217: {who}"
        await pilot.press("c")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        question = static_text(confirm, "#question")
        assert question == f"Cancel the query of backend 21217 ({who})?"
        await pilot.press("n")
        assert app.screen is screen


async def test_recorded_panels_render_words(settings: Settings) -> None:
    app = offline_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = PerformanceScreen(live=False)
        await app.push_screen(screen)
        await pilot.pause()
        screen.show_snapshot(recorded_snapshot())
        await pilot.pause()
        statements = table(screen, "#statements")
        assert statements.row_keys[0] == "10:16384:-9223372036854775808:1"
        assert "hidden" in statements.row_keys
        first = statements.get_row_at(0)
        assert str(first[0]) == "✖ error"
        assert "GRANT pg_read_all_stats TO reporter;" in static_text(
            screen, "#statements-problem"
        )
        assert "blocking: 4102 ← 4103" in static_text(screen, "#activity-chains")
        assert "123.5 tps" in static_text(screen, "#database-text")


async def test_disconnected_snapshot_says_since(settings: Settings) -> None:
    app = offline_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = PerformanceScreen(live=False)
        await app.push_screen(screen)
        await pilot.pause()
        lost = dataclasses.replace(
            recorded_snapshot(),
            connected=False,
            disconnected_since=1_800_000_000.0,
            error="server closed the connection unexpectedly",
            capabilities=None,
            statements=[],
            activity=None,
            database=None,
        )
        screen.show_snapshot(lost)
        await pilot.pause()
        summary = static_text(screen, "#perf-summary")
        assert "disconnected since" in summary
        assert "server closed the connection" in summary
        assert table(screen, "#statements").row_keys == []

        # A long error ends in an ellipsis at 80 columns instead of being cut
        # mid-word; the message log keeps it whole.
        screen.show_snapshot(
            dataclasses.replace(
                lost,
                error="cannot connect (password authentication failed for user"
                ' "t14ro")\nsee the server log',
            )
        )
        await pilot.pause()
        line = screen.query_one("#perf-summary", Static).render_line(0).text
        assert line.rstrip().endswith("…")
        assert "retrying: cannot connect (password auth" in line
        assert "server log" not in line


async def test_allocation_sites_one_per_line(settings: Settings) -> None:
    """At 80 columns a long allocation path wrapped onto a line of its own,
    starting at column 1 under its size. Each site now takes one line, with
    the path cut from the left so its file name and line stay visible."""
    long_file = "/home/user/.local/lib/python3.11/site-packages/" + "deep/" * 12
    sites = [
        AllocationSite(long_file + "allocating_module.py", 123, 45_773, 10),
        AllocationSite("/usr/lib/python3.11/json/decoder.py", 353, 2_048, 4),
    ]
    recorded = recorded_snapshot()
    assert recorded.memory is not None
    memory = dataclasses.replace(recorded.memory, top_allocations=sites)
    async with recorded_screen(settings) as (_app, pilot, screen):
        screen.show_snapshot(dataclasses.replace(recorded, memory=memory))
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-memory"
        await pilot.pause()
        text = screen.query_one("#memory-text", Static)
        lines = [text.render_line(y).text.rstrip() for y in range(text.size.height)]
        first = next(line for line in lines if "44.7 KiB" in line)
        assert first.endswith("/deep/allocating_module.py:123")
        assert "KiB  …/deep/" in first
        assert first.index("44.7 KiB") < 12
        second = next(line for line in lines if "2.0 KiB" in line)
        assert second.endswith("  /usr/lib/python3.11/json/decoder.py:353")
        assert all(len(line) <= 80 for line in lines)
        assert not any(line.lstrip().startswith("/") for line in lines)


def test_memory_figures_show_sample_time() -> None:
    recorded = recorded_snapshot()
    assert recorded.memory is not None
    earlier = recorded.at - 8.0
    during_poll = recorded.at - recorded.cost.wall_seconds / 2
    app = recorded.memory.app
    backend = recorded.memory.backends[0]
    idle = dataclasses.replace(backend, sampled_at=earlier)
    running = dataclasses.replace(backend, pid=4102, sampled_at=during_poll)
    stale = dataclasses.replace(
        recorded,
        memory=dataclasses.replace(
            recorded.memory,
            app=dataclasses.replace(app, uss_at=earlier, sampled_at=during_poll),
            backends=[idle, running],
        ),
    )
    assert stale.memory is not None
    fresh = dataclasses.replace(
        stale,
        memory=dataclasses.replace(
            stale.memory,
            app=dataclasses.replace(app, uss_at=during_poll, sampled_at=during_poll),
        ),
    )
    clock = time.strftime("%H:%M:%S", time.localtime(earlier))

    stale_text = perf_rows.memory_text(stale, tracing=False).plain
    assert f"USS 120.0 MiB (as of {clock}), CPU" in stale_text
    fresh_text = perf_rows.memory_text(fresh, tracing=False).plain
    assert "USS 120.0 MiB, CPU" in fresh_text
    assert "as of" not in fresh_text
    notes = {key: cells[-1] for key, cells in perf_rows.backend_rows(stale)}
    assert notes == {"777": "", "4101": f"as of {clock}", "4102": ""}


async def test_memory_tracing_cost_is_bounded(settings: Settings) -> None:
    """Tracing stores one frame, and polls read the top sites only while
    the Memory tab shows, at most every 30 s."""
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        service = app.monitor_service  # type: ignore[attr-defined]
        assert service.allocation_sites_enabled is False
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-memory"
        await pilot.pause()
        assert service.allocation_sites_enabled is True
        await pilot.press("t")
        try:
            assert tracemalloc.is_tracing()
            assert tracemalloc.get_traceback_limit() == memory_mod.TRACE_FRAMES
            assert memory_mod.TRACE_FRAMES == 1
            before = screen.snapshot
            await wait_for(
                pilot,
                lambda: (
                    screen.snapshot is not before
                    and screen.snapshot.memory is not None
                    and screen.snapshot.memory.top_allocations is not None
                ),
            )
            sites = service.monitor.allocation_sites
            assert sites.interval_seconds == 30.0
            assert "read every 30 s" in static_text(screen, "#memory-text")
            assert "slows every allocation" in static_text(screen, "#memory-text")
            screen.query_one("#perf-tabs", TabbedContent).active = "tab-activity"
            await pilot.pause()
            assert service.allocation_sites_enabled is False
        finally:
            memory_mod.stop_tracing()


async def test_footer_space_names_pause_or_resume(settings: Settings) -> None:
    """The footer labels space Resume while polling is paused."""
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)

        def space_description() -> str:
            return screen.active_bindings["space"].binding.description

        assert space_description() == "Pause"
        await pilot.press("space")
        await pilot.pause()
        assert screen.paused is True
        assert space_description() == "Resume"
        await pilot.press("space")
        await pilot.pause()
        assert screen.paused is False
        assert space_description() == "Pause"


async def test_empty_activity_hides_row_keys(settings: Settings) -> None:
    """With no row in the Activity table, the footer leaves out the keys
    that act on a row, and shows them again once a row is there."""
    async with recorded_screen(settings) as (_app, pilot, screen):

        def footer_actions() -> set[str]:
            return {b.binding.action for b in screen.active_bindings.values()}

        # The focused table's enter shows the query in place of the screen's.
        row_actions = {
            "select_cursor",
            "explain",
            "cancel_backend",
            "terminate_backend",
        }
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-activity"
        await pilot.pause()
        assert isinstance(screen.focused, KeyedTable)
        assert row_actions <= footer_actions()
        quiet = dataclasses.replace(
            recorded_snapshot(),
            activity=dataclasses.replace(
                recorded_snapshot().activity, running=[], chains=[]
            ),
        )
        screen.show_snapshot(quiet)
        await pilot.pause()
        assert not table(screen, "#activity").row_count
        assert not row_actions & footer_actions()
        assert "full_text" not in footer_actions()
        await pilot.press("c")
        assert pilot.app.screen is screen
        screen.show_snapshot(recorded_snapshot())
        await pilot.pause()
        assert row_actions <= footer_actions()


def test_statement_alert_counts_one_call() -> None:
    """A statement alert counts its calls with the noun in agreement."""
    messages = [a.message for a in build_alerts(recorded_snapshot())]
    assert "mean 6.10 s over 1 call: SELECT pg_sleep($1)" in messages
    assert any(m.startswith("mean 1.30 s over 3 calls: ") for m in messages)


def test_summary_counts_one_operation_call() -> None:
    """The summary's operation lines count calls with the noun in agreement,
    and keep the p50 column aligned."""
    snapshot = recorded_snapshot()
    once = dataclasses.replace(snapshot.operations[0], calls=1)
    lines = report.summary_lines(
        dataclasses.replace(snapshot, operations=[once, snapshot.operations[1]])
    )
    operation_lines = [line for line in lines if " p50 " in line]
    [single] = [line for line in operation_lines if "battles.detect" in line]
    [plural] = [line for line in operation_lines if " names " in line]
    assert "      1 call  p50" in single
    assert "    900 calls p50" in plural
    assert single.index("p50") == plural.index("p50")


async def test_alerts_tab_cuts_long_messages(settings: Settings) -> None:
    """A message wider than the Alerts tab ends with an ellipsis, and no
    row runs past the right edge."""
    async with recorded_screen(settings) as (_app, pilot, screen):
        screen.query_one("#perf-tabs", TabbedContent).active = "tab-alerts"
        await pilot.pause()
        await pilot.pause()
        alerts = table(screen, "#alerts")
        [long_alert] = [a for a in recorded_snapshot().alerts if a.key == "note"]
        assert len(long_alert.message) > 80
        message = str(alerts.get_row("note")[-1])
        assert message.endswith("…")
        assert long_alert.message.startswith(message[:-1])
        assert alerts.virtual_size.width <= alerts.scrollable_content_region.width
        await pilot.resize_terminal(120, 24)
        await pilot.pause()
        await pilot.pause()
        wider = str(alerts.get_row("note")[-1])
        assert len(wider) > len(message)
        assert alerts.virtual_size.width <= alerts.scrollable_content_region.width


async def test_explain_analyze_outlives_the_screen(
    settings: Settings, db_url: str
) -> None:
    """EXPLAIN ANALYZE showed nothing while it ran, and a plan that finished
    after Escape closed the screen was lost without a word."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE analyze_sleep (seconds float8)")
        conn.execute("INSERT INTO analyze_sleep VALUES (60)")
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    running = "SELECT pg_sleep(seconds) AS analyze_later FROM analyze_sleep"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        with sleeping_backend(db_url, running) as sleeper:
            await wait_for(
                pilot, lambda: str(sleeper.pid) in table(screen, "#activity").row_keys
            )
            # The backend keeps sleeping 60 s; the EXPLAIN ANALYZE sleeps 5 s,
            # long enough to see it running on a busy machine.
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("UPDATE analyze_sleep SET seconds = 5")
            await analyze_backend(pilot, screen, sleeper.pid)
            # The confirmation reaches the screen through the dialog's dismiss
            # callback, which can take more than one pause on a busy machine.
            await wait_for(
                pilot,
                lambda: any(
                    n.message.startswith("running EXPLAIN ANALYZE")
                    for n in app._notifications
                ),
            )
            notes = [n.message for n in app._notifications]
            started = [m for m in notes if m.startswith("running EXPLAIN ANALYZE")]
            assert len(started) == 1
            assert "analyze_later" in started[0]
            assert "(started " in started[0]
            running_line = screen.query_one("#explain-running", Static)
            assert running_line.has_class("-shown")
            assert "EXPLAIN ANALYZE running since" in static_text(
                screen, "#explain-running"
            )
            await pilot.press("escape")
            assert not isinstance(app.screen, PerformanceScreen)
            await wait_for(
                pilot,
                lambda: any("plan is ready" in n.message for n in app._notifications),
            )
            ready = [n for n in app._notifications if "plan is ready" in n.message]
            assert "press p" in ready[0].message
            assert not isinstance(app.screen, PlanScreen)
            await pilot.press("p")
            await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
            plan = app.screen
            assert isinstance(plan, PlanScreen)
            assert plan.result.analyzed is True
            assert "analyze_later" in plan.query_text
            await pilot.press("escape")
            assert isinstance(app.screen, PerformanceScreen)
            running_line = app.screen.query_one("#explain-running", Static)
            assert not running_line.has_class("-shown")
            # The plan shows once; opening the screen again shows the tables.
            await pilot.press("escape", "p")
            await settle(pilot)
            assert isinstance(app.screen, PerformanceScreen)


async def test_running_explain_analyze_stops_with_k(
    settings: Settings, db_url: str
) -> None:
    """A running EXPLAIN ANALYZE ran on a backend the Activity tab leaves
    out, so nothing on the screen could stop it before its timeout."""
    app = EvedmvApp(fast(settings), screens=OWN_SCREENS)
    running = "SELECT pg_sleep(60) AS analyze_stopped"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_live(pilot)
        await pilot.press("k")
        await wait_for(
            pilot,
            lambda: any("no EXPLAIN" in n.message for n in app._notifications),
        )
        with sleeping_backend(db_url, running) as sleeper:
            await analyze_backend(pilot, screen, sleeper.pid)
            await wait_for(
                pilot,
                lambda: "(k stops it)" in static_text(screen, "#explain-running"),
            )
            explains = (
                "SELECT pid FROM pg_stat_activity"
                " WHERE query LIKE '%EXPLAIN (ANALYZE%analyze_stopped%'"
                " AND pid <> pg_backend_pid()"
            )
            with psycopg.connect(db_url, autocommit=True) as conn:
                await wait_for(
                    pilot, lambda: conn.execute(explains).fetchone() is not None
                )
                await pilot.press("k")
                # A cancel request can time out and be sent again on a
                # loaded machine; the EXPLAIN's own timeout is 30 s.
                await wait_for(
                    pilot,
                    lambda: any(
                        "stopped and its changes rolled back" in n.message
                        for n in app._notifications
                    ),
                    limit=28.0,
                )
                assert conn.execute(explains).fetchone() is None
            assert not screen.query_one("#explain-running", Static).has_class("-shown")
            assert isinstance(app.screen, PerformanceScreen)


LONG_QUERY = (
    "select * from regions where pg_sleep(60) is not null"
    " and region_id in (select region_id from systems where security > 0.5)"
    " limit 1"
)


@pytest.mark.parametrize(
    ("tab", "selector"),
    [("tab-statements", "#statements"), ("tab-activity", "#activity")],
)
async def test_long_query_cells_end_in_ellipsis(
    settings: Settings, tab: str, selector: str
) -> None:
    """A query longer than the room left in the row ran past the right edge
    at 80 columns with no mark that it went on."""
    snapshot = recorded_snapshot()
    assert snapshot.activity is not None
    long_view = view(4242, 3, 3900.0, LONG_QUERY, Severity.WARNING)
    long_backend = snapshot.activity.running[0].backend._replace(query=LONG_QUERY)
    activity = dataclasses.replace(
        snapshot.activity,
        running=[
            dataclasses.replace(snapshot.activity.running[0], backend=long_backend),
            *snapshot.activity.running[1:],
        ],
    )
    snapshot = dataclasses.replace(
        snapshot,
        statements=[snapshot.statements[0], long_view, *snapshot.statements[2:]],
        activity=activity,
    )
    app = offline_app(settings)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        screen = PerformanceScreen(live=False)
        await app.push_screen(screen)
        await pilot.pause()
        screen.show_snapshot(snapshot)
        screen.query_one("#perf-tabs", TabbedContent).active = tab
        await pilot.pause()
        await pilot.pause()
        shown = table(screen, selector)
        lines = [shown.render_line(y).text.rstrip() for y in range(shown.size.height)]
        cut = [line for line in lines if "select * from" in line]
        assert len(cut) == 1
        assert cut[0].endswith("…")
        assert len(cut[0]) <= 100
        widths = sum(c.get_render_width(shown) for c in shown.ordered_columns)
        assert widths <= shown.scrollable_content_region.width
        # A narrower terminal cuts the text shorter, still with the mark.
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        lines = [shown.render_line(y).text.rstrip() for y in range(shown.size.height)]
        cut = [line for line in lines if "select * from" in line]
        assert len(cut) == 1
        assert cut[0].endswith("…")
        assert len(cut[0]) <= 80

"""Pilot tests of the performance screen's text at 80x24: what a cut hides
is marked with an ellipsis or can be scrolled into view."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static, Tree

from evedmv_tui.config import Settings
from evedmv_tui.monitor.activity import ActivitySummary, RunningQuery
from evedmv_tui.monitor.appside import SlowAppQuery
from evedmv_tui.monitor.explain import ExplainResult, PlanNode
from evedmv_tui.monitor.server import IndexHint, TableScans
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.monitor.snapshot import Alert, Snapshot
from evedmv_tui.screens import declared_bindings
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.screens.performance import PerformanceScreen
from evedmv_tui.store.telemetry import QueryRecord
from evedmv_tui.widgets import perf_rows
from evedmv_tui.widgets.perf_dialogs import PlanScreen, TextScreen
from evedmv_tui.widgets.table import KeyedTable
from tests.test_performance_screen import (
    backend,
    recorded_screen,
    recorded_snapshot,
    table,
)


def screen_rows(app: App[Any]) -> list[str]:
    """Return the text of each row of the screen, a dialog over the one below."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


def dialog_text(app: App[Any]) -> str:
    """Return the words inside the dialog's border, its lines joined by spaces."""
    inner = [row.strip(" ").strip("█▀▄").strip() for row in screen_rows(app)]
    return " ".join(" ".join(inner).split())


def table_lines(shown: KeyedTable) -> list[str]:
    return [shown.render_line(y).text.rstrip() for y in range(shown.size.height)]


async def open_backend_detail(
    pilot: Any, screen: PerformanceScreen, running: RunningQuery
) -> TextScreen:
    """Show ``running`` as the Activity tab's only row and open its window."""
    snapshot = recorded_snapshot()
    assert snapshot.activity is not None
    activity = dataclasses.replace(snapshot.activity, running=[running], chains=[])
    screen.show_snapshot(dataclasses.replace(snapshot, activity=activity))
    await pilot.press("2")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    detail = pilot.app.screen
    assert isinstance(detail, TextScreen)
    return detail


async def test_activity_detail_scrolls_to_query_end(settings: Settings) -> None:
    """The Activity tab's enter window cut a long query at its bottom edge:
    its scroll area was taller than the dialog, so End, PageDown and Down
    brought nothing into view, and the query's WHERE clause stayed hidden."""
    columns = ", ".join(f"{i} as col_{i}" for i in range(60))
    query = f"select {columns} from t14_lock where v <> 'zz' and pg_sleep(20) > 0"
    running = RunningQuery(backend(4101, 0.4, query, []), Severity.OK, (4101,))
    async with recorded_screen(settings) as (app, pilot, screen):
        await open_backend_detail(pilot, screen, running)
        assert "state: active" in dialog_text(app)
        assert "pg_sleep(20) > 0" not in dialog_text(app)
        await pilot.press("end")
        await pilot.pause()
        assert "where v <> 'zz' and pg_sleep(20) > 0" in dialog_text(app)
        await pilot.press("home")
        await pilot.pause()
        await pilot.press("pagedown")
        await pilot.pause()
        assert "pg_sleep(20) > 0" in dialog_text(app)


def plan_node(
    title: str, detail: str = "", children: tuple[PlanNode, ...] = ()
) -> PlanNode:
    return PlanNode(
        title, None, None, 0.15, 8.17, 1.0, 36, None, None, None, detail, children
    )


async def test_plan_tree_lines_end_in_ellipsis() -> None:
    """EXPLAIN tree lines ran past the dialog's edge with no mark, End went
    to no line's end, and the tree was taller than the dialog, so its last
    nodes could not be scrolled into view at 24 rows."""
    scans = tuple(
        plan_node(f"Seq Scan on part_{n}", "Filter: (x > 1)") for n in range(12)
    )
    index_scan = plan_node(
        "Index Scan using t14_lock_pkey on t14_lock", "Index Cond: (id = 1)"
    )
    root = plan_node(
        "Nested Loop", children=(index_scan, plan_node("Append", children=scans))
    )
    result = ExplainResult(root, "plain", False, None, None, None, [])
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(PlanScreen("select 1", result))
        await pilot.pause()
        rows = screen_rows(app)
        [cut] = [row for row in rows if "Index Scan using t14_lock_pkey" in row]
        inside = cut.split("█")[1].rstrip()
        assert inside.endswith("…"), cut
        assert "width=36" not in cut
        tree = app.screen.query_one(Tree)
        assert tree.virtual_size.width <= tree.scrollable_content_region.width
        await pilot.press("end")
        await pilot.pause()
        assert any("Seq Scan on part_11" in row for row in screen_rows(app))
        await pilot.press("home", "down")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        assert app.screen.body == (
            "Index Scan using t14_lock_pkey on t14_lock\n"
            "cost=0.15..8.17 rows=1 width=36\nIndex Cond: (id = 1)"
        )


async def test_slow_queries_keep_whole_time(settings: Settings) -> None:
    """The App tab's slow application queries cut the At column to ``13:3``
    at 80 columns, while the Query column in the middle kept its width."""
    started = time.time() - 5
    record = QueryRecord(
        "battles.report",
        "battles.battle_entities_by_side_and_ship_type",
        "SELECT 1",
        None,
        started,
        0.05,
        1,
    )
    snapshot = dataclasses.replace(
        recorded_snapshot(),
        at=started + 1,
        slow_app_queries=[SlowAppQuery(record, Severity.ERROR)],
    )
    async with recorded_screen(settings) as (_app, pilot, screen):
        screen.show_snapshot(snapshot)
        await pilot.press("4")
        await pilot.pause()
        await pilot.pause()
        lines = table_lines(table(screen, "#slow"))
        clock = time.strftime("%H:%M:%S", time.localtime(started))
        assert lines[0].endswith("At"), lines[0]
        [row] = [line for line in lines if "battles.report" in line]
        assert row.endswith(clock), row
        assert re.search(r" battles\.battle_entities\w*… ", row), row
        assert len(row) <= 78


def alert_snapshot(*alerts: Alert) -> Snapshot:
    return dataclasses.replace(recorded_snapshot(), alerts=list(alerts))


async def test_alert_cut_after_wide_row_leaves(settings: Settings) -> None:
    """After the alert with the widest Panel left, DataTable kept that
    column wide, but the messages were cut for the narrower width: they ran
    past the right edge with no ellipsis."""
    message = "pid 28068 running 40.8 s: select 'a long statement text" + " x" * 40
    wide = Alert(Severity.ERROR, "statements", "mean 6.10 s over 1 call", "s1")
    narrow = Alert(Severity.ERROR, "activity", message, "a1")
    async with recorded_screen(settings) as (_app, pilot, screen):
        screen.show_snapshot(alert_snapshot(wide, narrow))
        await pilot.press("8")
        await pilot.pause()
        await pilot.pause()
        screen.show_snapshot(alert_snapshot(narrow))
        await pilot.pause()
        await pilot.pause()
        alerts = table(screen, "#alerts")
        [row] = [line for line in table_lines(alerts) if "pid 28068" in line]
        assert row.endswith("…"), row
        assert len(row) <= 78
        assert alerts.virtual_size.width <= alerts.scrollable_content_region.width


def test_blocking_text_lists_chain_tails_once() -> None:
    """The ``blocking:`` line listed each chain's tail as a chain of its own
    (``9597 ← 9534; 9596 ← 9534``), which filled the line sooner."""
    chains = [
        (9601, 9597, 9596, 9534),
        (9641, 9597, 9596, 9534),
        (9597, 9596, 9534),
        (9596, 9534),
        (9700, 9534),
    ]
    activity = ActivitySummary([], {}, 0, 0, len(chains), chains)
    assert perf_rows.blocking_text(activity) == (
        "blocking: 9601 ← 9597 ← 9596 ← 9534; 9641 ← 9597 ← 9596 ← 9534; 9700 ← 9534"
    )


async def test_blocking_line_marks_its_cut(settings: Settings) -> None:
    """With several chains the ``blocking:`` line was cut at the right edge
    with no mark that more chains followed."""
    chains: list[tuple[int, ...]] = [(9601 + n, 9597, 9596, 9534) for n in range(5)]
    snapshot = recorded_snapshot()
    assert snapshot.activity is not None
    activity = dataclasses.replace(snapshot.activity, chains=chains)
    async with recorded_screen(settings) as (_app, pilot, screen):
        screen.show_snapshot(dataclasses.replace(snapshot, activity=activity))
        await pilot.press("2")
        await pilot.pause()
        line = screen.query_one("#activity-chains", Static)
        assert line.size.height == 1
        shown = line.render_line(0).text.rstrip()
        assert shown.startswith("blocking: 9601 ← 9597 ← 9596 ← 9534;"), shown
        assert shown.endswith("…"), shown


async def apply_filter(pilot: Any, screen: PerformanceScreen, text: str) -> str:
    """Apply ``text`` as the Statements filter; return the line above the table."""
    await pilot.press("slash")
    screen.query_one("#statement-filter", Input).value = text
    await pilot.press("enter")
    await pilot.pause()
    line = screen.query_one("#statements-state", Static)
    return " ".join(line.render_line(y).text.strip() for y in range(line.size.height))


async def test_long_filter_keeps_table_in_view(settings: Settings) -> None:
    """A pasted filter of 1,500 characters wrapped over every line between
    the tab bar and the status bar, so no row or header of the table showed."""
    async with recorded_screen(settings) as (_app, pilot, screen):
        shown = await apply_filter(pilot, screen, "select " + "x" * 1500)
        line = screen.query_one("#statements-state", Static)
        assert line.size.height == 1
        assert "filter 'select xxx" in shown
        assert shown.endswith("x…' · no statement matches"), shown
        statements = table(screen, "#statements")
        assert statements.size.height >= 10
        assert table_lines(statements)[0].lstrip().startswith("Sev")


async def test_filter_shown_as_typed(settings: Settings) -> None:
    """A backslash filter read ``filter '\\\\'`` (Python's repr) on screen;
    a control character must still not reach the terminal."""
    async with recorded_screen(settings) as (_app, pilot, screen):
        shown = await apply_filter(pilot, screen, "\\")
        assert "filter '\\' ·" in shown, shown
        shown = await apply_filter(pilot, screen, "a\x1bb")
        assert "filter 'a\\x1bb' ·" in shown, shown
        assert "\x1b" not in shown


async def test_long_table_name_keeps_figures(settings: Settings) -> None:
    """A long table name pushed Live rows, Seq scans, Idx scans and
    Rows/scan off the Database tab at 80 columns."""
    name = "t14_a_rather_long_table_name_for_layout_testing_purposes"
    scans = TableScans("public", name, 17, 340_000, 0, 20_000, None)
    snapshot = dataclasses.replace(
        recorded_snapshot(), index_hints=[IndexHint(scans, 20_000.0, None)]
    )
    async with recorded_screen(settings) as (_app, pilot, screen):
        screen.show_snapshot(snapshot)
        await pilot.press("3")
        await pilot.pause()
        await pilot.pause()
        hints = table(screen, "#hints")
        header, row = table_lines(hints)[:2]
        assert header.endswith("Rows/scan"), header
        assert row.startswith(" public.t14_a_rather"), row
        assert "…" in row
        assert re.search(r"20,000\s+17\s+0\s+20,000$", row), row
        assert hints.virtual_size.width <= hints.scrollable_content_region.width


async def test_idle_session_detail_says_idle(settings: Settings) -> None:
    """The window of a session idle in a transaction read ``query running
    for 2.7 s``, although no query ran."""
    idle = backend(4101, 2.7, "update t14_lock set v = 'A' where id = 2", [])
    idle = idle._replace(state="idle in transaction", xact_seconds=12.0)
    running = RunningQuery(idle, Severity.WARNING, (4101,))
    async with recorded_screen(settings) as (_app, pilot, screen):
        detail = (await open_backend_detail(pilot, screen, running)).body
        assert "running" not in detail
        assert (
            "state: idle in transaction, transaction open for 12.0 s,"
            " last query started 2.7 s ago"
        ) in detail


async def test_alerts_footer_shows_enter(settings: Settings) -> None:
    """Enter opens an alert's whole message, but the Alerts tab's footer did
    not show it: the table's hidden enter hid the screen's."""
    async with recorded_screen(settings) as (app, pilot, screen):
        await pilot.press("8")
        await pilot.pause()
        assert screen.focused is table(screen, "#alerts")
        enter = screen.active_bindings["enter"].binding
        assert enter.description == "Message"
        assert enter.show
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)


async def test_help_lists_filter_of_statements_tab(settings: Settings) -> None:
    """Help opened on another tab listed ``s Sort`` for the Statements tab
    but not ``/ Filter``: the second binding of / replaced the first."""
    async with recorded_screen(settings) as (app, pilot, _screen):
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        titles = [str(s.render()) for s in app.screen.query(".section-title")]
        texts = [str(s.render()) for s in app.screen.query(".help-bindings")]
        statements = texts[titles.index("Keys of the Statements tab")]
        assert re.search(r"/  Filter\b", statements), statements
        assert re.search(r"s  Sort\b", statements), statements


def test_declared_bindings_keep_one_class_duplicates() -> None:
    """Two bindings of one key in one class both count, as in Textual, and a
    subclass's binding of that key replaces both."""

    class Base(Screen[None]):
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("slash", "filter", "Filter"),
            Binding("slash", "search", "Search"),
        ]

    class Child(Base):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "find", "Find")]

    def slash_actions(screen: type[Screen[None]]) -> list[str]:
        return [b.action for b in declared_bindings(screen) if b.key == "slash"]

    assert slash_actions(Base) == ["filter", "search"]
    assert slash_actions(Child) == ["find"]

"""Pilot tests of the performance screen's text at 80x24: what a cut hides
is marked with an ellipsis or can be scrolled into view."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Tree

from evedmv_tui.config import Settings
from evedmv_tui.monitor.activity import RunningQuery
from evedmv_tui.monitor.explain import ExplainResult, PlanNode
from evedmv_tui.monitor.severity import Severity
from evedmv_tui.screens import declared_bindings
from evedmv_tui.screens.help import HelpScreen
from evedmv_tui.screens.performance import PerformanceScreen
from evedmv_tui.widgets.perf_dialogs import PlanScreen, TextScreen
from tests.test_performance_screen import (
    backend,
    recorded_screen,
    recorded_snapshot,
)


def screen_rows(app: App[Any]) -> list[str]:
    """Return the text of each row of the screen, a dialog over the one below."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


def dialog_text(app: App[Any]) -> str:
    """Return the words inside the dialog's border, its lines joined by spaces."""
    inner = [row.strip(" ").strip("█▀▄").strip() for row in screen_rows(app)]
    return " ".join(" ".join(inner).split())


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


async def test_idle_session_detail_says_idle(settings: Settings) -> None:
    """The window of a session idle in a transaction said ``query running
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

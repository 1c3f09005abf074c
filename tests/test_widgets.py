"""Shared widgets: text escaping, the keyed table, the plot and the status bar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from typing import Any, ClassVar

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.reactive import reactive
from textual.widgets import Input, Static

from evedmv_tui.config import Settings
from evedmv_tui.intel.pages import TopEntry
from evedmv_tui.queries.overview import Overview
from evedmv_tui.screens.home import describe_overview
from evedmv_tui.widgets.intel_tables import TopListTable
from evedmv_tui.widgets.ordered_input import OrderedInput
from evedmv_tui.widgets.plot import SeriesPlot, time_ticks, value_ticks
from evedmv_tui.widgets.status import (
    CUT_SUFFIX,
    ConnectionState,
    Severity,
    StatusBar,
    StatusState,
)
from evedmv_tui.widgets.table import KeyedTable
from evedmv_tui.widgets.text import (
    count_noun,
    escape_markup,
    format_isk,
    strip_control,
    truncate,
)

# -- text ---------------------------------------------------------------------


def test_escape_markup_keeps_brackets_literal() -> None:
    escaped = escape_markup("[b]Pilot[/b]")
    assert Text.from_markup(escaped).plain == "[b]Pilot[/b]"


def test_escape_markup_removes_control_characters() -> None:
    escaped = escape_markup("Evil\x1b[31mName\x07")
    assert "\x1b" not in escaped
    assert "\x07" not in escaped
    assert (
        Text.from_markup(escaped).plain
        == "Evil\N{REPLACEMENT CHARACTER}[31mName\N{REPLACEMENT CHARACTER}"
    )


def test_strip_control_keeps_newlines_and_tabs() -> None:
    assert strip_control("SELECT 1\n\tFROM t") == "SELECT 1\n\tFROM t"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "?"),
        (0, "0"),
        (950.4, "950"),
        (12_400, "12.40k"),
        (830_000_000, "830.00m"),
        (1_250_000_000, "1.25b"),
        (2.5e12, "2.50t"),
        (-3_000_000, "-3.00m"),
        (1e300, "1.00e+300"),
        (float("inf"), "inf"),
        (float("nan"), "?"),
        # Amounts that round up to the next unit take that unit.
        (999.6, "1.00k"),
        (999_994, "999.99k"),
        (999_999, "1.00m"),
        (999_996_000_000, "1.00t"),
        (999.996e12, "1.00e+15"),
    ],
)
def test_format_isk(value: float | None, expected: str) -> None:
    assert format_isk(value) == expected


def test_format_isk_decimals() -> None:
    assert format_isk(1_250_000, decimals=1) == "1.2m"
    assert format_isk(1_250_000, decimals=3) == "1.250m"
    assert format_isk(950.4, decimals=1) == "950"


def test_count_noun_agrees_in_number() -> None:
    assert count_noun(1, "battle") == "1 battle"
    assert count_noun(0, "battle") == "0 battles"
    assert count_noun(2_500, "record") == "2,500 records"
    assert count_noun(1, "entity", "entities") == "1 entity"
    assert count_noun(3, "entity", "entities") == "3 entities"


def test_truncate() -> None:
    assert truncate("abcdef", 4) == "abc\N{HORIZONTAL ELLIPSIS}"
    assert truncate("abc", 4) == "abc"
    assert truncate("abc", 0) == ""


def test_truncate_counts_terminal_cells() -> None:
    """A wide character takes two cells, so a name in CJK or with emoji no
    longer runs past its column."""
    assert truncate("東京大学艦隊", 12) == "東京大学艦隊"
    assert truncate("東京大学艦隊", 7) == "東京大\N{HORIZONTAL ELLIPSIS}"
    # The cut would split 大, which a space replaces.
    assert truncate("東京大学艦隊", 6) == "東京 \N{HORIZONTAL ELLIPSIS}"
    assert cell_len(truncate("Fleet 🚀🚀🚀 Alpha", 10)) == 10


# -- severity -----------------------------------------------------------------


class OtherSeverity(enum.IntEnum):
    OK = 0
    WARNING = 1
    ERROR = 2


def test_severity_parse_accepts_names_and_other_enums() -> None:
    assert Severity.parse("warning") is Severity.WARNING
    assert Severity.parse(OtherSeverity.ERROR) is Severity.ERROR
    assert Severity.parse(None) is Severity.OK
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("loud")


# -- keyed table --------------------------------------------------------------


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable([("name", "Name"), ("calls", "Calls")])


def rows(*pairs: tuple[str, int]) -> list[tuple[str, list[Any]]]:
    return [(name, [name, calls]) for name, calls in pairs]


async def test_keyed_table_keeps_cursor_on_key_across_reorder() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_rows(rows(("a", 1), ("b", 2), ("c", 3)))
        await pilot.pause()
        table.move_cursor(row=1)
        assert table.cursor_key == "b"
        table.update_rows(rows(("c", 9), ("a", 1), ("b", 5)))
        await pilot.pause()
        assert table.row_keys == ["c", "a", "b"]
        assert table.cursor_key == "b"
        assert table.cursor_row == 2


async def test_keyed_table_updates_cells_in_place() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_rows(rows(("a", 1), ("b", 2), ("c", 3)))
        await pilot.pause()
        table.move_cursor(row=2)
        table.update_rows(rows(("b", 20), ("c", 30), ("d", 4)))
        await pilot.pause()
        assert table.row_keys == ["b", "c", "d"]
        assert str(table.get_row("c")[1]) == "30"
        assert table.cursor_key == "c"


async def test_keyed_table_keeps_scroll_position() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(KeyedTable)
        many = [(f"r{i:03}", i) for i in range(100)]
        table.update_rows(rows(*many))
        await pilot.pause()
        table.move_cursor(row=50)
        await pilot.pause()
        scroll_y = table.scroll_y
        assert scroll_y > 0
        table.update_rows(rows(*[(key, n + 1) for key, n in many]))
        await pilot.pause()
        assert table.scroll_y == scroll_y
        assert table.cursor_key == "r050"


class WideTableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable([(f"c{i}", f"Column {i:02}") for i in range(12)])


async def test_keyed_table_home_end_move_between_rows() -> None:
    """End goes to the last row and Home to the first, not sideways.

    DataTable binds them to the first and last column, so on a table wider
    than the terminal End scrolled right and left the cursor where it was.
    """
    app = WideTableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_rows(
            (f"r{row:02}", [f"value {row}-{c}" for c in range(12)]) for row in range(30)
        )
        table.focus()
        await pilot.pause()
        assert table.max_scroll_x > 0
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_key == "r29"
        assert table.scroll_x == 0
        assert table.scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_key == "r00"
        assert table.scroll_y == 0


async def test_emptied_table_drops_wide_columns() -> None:
    """An emptied table of long query texts kept a horizontal scroll bar."""
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_rows([("q", ["x" * 200, 1])])
        await pilot.pause()
        assert table.max_scroll_x > 0
        table.update_rows([])
        await pilot.pause()
        assert table.row_count == 0
        assert table.max_scroll_x == 0
        assert [column.label.plain for column in table.ordered_columns] == [
            label for _, label in table.column_specs
        ]


@pytest.mark.parametrize("reordered", [False, True])
async def test_column_narrows_when_its_widest_row_goes(reordered: bool) -> None:
    """A column stayed as wide as a row removed from it, so the columns
    after it kept their place past a wide gap (or past the edge)."""
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_rows([("wide", ["x" * 60, 1]), ("a", ["short", 2])])
        await pilot.pause()
        name = table.ordered_columns[0]
        assert name.content_width == 60
        kept = [("a", ["short", 2]), ("b", ["other", 3])]
        table.update_rows(kept[::-1] if reordered else kept)
        await pilot.pause()
        assert name.content_width == len("short")


class TopListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TopListTable("Alliance", id="tops")


async def test_top_list_never_keeps_scroll_bars() -> None:
    """A top list drops the scroll bars that names cut too long caused.

    Names cut for a wider table gave a table of auto height a horizontal
    scroll bar, and a vertical one followed. The two stayed on with the
    counts cut off, even after the names were cut again.
    """
    entry = TopEntry(1, None, "The Remarkably Long Corporation", 120, 120)
    app = TopListApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(TopListTable)
        table.styles.width = 39
        table.show([entry])
        await pilot.pause()
        # Rows as a show() for a 40-cell table would have cut them.
        table.update_rows([(1, ["The Remarkably Long Cor…", 120, 120])])
        for _ in range(3):
            await pilot.pause()
        table.show([entry])
        for _ in range(3):
            await pilot.pause()
        assert not table.show_horizontal_scrollbar
        assert not table.show_vertical_scrollbar
        widths = [column.get_render_width(table) for column in table.ordered_columns]
        assert sum(widths) <= table.scrollable_content_region.width == 39


async def test_top_list_counts_too_wide_are_compact() -> None:
    """Counts in the billions left no room and were cut at the table's
    edge (1,987,), reading as another number."""
    huge = TopEntry(1, None, "Ashen Alliance", 1_234_567_890, 1_987_654_321)
    small = TopEntry(2, None, "Small Alliance", 12, 3)
    app = TopListApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(TopListTable)
        table.styles.width = 30
        table.show([huge, small])
        for _ in range(3):
            await pilot.pause()
        assert [str(cell) for cell in table.get_row("1")[1:]] == ["1.23b", "1.99b"]
        assert [str(cell) for cell in table.get_row("2")[1:]] == ["12", "3"]
        widths = [column.get_render_width(table) for column in table.ordered_columns]
        assert sum(widths) <= table.scrollable_content_region.width
        table.styles.width = 60
        for _ in range(3):
            await pilot.pause()
        assert str(table.get_row("1")[2]) == "1,987,654,321"


async def test_keyed_table_shows_markup_as_text() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_rows([("x", ["[b]bold?[/b]", 1])])
        await pilot.pause()
        assert str(table.get_row("x")[0]) == "[b]bold?[/b]"


async def test_keyed_table_rejects_bad_rows() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 24)):
        table = app.query_one(KeyedTable)
        with pytest.raises(ValueError, match="duplicate row keys"):
            table.update_rows(rows(("a", 1), ("a", 2)))
        with pytest.raises(ValueError, match="has 1 cells, expected 2"):
            table.update_rows([("a", ["only one"])])


class FixedHeightTableApp(App[None]):
    CSS = "KeyedTable { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield KeyedTable(
            [("start", "Start UTC"), ("place", "Systems (region)"), ("kills", "Kills")]
        )


async def test_keyed_table_redraws_after_measuring() -> None:
    """A row drawn before the table measured its cells is redrawn at full width.

    The screen can repaint the cursor row between filling the table and the
    table's idle handler, which widens the columns. A table of fixed height
    gets no Resize from new rows, so nothing else invalidates that drawing.
    """
    app = FixedHeightTableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.update_rows([])
        await pilot.pause()
        table.update_rows(
            (
                f"b{minute}",
                [f"01-02 16:{minute:02}", "Crielere (Sinq Laison)", 17 + minute],
            )
            for minute in range(5)
        )
        width = table.size.width
        cut = table.render_lines(Region(0, 1, width, 1))[0].text
        assert "01-02 16:00" not in cut, "drawn after the columns were measured"
        await pilot.pause()
        lines = [strip.text for strip in table.render_lines(Region(0, 0, width, 3))]
        assert "01-02 16:00  Crielere (Sinq Laison)     17" in lines[1]
        assert "01-02 16:01  Crielere (Sinq Laison)     18" in lines[2]


# -- plot ---------------------------------------------------------------------


class PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SeriesPlot("Latency", y_label="ms", max_samples=5, id="one")
        yield SeriesPlot("Memory", y_label="MiB", id="two")


async def test_plot_keeps_bounded_history_per_figure() -> None:
    app = PlotApp()
    async with app.run_test(size=(80, 24)) as pilot:
        one = app.query_one("#one", SeriesPlot)
        two = app.query_one("#two", SeriesPlot)
        for second in range(12):
            one.add_sample("p95", float(second), float(second * 2))
        await pilot.pause()
        assert len(one.series["p95"]) == 5
        assert one.series["p95"][0] == (7.0, 14.0)
        assert one.plt is not two.plt
        assert two.series == {}


async def test_plot_sizes_from_widget() -> None:
    app = PlotApp()
    async with app.run_test(size=(80, 24)) as pilot:
        one = app.query_one("#one", SeriesPlot)
        one.set_series("p95", [(0.0, 1.0), (1.0, 3.0)])
        await pilot.pause()
        rendered = one.render()
        assert isinstance(rendered, Text)
        lines = rendered.plain.splitlines()
        assert len(lines) == one.size.height
        assert "Latency" in lines[0]
        assert "no data yet" not in rendered.plain
        two = app.query_one("#two", SeriesPlot)
        assert "no data yet" in str(two.render())


def plot_lines(plot: SeriesPlot) -> list[str]:
    rendered = plot.render()
    assert isinstance(rendered, Text)
    return rendered.plain.splitlines()


async def test_plot_time_axis_counts_seconds_ago() -> None:
    """A time axis ends at 0 on the right and counts seconds back from there.

    The performance charts used to plot seconds since the screen opened, so
    the axis ran from negative values into ever larger ones.
    """
    app = PlotApp()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one("#two", SeriesPlot)
        plot.time_axis = True
        plot.x_label = "seconds ago"
        start = 1_800_000_000.0
        plot.set_series("p95", [(start + 2 * i, float(i % 3)) for i in range(31)])
        await pilot.pause()
        ticks = plot_lines(plot)[-1].split()
        assert ticks == ["60", "45", "30", "15", "0"]
        assert plot_lines(plot)[-1].rstrip().endswith("0")
        assert "x: seconds ago" in plot_lines(plot)[0]


@pytest.mark.parametrize("no_color", [False, True])
async def test_plot_series_differ_without_colour(
    monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    """Under NO_COLOR each series gets a marker of its own, in the legend
    and the lines, since colour no longer separates them."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = PlotApp()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one("#one", SeriesPlot)
        plot.set_series("side 1", [(0.0, 1.0), (1.0, 3.0)])
        plot.set_series("side 2", [(0.0, 2.0), (1.0, 0.0)])
        await pilot.pause()
        text = "\n".join(plot_lines(plot))
        legend = [line.strip() for line in text.splitlines() if "side" in line]
        if no_color:
            assert any("• side 1" in line for line in legend), text
            assert any("x side 2" in line for line in legend), text
        else:
            assert not any("x side 2" in line for line in legend), text


@pytest.mark.parametrize("sides", [1, 2])
async def test_count_plot_starts_at_zero(sides: int) -> None:
    """A count axis reaches down to 0 even when every minute had kills, and
    a single series is named in the title since only several get a legend."""

    class CountApp(App[None]):
        def compose(self) -> ComposeResult:
            yield SeriesPlot("Kills", x_label="min", y_floor=0.0, name_series=True)

    app = CountApp()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(SeriesPlot)
        plot.set_series("side 1", [(0.0, 2.0), (1.0, 5.0), (2.0, 3.0)])
        if sides == 2:
            plot.set_series("side 2", [(0.0, 3.0), (1.0, 2.0), (2.0, 4.0)])
        await pilot.pause()
        lines = plot_lines(plot)
        labels = [line.split()[0] for line in lines[1:-1] if line[:1].isdigit()]
        assert labels[-1] == "0", lines
        assert lines[-2].startswith("0"), lines
        text = "\n".join(lines)
        if sides == 1:
            assert lines[0].strip() == "Kills · side 1 · x: min"
        else:
            assert "side 1" not in lines[0]
            assert "side 1" in text
            assert "side 2" in text


def test_time_ticks_pick_round_steps() -> None:
    assert time_ticks(0.0) == ([0.0], ["0"])
    assert time_ticks(8.0) == ([-8.0, -6.0, -4.0, -2.0, 0.0], ["8", "6", "4", "2", "0"])
    positions, labels = time_ticks(600.0)
    assert labels == ["600", "480", "360", "240", "120", "0"]
    assert positions == [-600.0, -480.0, -360.0, -240.0, -120.0, 0.0]


async def test_plot_draws_four_data_rows_in_six() -> None:
    """A six-row plot keeps four rows for data (title and ticks take two).

    With a frame and a label row, the performance charts at 80x24 drew a
    single row of data each.
    """

    class SixRows(App[None]):
        CSS = "SeriesPlot { height: 6; }"

        def compose(self) -> ComposeResult:
            yield SeriesPlot("Latency", y_label="ms", time_axis=True)

    app = SixRows()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(SeriesPlot)
        plot.set_series("p95", [(100.0 + i, float(i)) for i in range(10)])
        await pilot.pause()
        lines = plot_lines(plot)
        assert len(lines) == 6
        assert lines[0].strip() == "Latency · y: ms · x: seconds ago"
        data_rows = [line for line in lines[1:-1] if line.strip()]
        assert len(data_rows) == 4


async def test_performance_charts_end_at_zero(settings: Settings) -> None:
    """The Charts tab plots polls as seconds ago, the newest at 0, rows to spare."""
    from evedmv_tui.screens.performance import PerformanceScreen
    from tests.test_performance_screen import offline_app, recorded_snapshot, settle

    app = offline_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = PerformanceScreen(live=False)
        await app.push_screen(screen)
        await pilot.pause()
        first = recorded_snapshot()
        for poll in range(16):
            screen.show_snapshot(dataclasses.replace(first, at=first.at + 2 * poll))
        screen.query_one("#perf-tabs").active = "tab-charts"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.pause()
        for plot in screen.query(SeriesPlot):
            lines = plot_lines(plot)
            assert plot.size.height >= 6, plot.id
            assert lines[-1].split()[-1] == "0", (plot.id, lines[-1])
            assert "-" not in lines[-1], (plot.id, lines[-1])
        tps = screen.query_one("#plot-tps", SeriesPlot)
        assert plot_lines(tps)[-1].split()[0] == "30"


def test_plot_rejects_tiny_history() -> None:
    with pytest.raises(ValueError, match="max_samples"):
        SeriesPlot("x", max_samples=1)


# -- status bar ---------------------------------------------------------------


class StatusApp(App[None]):
    status: reactive[StatusState] = reactive(StatusState)
    CSS_PATH: ClassVar[str | None] = None

    def compose(self) -> ComposeResult:
        yield StatusBar()


def part(app: App[None], selector: str) -> Static:
    return app.query_one(selector, Static)


async def test_status_bar_uses_words_without_colour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under NO_COLOR the state must still read from the words alone."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lost = ConnectionState(
            "disconnected", "refused", since=dt.datetime(2026, 1, 1, 9, 5, 7)
        )
        app.status = StatusState(
            connection=lost,
            alert_count=3,
            alert_severity=Severity.ERROR,
            message="import finished",
            message_severity=Severity.WARNING,
        )
        await pilot.pause()
        connection = part(app, "#status-connection")
        assert str(connection.render()) == "DB disconnected since 09:05:07"
        assert connection.has_class("-error")
        alerts = part(app, "#status-alerts")
        assert str(alerts.render()) == "3 alerts, worst error"
        assert alerts.has_class("-error")
        message = part(app, "#status-message")
        assert str(message.render()) == "WARNING: import finished"
        assert message.has_class("-warning")
        app.status = dataclasses.replace(app.status, alert_count=0)
        await pilot.pause()
        assert str(alerts.render()) == "no alerts"
        assert alerts.has_class("-ok")


def test_connection_state_long_form() -> None:
    state = ConnectionState(
        "disconnected",
        "refused",
        since=dt.datetime(2026, 1, 1, 9, 5, 7),
        retry_at=dt.datetime(2026, 1, 1, 9, 5, 11),
    )
    assert state.describe_long() == "disconnected since 09:05:07, next try 09:05:11"
    assert ConnectionState("connected", "PostgreSQL 16.4").describe_long() == (
        "connected: PostgreSQL 16.4"
    )


async def test_profile_form_shows_typed_text_and_buttons() -> None:
    """The focused field and both buttons stay readable in one-line rows."""
    from evedmv_tui.screens.watch import ProfileForm

    class FormApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ProfileForm())

    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*"fleet-watch")
        await pilot.pause()
        shown = app.export_screenshot()
        assert "fleet-watch" in shown
        assert "Save" in shown
        assert "Cancel" in shown


async def test_status_message_cut_with_ellipsis() -> None:
    """A long message must keep its start on the one line, not wrap away."""
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lost = ConnectionState(
            "disconnected", "refused", since=dt.datetime(2026, 1, 1, 9, 5, 7)
        )
        app.status = StatusState(
            connection=lost,
            message="Battles: not connected: connection lost: couldn't get a"
            " connection after 5.00 sec",
            message_severity=Severity.WARNING,
        )
        await pilot.pause()
        line = part(app, "#status-message").render_line(0).text.strip()
        assert line.startswith("WARNING: Battles: not connected")
        # The cut message ends with the key that shows it in full.
        assert line.endswith(CUT_SUFFIX)


async def test_status_warning_gets_own_line() -> None:
    """At 80 columns a warning that does not fit beside the connection and
    the alerts moves to a second line and is shown whole. A short one stays
    on the first line."""
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lost = ConnectionState(
            "disconnected", "refused", since=dt.datetime(2026, 1, 1, 13, 29, 12)
        )
        warning = "Battles: the connection was closed to restart the server"
        app.status = StatusState(
            connection=lost,
            alert_count=2,
            alert_severity=Severity.CRITICAL,
            alert_label="critical",
            message=warning,
            message_severity=Severity.WARNING,
        )
        await pilot.pause()
        bar = app.query_one(StatusBar)
        first_line = (
            part(app, "#status-connection").render_line(0).text.strip()
            + "  "
            + part(app, "#status-alerts").render_line(0).text.strip()
        )
        assert first_line == "DB disconnected since 13:29:12  2 alerts, worst critical"
        assert bar.region.height == 2
        message = part(app, "#status-message")
        assert message.region.y == bar.region.y + 1
        assert message.render_line(0).text.strip() == f"WARNING: {warning}"
        app.status = dataclasses.replace(
            app.status, connection=ConnectionState("connected"), message="imported"
        )
        await pilot.pause()
        assert bar.region.height == 1
        assert message.region.y == bar.region.y
        assert message.render_line(0).text.strip() == "WARNING: imported"


def test_status_alerts_count_acknowledged() -> None:
    """The alert part showed "no alerts" while acknowledged alerts were open."""
    state = StatusState(
        alert_count=3,
        alert_acknowledged=1,
        alert_severity=Severity.ERROR,
        alert_label="high",
    )
    assert state.describe_alerts() == "3 alerts, 1 acknowledged, worst high"
    every = dataclasses.replace(state, alert_acknowledged=3, alert_label="")
    assert every.describe_alerts() == "3 alerts acknowledged"
    one = StatusState(alert_count=1, alert_acknowledged=1)
    assert one.describe_alerts() == "1 alert acknowledged"
    # An acknowledged count above the count is capped at it.
    fewer = dataclasses.replace(state, alert_count=2, alert_acknowledged=5)
    assert fewer.describe_alerts() == "2 alerts acknowledged"


async def test_longest_alert_part_fits_80_columns() -> None:
    """At 80 columns the widest alert text shares the first line with the
    widest connection text, and the message moves to the second line."""
    app = StatusApp()
    async with app.run_test(size=(80, 24)) as pilot:
        lost = ConnectionState(
            "disconnected", "refused", since=dt.datetime(2026, 1, 1, 13, 29, 12)
        )
        app.status = StatusState(
            connection=lost,
            alert_count=99,
            alert_acknowledged=98,
            alert_severity=Severity.INFO,
            alert_label="was critical",
            message="imported",
        )
        await pilot.pause()
        bar = app.query_one(StatusBar)
        alerts = part(app, "#status-alerts")
        text = "99 alerts, 98 acknowledged, worst was critical"
        assert alerts.render_line(0).text.strip() == text
        assert alerts.region.y == bar.region.y
        assert alerts.region.right <= 80
        assert part(app, "#status-message").region.y == bar.region.y + 1


def test_home_overview_times_in_utc() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    overview = Overview(
        stored_killmails=2,
        pending_killmails=0,
        first_killmail_time=dt.datetime(2021, 11, 27, 1, 30, tzinfo=berlin),
        last_killmail_time=dt.datetime(2021, 11, 28, 1, 30, tzinfo=berlin),
        latest_killmail_id=2,
        solar_systems=1,
        types=1,
        prices=0,
        names=0,
        rejects=0,
        last_import_at=dt.datetime(2026, 1, 1, 0, 30, tzinfo=berlin),
    )
    text = describe_overview(overview)
    assert "First killmail     2021-11-27 00:30 UTC" in text
    assert "Last killmail      2021-11-28 00:30 UTC" in text
    assert "Last import        2025-12-31 23:30:00 UTC" in text
    assert "Live feed" not in text

    followed = dataclasses.replace(
        overview, last_feed_at=dt.datetime(2026, 1, 2, 0, 15, tzinfo=berlin)
    )
    assert "Live feed moved    2026-01-01 23:15:00 UTC" in describe_overview(followed)


async def test_plot_keeps_peaks_below_legend() -> None:
    """The legend of several series covers the top left rows, so the y axis
    reaches above the highest value by the legend's rows.

    The battle timeline's tallest column often comes in the first
    minutes, right where plotext draws the legend, and was hidden.
    """

    class TwelveRows(App[None]):
        CSS = "SeriesPlot { height: 12; }"

        def compose(self) -> ComposeResult:
            yield SeriesPlot("Kills per minute")

    app = TwelveRows()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(SeriesPlot)
        peaks = [9.0, 2.0, 4.0]
        for side, peak in enumerate(peaks, start=1):
            plot.set_series(
                f"side {side}", [(0.0, peak), *((m, 1.0) for m in range(1, 30))]
            )
        await pilot.pause()
        lines = plot_lines(plot)
        legend = lines[1:4]
        assert [line.split()[-1] for line in legend] == ["1", "2", "3"]
        top = plot._reserve_legend_rows()
        assert top is not None
        assert top > max(peaks)
        # The row under the legend contains the peak, not only a tick label.
        drawn = re.sub(r"^\s*[\d.]*", "", lines[4])
        assert drawn.strip(), "\n".join(lines)


def test_value_ticks_round_steps() -> None:
    assert value_ticks(111.50, 111.558) == (
        [111.5, 111.52, 111.54],
        ["111.50", "111.52", "111.54"],
    )
    positions, labels = value_ticks(2000.0, 3081.7)
    assert labels == ["2,000", "2,500", "3,000"]
    assert positions == [2000.0, 2500.0, 3000.0]
    assert value_ticks(0.0012, 0.0015)[1] == ["0.0012", "0.0013", "0.0014", "0.0015"]
    assert value_ticks(7.0, 7.0) == ([7.0], ["7.000"])
    assert value_ticks(111.5352, 111.5352)[1] == ["111.5"]
    assert value_ticks(1.0, float("nan")) == ([], [])


async def test_plot_labels_narrow_range_roundly() -> None:
    """Memory that moves by a few KiB used to get labels like 111.5352."""
    app = PlotApp()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one("#two", SeriesPlot)
        plot.set_series("rss", [(float(i), 111.50 + 0.002 * i) for i in range(30)])
        await pilot.pause()
        found = [re.match(r"[\d.,]+", line) for line in plot_lines(plot)[1:-1]]
        labels = [match.group() for match in found if match]
        assert labels
        assert set(labels) <= {"111.50", "111.52", "111.54"}


class TwoFields(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[str] = []

    def compose(self) -> ComposeResult:
        yield OrderedInput(id="first")
        yield OrderedInput(id="second")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submitted.append(f"{event.input.id}={event.value}")


def burst(app: App[None], keys: list[str]) -> None:
    """Post ``keys`` at once, as a paste or tmux send-keys delivers them."""
    for key in keys:
        character = key if len(key) == 1 else None
        if key == "tab":
            character = "\t"
        app.post_message(events.Key(key, character))


async def test_ordered_input_applies_burst_in_order() -> None:
    """Bound keys (backspace, ctrl+u, enter) ran after the printable keys
    that followed them: 'x', backspace, 'a' left 'x'."""
    app = TwoFields()
    async with app.run_test() as pilot:
        burst(app, [*"n1x", "backspace", "2", "tab", *"abc", "backspace", "d"])
        await pilot.pause()
        await pilot.pause()
        first = app.query_one("#first", Input)
        second = app.query_one("#second", Input)
        assert first.value == "n12"
        assert second.value == "abd"

        burst(app, ["ctrl+u", *"ok", "enter", "shift+tab", "end", "!", "enter"])
        await pilot.pause()
        await pilot.pause()
        assert second.value == "ok"
        assert first.value == "n12!"
        assert app.submitted == ["second=ok", "first=n12!"]

"""The battles screen: a sortable, filterable table that refreshes in place."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from evedmv_tui.battles.metrics import duration_text
from evedmv_tui.battles.report import (
    OUTDATED_HINT,
    BattleFilter,
    BattleList,
    BattleSummary,
    find_battles,
)
from evedmv_tui.commands import arguments
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.screens.battle_report import isk_total_text
from evedmv_tui.widgets.filter import FilterInput
from evedmv_tui.widgets.status import DATABASE_UNAVAILABLE, StatusState
from evedmv_tui.widgets.table import KeyedTable, right
from evedmv_tui.widgets.text import count_noun, format_isk, time_format, truncate

REFRESH_SECONDS = 10.0
LIST_LIMIT = 500
"""Battles the table shows at most. The summary counts all matches when more match."""
COLUMNS = (
    ("state", " "),
    ("start", "Start UTC"),
    ("place", "Systems (region)"),
    ("duration", "Dur"),
    ("kills", "Kills"),
    ("pilots", "Pilots"),
    ("isk", "ISK"),
    ("sides", "Sides"),
)
PLACE_COLUMN = 2
"""Index of the one column that takes the width the others leave."""
MIN_PLACE_WIDTH = 12
SCROLLBAR_WIDTH = 2
"""Columns kept free for the table's vertical scrollbar."""
MARKERS = (
    ("●", "ongoing"),
    ("Δ", "changed after it closed"),
    ("!", "one-sided"),
    ("+", "some kills have no ISK value"),
)
"""Row markers and what they mean, for the legend under the summary."""
HELP_NOTES = (
    "● in the first column: the battle is ongoing, because its last kill came"
    " less than quiet_minutes (a battle parameter) ago.",
    "Δ in the first column: the battle changed after it had closed.",
    "Sides: how many sides fought; 2! means one-sided, where every other side"
    " destroyed at most one_sided_ratio (5 % by default) of the ISK the top side"
    " destroyed.",
    "ISK: the value of the battle's kills. It ends in + when it leaves out kills"
    " that have no ISK value, and is ? when no kill has one; the report's header"
    " counts them.",
    "Systems (region): the battle's systems, then its regions in brackets; a cut"
    " name ends in …, and a wider terminal shows more.",
)
SORTS: tuple[tuple[str, str], ...] = (
    ("start", "time"),
    ("kills", "kills"),
    ("pilots", "pilots"),
    ("isk", "ISK"),
    ("duration", "duration"),
)
FILTER_HELP = (
    "since=6h until=2021-11-28 system=Jita region=The_Forge kills=20 pilots=50"
    " isk=1e9 (_ for a space; Enter applies, empty clears)"
)


def parse_filter(text: str) -> BattleFilter:
    """Parse ``name=value`` words into a filter.

    Raises:
        ValueError: an unknown name or a value that does not parse.
    """
    values: dict[str, Any] = {}
    given: set[str] = set()
    for word in text.split():
        name, sep, value = word.partition("=")
        if not sep or not value:
            raise ValueError(
                f"{word!r} is not name=value; write a space in a name as _"
                " (region=The_Forge)"
            )
        if name in given:
            raise ValueError(f"{name} is given twice; give it once")
        given.add(name)
        if name in ("system", "region"):
            values[name] = value.replace("_", " ")
            continue
        if name not in _FILTER_TYPES:
            known = ", ".join([*_FILTER_TYPES, "system", "region"])
            raise ValueError(f"unknown filter {name!r}; the filters are {known}")
        field, parse = _FILTER_TYPES[name]
        try:
            values[field] = parse(value)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{name}: {exc}") from None
    since, until = values.get("since"), values.get("until")
    if since is not None and until is not None and since >= until:
        raise ValueError(
            f"since={arguments.utc_minute(since, iso=True)} is not before"
            f" until={arguments.utc_minute(until, iso=True)}"
        )
    return BattleFilter(**values)


_FILTER_TYPES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "since": ("since", arguments.parse_time),
    "until": ("until", arguments.parse_time),
    "kills": ("min_kills", arguments.whole()),
    "pilots": ("min_pilots", arguments.whole()),
    "isk": ("min_isk", arguments.isk_amount),
}
"""Filter words other than places: the BattleFilter field and the value's type."""
_FILTER_WORDS = {field: word for word, (field, _) in _FILTER_TYPES.items()}


def describe_filter(criteria: BattleFilter) -> str:
    """Return the filter as the words that set it (``kills=20 system=New_Caldari``)."""
    words = []
    for field in dataclasses.fields(criteria):
        value = getattr(criteria, field.name)
        if field.name == "limit" or value is None:
            continue
        word = _FILTER_WORDS.get(field.name, field.name)
        if isinstance(value, dt.datetime):
            text = arguments.utc_minute(value, iso=True)
        elif isinstance(value, str):
            text = value.replace(" ", "_")
        elif field.name == "min_isk":
            text = _isk_word(value)
        else:
            text = f"{value:g}"
        words.append(f"{word}={text}")
    return " ".join(words)


def _isk_word(value: float) -> str:
    """Return an ISK amount as the table shows it (``10.00b``), if that is exact.

    An amount that the table's rounding would change is shown in whole ISK,
    so the echoed filter still selects what the typed one did.
    """
    formatted = format_isk(value)
    if math.isclose(arguments.isk_amount(formatted), value, rel_tol=1e-12):
        return formatted
    return f"{value:.0f}"


def describe_place(battle: BattleSummary, width: int) -> str:
    """Return the systems and regions of ``battle`` in at most ``width`` characters.

    Every system is named when they fit; otherwise the first system and how
    many more (``Tama +2 (The Citadel)``), and an ellipsis ends what is still
    too long.
    """
    systems = list(battle.system_names) or ["?"]
    regions = ", ".join(battle.region_names)
    suffix = f" ({regions})" if regions else ""
    text = ", ".join(systems) + suffix
    if len(text) > width and len(systems) > 1:
        text = f"{systems[0]} +{len(systems) - 1}{suffix}"
    return truncate(text, width)


def _row(battle: BattleSummary, place_width: int, start_format: str) -> list[Any]:
    state = ""
    if battle.ongoing:
        state = "●"
    elif battle.changed:
        state = "Δ"
    return [
        state,
        battle.start_time.strftime(start_format),
        describe_place(battle, place_width),
        right(duration_text(battle.start_time, battle.end_time)),
        battle.kills,
        battle.pilots,
        right(
            isk_total_text(
                battle.isk_destroyed, battle.kills, battle.kills_without_value
            )
        ),
        right(f"{battle.side_count}" + ("!" if battle.kind == "one-sided" else "")),
    ]


def place_width(table_width: int, rows: list[list[Any]]) -> int:
    """Return the width the place column may take so that the table fits.

    Every other column is as wide as its header or its widest cell, plus one
    space of padding on each side, as DataTable draws it.
    """
    used = SCROLLBAR_WIDTH + 2
    for index, (_, label) in enumerate(COLUMNS):
        if index == PLACE_COLUMN:
            continue
        cells = [len(_plain_text(row[index])) for row in rows]
        used += max([len(label), *cells]) + 2
    return max(MIN_PLACE_WIDTH, table_width - used)


def _plain_text(cell: Any) -> str:
    plain = getattr(cell, "plain", None)
    if isinstance(plain, str):
        return plain
    return f"{cell:,}" if isinstance(cell, int) else str(cell)


def describe_markers(rows: list[BattleSummary]) -> str:
    """Return the legend of the markers that ``rows`` show, or an empty string."""
    present = {
        "●": any(b.ongoing for b in rows),
        "Δ": any(b.changed and not b.ongoing for b in rows),
        "!": any(b.kind == "one-sided" for b in rows),
        "+": any(b.kills_without_value for b in rows),
    }
    return "  ".join(
        f"{'2!' if marker == '!' else marker} = {meaning}"
        for marker, meaning in MARKERS
        if present[marker]
    )


@dataclasses.dataclass
class BattlesView:
    """The Battles list's filter and sort, kept on the app while it runs.

    The app builds the screen anew each time it opens, so the screen
    restores these (:func:`battles_view`) instead of starting unfiltered.
    """

    criteria: BattleFilter | None = None
    """The last filter applied; None until one is."""
    sort_index: int = 0
    """An index into :data:`SORTS`."""


def battles_view(app: Any) -> BattlesView:
    """Return the app's :class:`BattlesView`, creating it on first use."""
    view = getattr(app, "battles_view", None)
    if not isinstance(view, BattlesView):
        view = BattlesView()
        app.battles_view = view
    return view


class BattlesScreen(DashboardScreen):
    """Battles, newest first; Enter opens the report."""

    TITLE = "Battles"
    AUTO_FOCUS = "#battles-table"
    FILTER_ACTION = "edit_filter"
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        Binding("enter", "open_battle", "Report", id="battles.open", show=True),
        Binding("s", "cycle_sort", "Sort", id="battles.sort"),
        # A priority binding, so the keys typed right after it reach the field.
        Binding("f", "edit_filter", "Filter", priority=True, id="battles.filter"),
        Binding("r", "refresh", "Refresh", id="battles.refresh"),
    ]
    DEFAULT_CSS = """
    BattlesScreen #battles-filter { display: none; }
    BattlesScreen #battles-filter.editing { display: block; }
    BattlesScreen #battles-summary { height: auto; max-height: 4; }
    BattlesScreen KeyedTable { height: 1fr; }
    """
    HELP_NOTES = HELP_NOTES

    def __init__(self, system: str | None = None) -> None:
        """Open on the battles in ``system`` (a name or id), or on the kept filter.

        Without ``system``, the filter last applied in this app is restored
        (:class:`BattlesView`), or else every battle is listed.
        """
        super().__init__()
        self.criteria = BattleFilter(limit=LIST_LIMIT, system=system)
        self.opened_on_system = system is not None
        self.sort_index = 0
        """The order to load: an index into :data:`SORTS`."""
        self.shown_sort_index = 0
        """The order of the rows shown, which a load in progress may change."""
        self.rows: list[BattleSummary] = []
        self.matches: int | None = None
        """Battles the filter matches in the store; None until the first load."""
        self.latest_end: dt.datetime | None = None
        """The latest battle's end, when the time filter is after it."""
        self.unknown_places: list[str] = []
        """The filter's system and region names that no stored place has."""
        self.outdated = False
        """The stored battles need a full detection (:attr:`BattleList.outdated`)."""
        self.poll_timer: Timer | None = None
        """The one timer that reloads the list every :data:`REFRESH_SECONDS`."""

    def compose_body(self) -> ComposeResult:
        # The filter and sort last used in this app, restored before the
        # field shows the filter and the first load reads it.
        view = battles_view(self.app)
        if view.criteria is not None and not self.opened_on_system:
            self.criteria = view.criteria
        self.sort_index = self.shown_sort_index = view.sort_index
        yield FilterInput(
            describe_filter(self.criteria), placeholder=FILTER_HELP, id="battles-filter"
        )
        yield Static("", id="battles-summary", markup=False)
        yield KeyedTable(COLUMNS, id="battles-table")

    def on_mount(self) -> None:
        # Textual also runs DashboardScreen.on_mount, which starts the first load.
        # Manual refreshes and filters load at once and leave this timer alone,
        # so exactly one polling loop runs however often the user refreshes.
        self.poll_timer = self.set_interval(REFRESH_SECONDS, self._poll)
        self.watch(self.app, "status", self._on_status_change, init=False)
        if self.evedmv_app.db is None:
            self._render_rows()

    def on_resize(self, event: events.Resize) -> None:
        # DashboardScreen.on_resize runs too and checks the minimum size.
        self._render_rows()

    def _on_status_change(self, state: StatusState) -> None:
        if state.connection.phase == "disconnected":
            self._render_rows()

    def load_data(self) -> None:
        index = self.sort_index
        self.run_query(
            find_battles,
            self.criteria,
            SORTS[index][0],
            then=lambda found: self.show_battles(found, index),
        )

    def show_battles(self, found: BattleList, sort_index: int) -> None:
        """Show ``found``, loaded in the order ``sort_index`` names.

        A new order starts at its top. A reload in the same order keeps the
        cursor and scroll.
        """
        new_order = sort_index != self.shown_sort_index
        self.rows = found.battles
        self.shown_sort_index = sort_index
        self.matches = found.matches
        self.latest_end = found.latest_end
        self.unknown_places = found.unknown_places
        self.outdated = found.outdated
        self._render_rows()
        if new_order:
            table = self.query_one(KeyedTable)
            table.move_cursor(row=0)
            table.scroll_home(animate=False, immediate=True)

    def _poll(self) -> None:
        """Reload while this screen is shown and connected, unless a load runs."""
        if not self.is_current or self.evedmv_app.db is None:
            return
        if any(w.group == "load" and w.is_running for w in self.workers):
            return
        self.load_data()

    def _render_rows(self) -> None:
        _, label = SORTS[self.shown_sort_index]
        ordered = self.rows
        table = self.query_one(KeyedTable)
        width = table.size.width or self.app.size.width
        # The current time joins the column's times, so battles of an earlier
        # year show their year even when they all fall in that one year.
        now = dt.datetime.now(dt.UTC)
        start = time_format([*(battle.start_time for battle in ordered), now])
        cells = [_row(b, MIN_PLACE_WIDTH, start) for b in ordered]
        place = place_width(width, cells)
        table.update_rows((b.battle_id, _row(b, place, start)) for b in ordered)
        self.query_one("#battles-summary", Static).update(
            self._summary(ordered, label, width)
        )

    def _count(self, shown: int) -> str:
        """Return how many battles show, and of how many when the limit cut them."""
        if self.matches is None:
            connected = self.evedmv_app.db is not None
            return "loading battles" if connected else count_noun(shown, "battle")
        if self.matches > shown:
            return f"{shown:,} of {count_noun(self.matches, 'battle')}"
        return count_noun(shown, "battle")

    def _summary(self, ordered: list[BattleSummary], label: str, width: int) -> str:
        """Return the lines above the table: counts, legend, filter, or why empty.

        A part that does not fit on the line goes on a line of its own, so
        a long filter is shown whole (wrapped) rather than cut.
        """
        parts = [self._count(len(ordered)), f"sorted by {label}"]
        ongoing = sum(1 for b in ordered if b.ongoing)
        if ongoing:
            parts.append(f"{ongoing} ongoing")
        if self.outdated:
            parts.append(f"out of date: {OUTDATED_HINT}")
        filter_text = describe_filter(self.criteria)
        if self.evedmv_app.db is None:
            parts.append(DATABASE_UNAVAILABLE)
        elif self.matches == 0 and self.unknown_places:
            unknown = "; ".join(self.unknown_places)
            parts.append(f"{unknown}: press f to change the filter")
        elif self.matches == 0 and self.latest_end is not None:
            parts.append(
                f"the latest battle ended {arguments.utc_minute(self.latest_end)}:"
                " press f to look further back"
            )
        elif self.matches == 0 and filter_text:
            parts.append("no battle matches: press f to change the filter")
        elif self.matches == 0:
            parts.append("none yet: battles appear here as killmails are imported")
        legend = describe_markers(ordered)
        if legend:
            parts.append(legend)
        if filter_text:
            parts.append(f"filter {filter_text}")
        lines = [parts[0]]
        for part in parts[1:]:
            joined = f"{lines[-1]} | {part}"
            if len(joined) <= width:
                lines[-1] = joined
            else:
                lines.append(part)
        return "\n".join(lines)

    def action_open_battle(self) -> None:
        key = self.query_one(KeyedTable).cursor_key
        if key is not None:
            self.evedmv_app.open_screen("battle", int(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Open the report when Enter selects a row of the table."""
        event.stop()
        self.action_open_battle()

    def action_cycle_sort(self) -> None:
        """Sort by the next field, and show the top of the new order once loaded.

        The database sorts every stored battle, so a new order needs a load.
        """
        if self.evedmv_app.db is None:
            self.notify(
                "sorting needs the database; sort again once the dashboard reconnects",
                severity="warning",
            )
            return
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        battles_view(self.app).sort_index = self.sort_index
        self.load_data()

    def action_refresh(self) -> None:
        self.load_data()

    def action_edit_filter(self) -> None:
        field = self.query_one("#battles-filter", Input)
        field.add_class("editing")
        self.evedmv_app.hold_keys_for(field)
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Apply the typed filter, which takes a load, so only while connected.

        Without a connection the filter line stays open with the typed text,
        and the summary keeps naming the filter the rows were loaded with.
        """
        try:
            criteria = dataclasses.replace(parse_filter(event.value), limit=LIST_LIMIT)
        except ValueError as exc:
            self.notify(
                str(exc), title="invalid filter", severity="error", markup=False
            )
            return
        if self.evedmv_app.db is None:
            self.notify(
                "filtering needs the database; press Enter again once the"
                " dashboard reconnects",
                severity="warning",
            )
            return
        self.criteria = criteria
        battles_view(self.app).criteria = criteria
        event.input.remove_class("editing")
        self.query_one(KeyedTable).focus()
        self.load_data()

    def on_filter_input_closed(self, event: FilterInput.Closed) -> None:
        event.field.remove_class("editing")
        self.query_one(KeyedTable).focus()

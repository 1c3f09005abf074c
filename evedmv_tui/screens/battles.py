"""The battles screen: a sortable, filterable table that refreshes in place."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from evedmv_tui.battles.report import BattleFilter, BattleSummary, list_battles
from evedmv_tui.commands import arguments
from evedmv_tui.screens import DashboardScreen
from evedmv_tui.widgets.table import KeyedTable, right
from evedmv_tui.widgets.text import format_isk, truncate

REFRESH_SECONDS = 10.0
COLUMNS = (
    ("state", " "),
    ("start", "Start (UTC)"),
    ("systems", "Systems"),
    ("region", "Region"),
    ("duration", "Dur"),
    ("kills", "Kills"),
    ("pilots", "Pilots"),
    ("isk", "ISK"),
    ("sides", "Sides"),
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
    for word in text.split():
        name, sep, value = word.partition("=")
        if not sep or not value:
            raise ValueError(
                f"{word!r} is not name=value; write a space in a name as _"
                " (region=The_Forge)"
            )
        if name in ("system", "region"):
            values[name] = value.replace("_", " ")
            continue
        if name not in _FILTER_TYPES:
            raise ValueError(f"unknown filter {name!r}")
        field, parse = _FILTER_TYPES[name]
        try:
            values[field] = parse(value)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{name}: {exc}") from None
    since, until = values.get("since"), values.get("until")
    if since is not None and until is not None and since >= until:
        raise ValueError(
            f"since={since:%Y-%m-%dT%H:%M} is not before until={until:%Y-%m-%dT%H:%M}"
        )
    return BattleFilter(**values)


_FILTER_TYPES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "since": ("since", arguments.parse_time),
    "until": ("until", arguments.parse_time),
    "kills": ("min_kills", arguments.whole()),
    "pilots": ("min_pilots", arguments.whole()),
    "isk": ("min_isk", arguments.number()),
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
            text = f"{value:%Y-%m-%dT%H:%M}"
        elif isinstance(value, str):
            text = value.replace(" ", "_")
        else:
            text = f"{value:g}"
        words.append(f"{word}={text}")
    return " ".join(words)


def sort_battles(rows: list[BattleSummary], key: str) -> list[BattleSummary]:
    """Order rows by ``key``, largest or newest first, ties by id."""
    measures: dict[str, Callable[[BattleSummary], float]] = {
        "start": lambda b: b.start_time.timestamp(),
        "kills": lambda b: b.kills,
        "pilots": lambda b: b.pilots,
        "isk": lambda b: b.isk_destroyed,
        "duration": lambda b: b.duration.total_seconds(),
    }
    measure = measures[key]
    return sorted(rows, key=lambda b: (-measure(b), -b.battle_id))


def _row(battle: BattleSummary) -> list[Any]:
    state = ""
    if battle.ongoing:
        state = "●"
    elif battle.changed:
        state = "Δ"
    minutes = int(battle.duration.total_seconds() // 60)
    return [
        state,
        f"{battle.start_time:%m-%d %H:%M}",
        truncate(", ".join(battle.system_names), 18),
        truncate(", ".join(battle.region_names), 12),
        right(f"{minutes}m"),
        battle.kills,
        battle.pilots,
        right(format_isk(battle.isk_destroyed)),
        right(f"{battle.side_count}" + ("!" if battle.kind == "one-sided" else "")),
    ]


class BattlesScreen(DashboardScreen):
    """Battles, newest first; Enter opens the report."""

    TITLE = "Battles"
    AUTO_FOCUS = "#battles-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        *DashboardScreen.BINDINGS,
        Binding("enter", "open_battle", "Report", id="battles.open", show=True),
        Binding("s", "cycle_sort", "Sort", id="battles.sort"),
        Binding("f", "edit_filter", "Filter", id="battles.filter"),
        Binding("r", "refresh", "Refresh", id="battles.refresh"),
    ]
    DEFAULT_CSS = """
    BattlesScreen #battles-filter { display: none; }
    BattlesScreen #battles-filter.editing { display: block; }
    BattlesScreen #battles-summary { height: 1; }
    BattlesScreen KeyedTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.criteria = BattleFilter()
        self.sort_index = 0
        self.rows: list[BattleSummary] = []
        self.poll_timer: Timer | None = None
        """The one timer that reloads the list every :data:`REFRESH_SECONDS`."""

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder=FILTER_HELP, id="battles-filter")
        yield Static("", id="battles-summary", markup=False)
        yield KeyedTable(COLUMNS, id="battles-table")

    def on_mount(self) -> None:
        # Textual also runs DashboardScreen.on_mount, which starts the first load.
        # Manual refreshes and filters load at once and leave this timer alone,
        # so exactly one polling loop runs however often the user refreshes.
        self.poll_timer = self.set_interval(REFRESH_SECONDS, self._poll)

    def load_data(self) -> None:
        self.run_query(list_battles, self.criteria, then=self.show_battles)

    def show_battles(self, rows: list[BattleSummary]) -> None:
        self.rows = rows
        self._render_rows()

    def _poll(self) -> None:
        """Reload while this screen is shown and connected, unless a load runs."""
        if not self.is_current or self.evedmv_app.db is None:
            return
        if any(w.group == "load" and w.is_running for w in self.workers):
            return
        self.load_data()

    def _render_rows(self) -> None:
        key, label = SORTS[self.sort_index]
        ordered = sort_battles(self.rows, key)
        table = self.query_one(KeyedTable)
        table.update_rows((b.battle_id, _row(b)) for b in ordered)
        ongoing = sum(1 for b in ordered if b.ongoing)
        parts = [f"{len(ordered)} battles", f"sorted by {label}"]
        if ongoing:
            parts.append(f"{ongoing} ongoing (●)")
        filter_text = describe_filter(self.criteria)
        if filter_text:
            parts.append(f"filter {filter_text}")
        if not ordered and filter_text:
            parts.append("no battle matches: press f to change the filter")
        elif not ordered:
            parts.append("none yet: battles appear here as killmails are imported")
        self.query_one("#battles-summary", Static).update(" | ".join(parts))

    def action_open_battle(self) -> None:
        key = self.query_one(KeyedTable).cursor_key
        if key is not None:
            self.evedmv_app.open_screen("battle", int(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Open the report when Enter selects a row of the table."""
        event.stop()
        self.action_open_battle()

    def action_cycle_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self._render_rows()

    def action_refresh(self) -> None:
        self.load_data()

    def action_edit_filter(self) -> None:
        field = self.query_one("#battles-filter", Input)
        field.add_class("editing")
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.criteria = parse_filter(event.value)
        except ValueError as exc:
            self.notify(
                str(exc), title="invalid filter", severity="error", markup=False
            )
            return
        event.input.remove_class("editing")
        self.query_one(KeyedTable).focus()
        self.load_data()

    def on_key(self, event: Any) -> None:
        field = self.query_one("#battles-filter", Input)
        if event.key == "escape" and field.has_focus:
            field.remove_class("editing")
            self.query_one(KeyedTable).focus()
            event.stop()
